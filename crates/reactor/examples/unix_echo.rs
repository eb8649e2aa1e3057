//! An echo server and client over a Unix stream socket.
//!
//! ```text
//! cargo run -p gyre-reactor --example unix_echo -- --listen /tmp/echo.sock --mode 660
//! cargo run -p gyre-reactor --example unix_echo -- --connect /tmp/echo.sock
//! ```
//!
//! Arguments (exactly one of the first two):
//! - `--listen NAME`: serve on the socket NAME. A NAME starting with `@` is
//!   a Linux abstract name (`--listen @echo`), which has no file.
//! - `--connect NAME`: copy standard input to the socket and the socket to
//!   standard output, like `socat - UNIX-CONNECT:NAME`. At the end of input
//!   the client half-closes the socket, and it exits once the server has
//!   echoed everything and closed.
//! - `--mode OCTAL`: permissions of the server's socket file (default: what
//!   the umask gives).
//! - `--lockfile`: hold `NAME.lock` while serving (see `UnixListenOptions`).
//!
//! The server's first line on standard output is `listening on unix:NAME`.
//! It echoes every byte, and every file descriptor a client passes
//! (`SCM_RIGHTS`) goes back to that client with the echoed bytes it came
//! with. An old socket file left by a crashed server is replaced; a running
//! server is not. Try it with `socat - UNIX-CONNECT:/tmp/echo.sock`,
//! `nc -U /tmp/echo.sock`, or Python's `socket.send_fds`/`recv_fds`.
//!
//! The client side shows two transports joined: a Unix socket and the
//! program's own stdin/stdout (`Reactor::standard_io`).

use std::cell::Cell;
use std::os::fd::OwnedFd;
use std::process::ExitCode;
use std::rc::Rc;

use gyre_core::address::UnixAddress;
use gyre_core::capability::UnixFdPassing;
use gyre_core::connector::Connector;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use gyre_reactor::unix::{UnixConnectOptions, UnixListenOptions};

mod support;

/// Echoes bytes, and returns passed descriptors with them.
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }

    /// Descriptors arrive just before the bytes they came with, so queueing
    /// them here sends them back with the echo of those bytes.
    fn file_descriptors_received(&mut self, transport: &Transport, fds: Vec<OwnedFd>) {
        if let Ok(sender) = transport.capability::<UnixFdPassing>() {
            let _ = sender.send(fds);
        }
    }
}

/// The client's socket side: what the server sends goes to stdout.
struct SocketSide {
    reactor: Reactor,
    stdio: Option<Transport>,
}

impl Protocol for SocketSide {
    fn connection_made(&mut self, socket: &Transport) {
        let stdin_side = StdinSide {
            socket: socket.clone(),
            reactor: self.reactor.clone(),
        };
        match self.reactor.standard_io(Box::new(stdin_side)) {
            Ok(stdio) => self.stdio = Some(stdio),
            Err(failure) => {
                eprintln!("unix_echo: {failure}");
                socket.lose_connection();
            }
        }
    }

    fn data_received(&mut self, _socket: &Transport, data: &[u8]) {
        if let Some(stdio) = &self.stdio {
            stdio.write(data);
        }
    }

    fn connection_lost(&mut self, _socket: &Transport, _reason: Failure) {
        match &self.stdio {
            // Flushes what is left to stdout; StdinSide then stops the reactor.
            Some(stdio) => stdio.lose_connection(),
            None => drop(self.reactor.stop()),
        }
    }
}

/// The client's stdin side: what the user types goes to the socket.
struct StdinSide {
    socket: Transport,
    reactor: Reactor,
}

impl Protocol for StdinSide {
    fn data_received(&mut self, _stdio: &Transport, data: &[u8]) {
        self.socket.write(data);
    }

    /// End of input: half-close, so the server sees end of file but can
    /// still send the rest of the echo.
    fn read_connection_lost(&mut self, _stdio: &Transport) {
        self.socket.lose_write_connection();
    }

    fn connection_lost(&mut self, _stdio: &Transport, _reason: Failure) {
        self.socket.lose_connection();
        let _ = self.reactor.stop();
    }
}

/// Builds the client's protocol and reports a failed connect.
struct Client {
    reactor: Reactor,
    failed: Rc<Cell<bool>>,
}

impl Factory for Client {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(SocketSide {
            reactor: self.reactor.clone(),
            stdio: None,
        }))
    }
}

impl ClientFactory for Client {
    fn client_connection_failed(&mut self, connector: &Connector, reason: Failure) {
        eprintln!(
            "unix_echo: cannot connect to {}: {reason}",
            connector.destination()
        );
        self.failed.set(true);
        let _ = self.reactor.stop();
    }
}

enum Mode {
    Listen(UnixAddress),
    Connect(UnixAddress),
}

fn parse_name(name: &str) -> UnixAddress {
    match name.strip_prefix('@') {
        Some(name) => UnixAddress::Abstract(name.as_bytes().to_vec()),
        None => UnixAddress::Path(name.into()),
    }
}

fn parse_args() -> Result<(Mode, UnixListenOptions), String> {
    let mut mode = None;
    let mut options = UnixListenOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => mode = Some(Mode::Listen(parse_name(&value()?))),
            "--connect" => mode = Some(Mode::Connect(parse_name(&value()?))),
            "--mode" => {
                let octal = value()?;
                let bits = u32::from_str_radix(&octal, 8).map_err(|_| format!("bad mode {octal:?}"))?;
                options = options.mode(bits);
            }
            "--lockfile" => options = options.lockfile(true),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((mode.ok_or_else(String::new)?, options))
}

fn main() -> ExitCode {
    let (mode, options) = match support::or_usage(
        "unix_echo",
        "unix_echo (--listen NAME [--mode OCTAL] [--lockfile] | --connect NAME)",
        parse_args(),
    ) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let failed = Rc::new(Cell::new(false));
    match mode {
        Mode::Listen(address) => match reactor.listen_unix_with(address, protocol_factory(|_| Echo), options)
        {
            Ok(port) => println!("listening on {}", port.host()),
            Err(failure) => {
                eprintln!("unix_echo: {failure}");
                return ExitCode::FAILURE;
            }
        },
        Mode::Connect(address) => {
            let client = Client {
                reactor: reactor.clone(),
                failed: failed.clone(),
            };
            reactor.connect_unix_with(address, client, UnixConnectOptions::default());
        }
    }
    match reactor.run() {
        Ok(()) if failed.get() => ExitCode::FAILURE,
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("unix_echo: {error}");
            ExitCode::FAILURE
        }
    }
}
