//! An echo server on any server endpoint description:
//!
//! ```text
//! cargo run -p gyre-endpoints --example endpoint_echo -- --listen tcp:8007:interface=127.0.0.1
//! cargo run -p gyre-endpoints --example endpoint_echo -- --listen unix:/tmp/echo.sock:mode=600
//! systemd-socket-activate -l 127.0.0.1:8007 target/debug/examples/endpoint_echo --listen systemd:domain=INET:index=0
//! ```
//!
//! Prints `listening on ADDRESS` once ready; Ctrl-C stops it. With
//! `stdio:` the one connection is standard input and output, so the line
//! goes to standard error instead and the program ends with the
//! connection, as an inetd service does:
//!
//! ```text
//! socat TCP-LISTEN:8007,bind=127.0.0.1,reuseaddr,fork EXEC:"target/debug/examples/endpoint_echo --listen stdio\:"
//! ```

use gyre_core::{Address, Failure, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::{EndpointRegistry, listen_and_run};
use gyre_reactor::Reactor;

/// Echoes; with `stop_with` set (the `stdio:` case), stops the reactor
/// when its connection ends.
struct Echo {
    stop_with: Option<Reactor>,
}

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }

    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {
        if let Some(reactor) = &self.stop_with {
            let _ = reactor.stop();
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let description = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(description)) => description,
        _ => return Err("usage: endpoint_echo --listen <server endpoint description>".into()),
    };
    let reactor = Reactor::new()?;
    let endpoint = EndpointRegistry::default()
        .server_from_string(&reactor, &description)
        .map_err(|error| error.to_string())?;
    let one_connection = description
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("stdio:");
    let stop_with = one_connection.then(|| reactor.clone());
    let factory = SharedFactory::new(protocol_factory(move |_: &Address| Echo {
        stop_with: stop_with.clone(),
    }));
    // With stdio: standard output is the connection, so the line goes to stderr.
    let announce = move |address: &Address| {
        if one_connection {
            eprintln!("listening on {address}");
        } else {
            println!("listening on {address}");
        }
    };
    listen_and_run(&reactor, &*endpoint, factory, announce).map_err(|failure| failure.to_string())?;
    Ok(())
}
