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

mod support;

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
    let mut args = support::Args::new();
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "--listen" => options.listen = args.parsed("--listen")?,
            "--backlog" => options.backlog = args.parsed("--backlog")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match support::or_usage(
        "echo_server",
        "echo_server [--listen ADDR] [--backlog N]",
        parse_args(),
    ) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let listen = ListenOptions::default().backlog(options.backlog);
    // The port stays open while `_port` lives.
    let _port = match support::announce_tcp(
        "echo_server",
        reactor.listen_tcp_with(options.listen, protocol_factory(|_peer| Echo), listen),
    ) {
        Ok(port) => port,
        Err(code) => return code,
    };
    support::exit_code("echo_server", reactor.run())
}
