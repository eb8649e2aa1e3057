//! A TLS client: connects, verifies the server, sends its standard input,
//! and prints what comes back until the server closes.
//!
//! ```text
//! printf 'GET / HTTP/1.0\r\n\r\n' | cargo run -p gyre-tls --example tls_client -- \
//!     --connect localhost:8443 --ca ca.pem
//! ```
//!
//! Arguments:
//! - `--connect HOST:PORT`: the server; HOST is also the name checked
//!   against its certificate and sent by SNI (unless `--servername`).
//! - `--ca FILE`: trust the CA certificates in FILE instead of the
//!   webpki (Mozilla) roots; `--system-roots` trusts the system store.
//! - `--servername NAME`: verify and send NAME instead of HOST.
//! - `--alpn P1,P2`: offer these application protocols.
//! - `--cert CHAIN.pem --key KEY.pem`: present a client certificate.
//! - `--close-after N`: send close_notify after receiving N bytes
//!   (for servers that keep the connection open, like an echo server).
//!
//! The exit status is 0 after a clean TLS close, 1 otherwise (the reason,
//! such as a failed handshake or a truncated connection, goes to stderr).

use std::cell::Cell;
use std::io::Read;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use gyre_core::errors::ConnectionDone;
use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, Reactor};
use gyre_tls::{TlsClientConfig, wrap_client_factory};

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
        use std::io::Write;
        let _ = std::io::stdout().write_all(data);
        let _ = std::io::stdout().flush();
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

/// Builds the client and stops the reactor when the connection cannot be made.
struct Factory {
    input: Vec<u8>,
    close_after: Option<usize>,
    reactor: Reactor,
    clean: Rc<Cell<bool>>,
}

impl gyre_core::Factory for Factory {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Client {
            input: self.input.clone(),
            close_after: self.close_after,
            received: 0,
            reactor: self.reactor.clone(),
            clean: self.clean.clone(),
        }))
    }
}

impl ClientFactory for Factory {
    fn client_connection_failed(&mut self, _connector: &gyre_core::connector::Connector, reason: Failure) {
        eprintln!("tls_client: {reason}");
        let _ = self.reactor.stop();
    }
}

struct Options {
    host: String,
    port: u16,
    server_name: Option<String>,
    config: TlsClientConfig,
    close_after: Option<usize>,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut connect, mut server_name, mut close_after) = (None::<String>, None, None);
    let mut builder = TlsClientConfig::builder();
    let (mut cert, mut key) = (None::<PathBuf>, None::<PathBuf>);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--connect" => connect = Some(value()?),
            "--ca" => builder = builder.ca_file(value()?.as_ref()).map_err(|e| e.to_string())?,
            "--system-roots" => builder = builder.system_roots(),
            "--servername" => server_name = Some(value()?),
            "--alpn" => builder = builder.alpn(value()?.split(',')),
            "--cert" => cert = Some(value()?.into()),
            "--key" => key = Some(value()?.into()),
            "--close-after" => {
                close_after = Some(value()?.parse().map_err(|e| format!("--close-after: {e}"))?)
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let (Some(cert), Some(key)) = (&cert, &key) {
        builder = builder
            .client_certificate_pem_files(cert, key)
            .map_err(|e| e.to_string())?;
    }
    let connect = connect.ok_or("--connect HOST:PORT is required")?;
    let (host, port) = connect.rsplit_once(':').ok_or("--connect wants HOST:PORT")?;
    let port = port.parse().map_err(|e| format!("--connect port: {e}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let config = builder.build().map_err(|e| e.to_string())?;
    Ok(Options {
        host,
        port,
        server_name,
        config,
        close_after,
    })
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("tls_client: {message}");
            }
            eprintln!(
                "usage: tls_client --connect HOST:PORT [--ca FILE | --system-roots] [--servername NAME] \
                 [--alpn P1,P2] [--cert CHAIN.pem --key KEY.pem] [--close-after N] < input"
            );
            return ExitCode::from(2);
        }
    };
    let Some(address) = (options.host.as_str(), options.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    else {
        eprintln!("tls_client: cannot resolve {}", options.host);
        return ExitCode::FAILURE;
    };
    let mut input = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("tls_client: reading standard input: {error}");
        return ExitCode::FAILURE;
    }
    let reactor = Reactor::new().expect("creating the reactor");
    let clean = Rc::new(Cell::new(false));
    let factory = SharedClientFactory::new(Factory {
        input,
        close_after: options.close_after,
        reactor: reactor.clone(),
        clean: clean.clone(),
    });
    let name = options.server_name.unwrap_or(options.host);
    let _connector = reactor.connect_tcp_with(
        address,
        wrap_client_factory(options.config, &name, factory),
        ConnectOptions::default(),
    );
    if let Err(error) = reactor.run() {
        eprintln!("tls_client: {error}");
    }
    if clean.get() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
