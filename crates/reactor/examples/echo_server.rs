//! An echo server (RFC 862): every byte a client sends comes straight back.
//!
//! ```text
//! cargo run -p gyre-reactor --example echo_server -- --listen 127.0.0.1:8000
//! ```
//!
//! Arguments:
//! - `--listen ADDR`: the address to listen on (default `127.0.0.1:8000`);
//!   port 0 picks a free port. IPv6 works too: `--listen [::1]:8000`.
//! - `--backlog N`: the listen queue length (default 1024, so a burst of
//!   thousands of clients connecting at once is not slowed by SYN retries).
//!
//! The first line on standard output is `listening on ADDR`, with the port
//! actually bound, so scripts can pass port 0 and read the port back. Try it
//! with `nc 127.0.0.1 8000` or `socat - TCP:127.0.0.1:8000`; stop it with
//! Ctrl-C or `kill`.
//!
//! The whole server is the `Echo` protocol below: gyre buffers its writes,
//! sends each turn's writes with one `send`, and keeps no per-connection
//! buffer while a connection is idle.

use std::net::SocketAddr;
use std::process::ExitCode;

use gyre_core::prelude::*;
use gyre_reactor::{ListenOptions, Reactor};

/// Writes back whatever arrives.
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

struct Options {
    listen: SocketAddr,
    backlog: u32,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
        backlog: 1024,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => options.listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "--backlog" => options.backlog = value()?.parse().map_err(|e| format!("--backlog: {e}"))?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("echo_server: {message}");
            }
            eprintln!("usage: echo_server [--listen ADDR] [--backlog N]");
            return ExitCode::from(2);
        }
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let listen = ListenOptions::default().backlog(options.backlog);
    let port = match reactor.listen_tcp_with(options.listen, protocol_factory(|_peer| Echo), listen) {
        Ok(port) => port,
        Err(failure) => {
            eprintln!("echo_server: {failure}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "listening on {}",
        port.host().socket_addr().expect("a TCP port has an IP address")
    );
    match reactor.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo_server: {error}");
            ExitCode::FAILURE
        }
    }
}
