//! An echo client: sends a message to an echo server, waits for it to come
//! back, optionally many times in a row (ping-pong), and reports.
//!
//! ```text
//! cargo run -p gyre-reactor --example echo_server -- --listen 127.0.0.1:8000 &
//! cargo run -p gyre-reactor --example echo_client -- --connect 127.0.0.1:8000 --message hello
//! cargo run -p gyre-reactor --example echo_client -- --connect 127.0.0.1:8000 --size 64 --count 100000
//! ```
//!
//! Arguments:
//! - `--connect ADDR`: the server (default `127.0.0.1:8000`; `[::1]:8000` for IPv6).
//! - `--message TEXT`: what to send (default `hello, gyre`).
//! - `--size N`: send N bytes of `x` instead of a message.
//! - `--count N`: round trips, each sent only once the previous one came back
//!   whole (default 1). With more than one, prints the time per round trip,
//!   which makes this the load for `strace -c` and `perf stat` on a server.
//! - `--timeout SECONDS`: give up connecting after this long (default 10).
//!
//! Prints the echo once, then the round-trip count and timing; exits 0 when
//! every byte came back intact, 1 when the connection failed, was refused,
//! or ended early.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::connector::Connector;
use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, Reactor};

mod support;

struct Options {
    connect: SocketAddr,
    message: Vec<u8>,
    count: u64,
    timeout: Duration,
}

/// What the run ended with, filled in by the protocol and the factory.
#[derive(Default)]
struct Outcome {
    round_trips: u64,
    started: Option<Instant>,
    finished: Option<Instant>,
    error: Option<String>,
}

/// Sends the message, collects the echo, and sends again until done.
struct PingPong {
    message: Rc<[u8]>,
    count: u64,
    received: Vec<u8>,
    outcome: Rc<RefCell<Outcome>>,
}

impl Protocol for PingPong {
    fn connection_made(&mut self, transport: &Transport) {
        self.outcome.borrow_mut().started = Some(Instant::now());
        transport.write(&self.message);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.received.extend_from_slice(data);
        if self.received.len() < self.message.len() {
            return;
        }
        if self.received.len() > self.message.len() || self.received[..] != self.message[..] {
            self.outcome.borrow_mut().error = Some("the echo differs from what was sent".into());
            return transport.abort_connection();
        }
        self.received.clear();
        let mut outcome = self.outcome.borrow_mut();
        outcome.round_trips += 1;
        if outcome.round_trips == 1 {
            println!("{}", String::from_utf8_lossy(&self.message));
        }
        if outcome.round_trips < self.count {
            transport.write(&self.message);
        } else {
            outcome.finished = Some(Instant::now());
            transport.lose_connection();
        }
    }
}

struct Client {
    reactor: Reactor,
    options: Rc<Options>,
    outcome: Rc<RefCell<Outcome>>,
}

impl Factory for Client {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PingPong {
            message: self.options.message.clone().into(),
            count: self.options.count,
            received: Vec::with_capacity(self.options.message.len()),
            outcome: self.outcome.clone(),
        }))
    }
}

impl ClientFactory for Client {
    fn client_connection_failed(&mut self, _connector: &Connector, reason: Failure) {
        self.outcome.borrow_mut().error = Some(format!("connecting to {}: {reason}", self.options.connect));
        let _ = self.reactor.stop();
    }

    fn client_connection_lost(&mut self, _connector: &Connector, reason: Failure) {
        let mut outcome = self.outcome.borrow_mut();
        if outcome.round_trips < self.options.count && outcome.error.is_none() {
            outcome.error = Some(format!("the connection ended early: {reason}"));
        }
        let _ = self.reactor.stop();
    }
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        connect: SocketAddr::from(([127, 0, 0, 1], 8000)),
        message: b"hello, gyre".to_vec(),
        count: 1,
        timeout: Duration::from_secs(10),
    };
    let mut args = support::Args::new();
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "--connect" => options.connect = args.parsed("--connect")?,
            "--message" => options.message = args.value("--message")?.into_bytes(),
            "--size" => {
                let size: usize = args.parsed("--size")?;
                options.message = vec![b'x'; size];
            }
            "--count" => options.count = args.parsed("--count")?,
            "--timeout" => options.timeout = args.seconds("--timeout")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.message.is_empty() || options.count == 0 {
        return Err("the message must not be empty and --count must be at least 1".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match support::or_usage(
        "echo_client",
        "echo_client [--connect ADDR] [--message TEXT | --size N] [--count N] [--timeout SECONDS]",
        parse_args(),
    ) {
        Ok(options) => Rc::new(options),
        Err(code) => return code,
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let outcome = Rc::new(RefCell::new(Outcome::default()));
    let client = Client {
        reactor: reactor.clone(),
        options: options.clone(),
        outcome: outcome.clone(),
    };
    let connect = ConnectOptions::default().timeout(options.timeout);
    let _connector = reactor.connect_tcp_with(options.connect, client, connect);
    if let Err(error) = reactor.run() {
        eprintln!("echo_client: {error}");
        return ExitCode::FAILURE;
    }
    let outcome = outcome.borrow();
    if let Some(error) = &outcome.error {
        eprintln!("echo_client: {error}");
        return ExitCode::FAILURE;
    }
    if let (Some(started), Some(finished)) = (outcome.started, outcome.finished) {
        let elapsed = finished - started;
        let each = elapsed / u32::try_from(outcome.round_trips).unwrap_or(u32::MAX).max(1);
        println!(
            "{} round trips of {} bytes in {:.3} s ({:.1} µs each)",
            outcome.round_trips,
            options.message.len(),
            elapsed.as_secs_f64(),
            each.as_secs_f64() * 1e6
        );
    }
    ExitCode::SUCCESS
}
