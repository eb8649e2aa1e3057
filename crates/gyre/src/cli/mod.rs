//! The `gyre` command line: a table of subcommands, each in its own file.

use std::process::ExitCode;

pub mod fetch;
pub mod inetd;
mod options;
pub mod relay;
pub mod serve;
pub mod web;
pub mod web_proxy;

pub(crate) use options::{Args, run_subcommand};

/// One subcommand: its name, a one-line summary for `gyre --help`, and
/// its entry point (given the arguments after its name).
pub struct Command {
    /// What follows `gyre` on the command line.
    pub name: &'static str,
    /// Shown in `gyre --help`.
    pub summary: &'static str,
    /// Runs it; the exit status of the process.
    pub run: fn(&[String]) -> ExitCode,
}

/// Every subcommand. Adding a service is one file and one line here.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "web",
        summary: "serve a directory over HTTP or HTTPS",
        run: web::main,
    },
    Command {
        name: "fetch",
        summary: "download a URL (redirects, gzip, cookies, HTTPS, proxies)",
        run: fetch::main,
    },
    Command {
        name: "portforward",
        summary: "relay connections to a fixed HOST:PORT",
        run: relay::portforward,
    },
    Command {
        name: "socks",
        summary: "a SOCKS4/4a/5 proxy",
        run: relay::socks,
    },
    Command {
        name: "echo",
        summary: "the echo service (RFC 862)",
        run: inetd::echo,
    },
    Command {
        name: "discard",
        summary: "the discard service (RFC 863)",
        run: inetd::discard,
    },
    Command {
        name: "chargen",
        summary: "the character generator service (RFC 864)",
        run: inetd::chargen,
    },
    Command {
        name: "qotd",
        summary: "the quote of the day service (RFC 865)",
        run: inetd::qotd,
    },
    Command {
        name: "daytime",
        summary: "the daytime service (RFC 867)",
        run: inetd::daytime,
    },
    Command {
        name: "time",
        summary: "the time service (RFC 868)",
        run: inetd::time,
    },
];

/// The text of `gyre --help`.
pub fn help() -> String {
    let mut text = String::from(
        "gyre: an event-driven networking engine, as a command-line tool\n\n\
         Usage: gyre <COMMAND> [OPTIONS]\n       gyre <COMMAND> --help\n\nCommands:\n",
    );
    for command in COMMANDS {
        text.push_str(&format!("  {:<13}{}\n", command.name, command.summary));
    }
    text.push_str(
        "\nOptions:\n  -h, --help     this help\n  -V, --version  the version\n\n\
         Examples:\n  gyre web                                  serve . on tcp:8080\n  \
         gyre web --path site --listen tcp:0:interface=127.0.0.1\n  \
         gyre fetch https://example.com/ -o page.html\n",
    );
    text
}

/// Runs the command line (without the program name).
pub fn main(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        None => {
            eprint!("{}", help());
            ExitCode::from(2)
        }
        Some("-h" | "--help" | "help") => {
            print!("{}", help());
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("gyre {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(name) => match COMMANDS.iter().find(|command| command.name == name) {
            Some(command) => (command.run)(&args[1..]),
            None => {
                eprintln!("gyre: unknown command {name:?}; see gyre --help");
                ExitCode::from(2)
            }
        },
    }
}
