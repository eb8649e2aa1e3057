//! What the peer servers share: the command line (`--listen ADDR`, plus
//! `--cert`/`--key` for TLS) and the `listening on ADDR` line that tells
//! `bench/run.sh` which port the kernel picked.

use std::net::SocketAddr;

/// The parsed command line of a peer server.
pub struct Args {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// PEM certificate chain (TLS peers only).
    pub cert: Option<String>,
    /// PEM private key (TLS peers only).
    pub key: Option<String>,
}

/// Parses `--listen ADDR [--cert PEM --key PEM]`; exits with a message on
/// anything else, since these programs are only started by the harness.
pub fn args() -> Args {
    let mut parsed = Args {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert: None,
        key: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage(&flag));
        match flag.as_str() {
            "--listen" => parsed.listen = value.parse().unwrap_or_else(|_| usage(&flag)),
            "--cert" => parsed.cert = Some(value),
            "--key" => parsed.key = Some(value),
            _ => usage(&flag),
        }
    }
    parsed
}

fn usage(flag: &str) -> ! {
    eprintln!("bad argument {flag}; usage: --listen ADDR [--cert PEM --key PEM]");
    std::process::exit(2)
}

/// Prints the bound address the way every server in the harness does.
pub fn announce(address: SocketAddr) {
    use std::io::Write;
    println!("listening on {address}");
    let _ = std::io::stdout().flush();
}
