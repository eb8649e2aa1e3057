//! A TLS client configured by a client endpoint description: connects,
//! verifies the server, sends its standard input, and prints what comes
//! back until the server closes.
//!
//! ```text
//! printf 'GET / HTTP/1.0\r\n\r\n' | cargo run -p gyre-endpoints --example tls_client -- \
//!     --connect tls:localhost:8443:trustRoots=crates/tls/tests/data/ca.pem
//! ```
//!
//! The test CA and the `localhost` certificate in `crates/tls/tests/data`
//! (and the `openssl` commands that made them, in its README) fit the
//! `tls_echo_server` example of gyre-tls:
//!
//! ```text
//! cargo run -p gyre-tls --example tls_echo_server -- --listen 8443 \
//!     --cert crates/tls/tests/data/localhost.pem --key crates/tls/tests/data/localhost.key
//! ```
//!
//! Arguments:
//! - `--connect DESCRIPTION`: any client endpoint description; for TLS,
//!   `tls:HOST:PORT` with the options of gyre-endpoints' `tls:` prefix
//!   (`trustRoots=CA.pem`, `systemRoots=1`, `serverName=NAME`,
//!   `alpn=P1,P2`, `certificate=CHAIN.pem:privateKey=KEY.pem`, and, for
//!   tests only, `dangerousSkipVerification=1`).
//! - `--close-after N`: close after receiving N bytes (for servers that
//!   keep the connection open, like an echo server).
//!
//! The exit status is 0 after a clean close, 1 otherwise (the reason, such
//! as a failed handshake or a truncated connection, goes to stderr).

use std::cell::Cell;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::rc::Rc;

use gyre_core::errors::ConnectionDone;
use gyre_core::prelude::*;
use gyre_endpoints::{EndpointRegistry, connect_protocol};
use gyre_reactor::Reactor;

/// Sends `input`, prints what arrives, stops the reactor at the end.
struct Client {
    input: Vec<u8>,
    close_after: Option<usize>,
    received: usize,
    reactor: Reactor,
    clean: Rc<Cell<bool>>,
}

impl Protocol for Client {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(&self.input);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(data);
        let _ = stdout.flush();
        self.received += data.len();
        if self.close_after.is_some_and(|n| self.received >= n) {
            transport.lose_connection();
        }
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        if reason.is::<ConnectionDone>() {
            self.clean.set(true);
        } else {
            eprintln!("tls_client: {reason}");
        }
        let _ = self.reactor.stop();
    }
}

fn usage(message: &str) -> ExitCode {
    if !message.is_empty() {
        eprintln!("tls_client: {message}");
    }
    eprintln!("usage: tls_client --connect DESCRIPTION [--close-after N] < input");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let (mut connect, mut close_after) = (None::<String>, None::<usize>);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value) {
            ("--connect", Some(description)) => connect = Some(description),
            ("--close-after", Some(n)) => match n.parse() {
                Ok(n) => close_after = Some(n),
                Err(error) => return usage(&format!("--close-after: {error}")),
            },
            _ => return usage(&format!("unexpected argument {flag}")),
        }
    }
    let Some(connect) = connect else {
        return usage("--connect is required");
    };
    let mut input = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("tls_client: reading standard input: {error}");
        return ExitCode::FAILURE;
    }
    let reactor = Reactor::new().expect("creating the reactor");
    let endpoint = match EndpointRegistry::default().client_from_string(&reactor, &connect) {
        Ok(endpoint) => endpoint,
        Err(error) => return usage(&error.to_string()),
    };
    let clean = Rc::new(Cell::new(false));
    let client = Client {
        input,
        close_after,
        received: 0,
        reactor: reactor.clone(),
        clean: clean.clone(),
    };
    let stopper = reactor.clone();
    // The connection Deferred fails when no connection could be made at
    // all; failures after that (the TLS handshake included) reach
    // `connection_lost`.
    drop(connect_protocol(&*endpoint, client).then(move |result| {
        if let Err(failure) = result {
            eprintln!("tls_client: {failure}");
            let reactor = stopper.clone();
            stopper.call_when_running(move || drop(reactor.stop()));
        }
    }));
    if let Err(error) = reactor.run() {
        eprintln!("tls_client: {error}");
    }
    if clean.get() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
