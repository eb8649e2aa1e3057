//! A UDP echo server (RFC 862), or a client that sends datagrams to one and
//! prints the replies.
//!
//! ```text
//! cargo run -p gyre-reactor --example udp_echo -- --listen 127.0.0.1:7000
//! cargo run -p gyre-reactor --example udp_echo -- --connect 127.0.0.1:7000 --message hi --count 3
//! ```
//!
//! Arguments:
//! - `--listen ADDR`: serve on this address (port 0 picks a free port; IPv6
//!   works too: `--listen [::1]:7000`). The first line on standard output
//!   is `listening on ADDR` with the port actually bound, so scripts can pass
//!   port 0 and read the port back. Every datagram goes back to its sender.
//!   Try it with `echo hi | socat -t 1 - UDP4:127.0.0.1:7000`; stop it with
//!   Ctrl-C or `kill`.
//! - `--connect ADDR`: be the client instead. It binds a socket on the
//!   loopback address of ADDR's family, connects it to ADDR (so it hears
//!   only the server, and an ICMP "port unreachable" is reported), sends
//!   `--count N` datagrams (default 1) containing `--message TEXT` (default
//!   `hello`), prints each reply on its own line, and exits with status 0
//!   once all came back. It exits with status 1 after `--timeout SECS`
//!   (default 5) or when the server's port is closed (`connection refused`).

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::interfaces::ReactorUdp;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;

mod support;

/// Sends every datagram back where it came from.
struct Echo;

impl DatagramProtocol for Echo {
    fn datagram_received(&mut self, transport: &DatagramTransport, data: &[u8], from: &Address) {
        if let Err(failure) = transport.write_to(data, from) {
            eprintln!("udp_echo: replying to {from}: {failure}");
        }
    }
}

/// The client: sends `count` datagrams, prints the replies, stops once all
/// came back or the server refused.
struct Client {
    reactor: Reactor,
    server: Address,
    message: Vec<u8>,
    count: usize,
    received: usize,
    outcome: Rc<Cell<Option<bool>>>,
}

impl Client {
    fn finish(&self, success: bool) {
        if self.outcome.get().is_none() {
            self.outcome.set(Some(success));
            let _ = self.reactor.stop();
        }
    }
}

impl DatagramProtocol for Client {
    fn start_protocol(&mut self, transport: &DatagramTransport) {
        if let Err(failure) = transport.connect(&self.server) {
            eprintln!("udp_echo: connecting to {}: {failure}", self.server);
            return self.finish(false);
        }
        for _ in 0..self.count {
            if let Err(failure) = transport.write(&self.message) {
                eprintln!("udp_echo: sending: {failure}");
                return self.finish(false);
            }
        }
    }

    fn datagram_received(&mut self, _transport: &DatagramTransport, data: &[u8], _from: &Address) {
        println!("{}", String::from_utf8_lossy(data));
        self.received += 1;
        if self.received == self.count {
            self.finish(true);
        }
    }

    fn connection_refused(&mut self, _transport: &DatagramTransport) {
        eprintln!("udp_echo: connection refused: nothing listens on the server's port");
        self.finish(false);
    }
}

enum Mode {
    Listen(SocketAddr),
    Connect {
        server: SocketAddr,
        message: String,
        count: usize,
        timeout: Duration,
    },
}

fn parse_args() -> Result<Mode, String> {
    let mut listen = None;
    let mut connect = None;
    let mut message = "hello".to_owned();
    let mut count = 1;
    let mut timeout = Duration::from_secs(5);
    let mut args = support::Args::new();
    while let Some(arg) = args.next_flag()? {
        match arg.as_str() {
            "--listen" => listen = Some(args.parsed("--listen")?),
            "--connect" => connect = Some(args.parsed("--connect")?),
            "--message" => message = args.value("--message")?,
            "--count" => count = args.parsed("--count")?,
            "--timeout" => timeout = args.seconds("--timeout")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    match (listen, connect) {
        (Some(listen), None) => Ok(Mode::Listen(listen)),
        (None, Some(server)) => Ok(Mode::Connect {
            server,
            message,
            count,
            timeout,
        }),
        (None, None) => Ok(Mode::Listen("127.0.0.1:7000".parse().expect("a valid address"))),
        (Some(_), Some(_)) => Err("give --listen or --connect, not both".into()),
    }
}

fn serve(reactor: &Reactor, listen: SocketAddr) -> Result<(), String> {
    let port = reactor
        .listen_udp(listen, Box::new(Echo))
        .map_err(|failure| failure.to_string())?;
    println!(
        "listening on {}",
        port.host().socket_addr().expect("a UDP port has an IP address")
    );
    reactor.run().map_err(|error| error.to_string())
}

fn query(
    reactor: &Reactor,
    server: SocketAddr,
    message: String,
    count: usize,
    timeout: Duration,
) -> Result<(), String> {
    let local = match server.ip() {
        IpAddr::V4(_) => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
        IpAddr::V6(_) => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 0),
    };
    let outcome = Rc::new(Cell::new(None));
    let client = Client {
        reactor: reactor.clone(),
        server: Address::udp(server),
        message: message.into_bytes(),
        count,
        received: 0,
        outcome: outcome.clone(),
    };
    let port = reactor
        .listen_udp(local, Box::new(client))
        .map_err(|failure| failure.to_string())?;
    let stopper = reactor.clone();
    let timer_outcome = outcome.clone();
    let timer = reactor.call_later(timeout, move || {
        if timer_outcome.get().is_none() {
            eprintln!("udp_echo: no complete answer within {timeout:?}");
            timer_outcome.set(Some(false));
            let _ = stopper.stop();
        }
    });
    reactor.run().map_err(|error| error.to_string())?;
    timer.cancel();
    drop(port);
    match outcome.get() {
        Some(true) => Ok(()),
        _ => Err(String::new()),
    }
}

fn main() -> ExitCode {
    let mode = match support::or_usage(
        "udp_echo",
        "udp_echo --listen ADDR | --connect ADDR [--message TEXT] [--count N] [--timeout SECS]",
        parse_args(),
    ) {
        Ok(mode) => mode,
        Err(code) => return code,
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let result = match mode {
        Mode::Listen(listen) => serve(&reactor, listen),
        Mode::Connect {
            server,
            message,
            count,
            timeout,
        } => query(&reactor, server, message, count, timeout),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("udp_echo: {message}");
            }
            ExitCode::FAILURE
        }
    }
}
