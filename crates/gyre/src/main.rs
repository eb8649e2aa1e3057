//! The `gyre` command-line tool; see `gyre --help`.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    gyre::cli::main(&args)
}
