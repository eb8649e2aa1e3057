//! A port forwarder (Twisted's `portforward`): every connection accepted on
//! `--listen` is connected to `--dest` and relayed both ways, with flow
//! control and half-close forwarded.
//!
//! ```text
//! cargo run -p gyre-protocols --example portforward -- --listen tcp:8080:interface=127.0.0.1 --dest example.com:80
//! curl -H 'Host: example.com' http://127.0.0.1:8080/
//! ```
//!
//! Arguments:
//! - `--listen ENDPOINT`: a server endpoint description (`tcp:8080`,
//!   `tcp:0:interface=127.0.0.1`, `unix:/tmp/fwd.sock`, …). The first line
//!   printed is `listening on ADDRESS`, with the real port for `tcp:0`.
//! - `--dest HOST:PORT`: where to forward (a name is resolved for each
//!   connection, off the loop, with happy eyeballs; `[::1]:80` for IPv6).

use std::process::ExitCode;
use std::rc::Rc;

use gyre_core::prelude::*;
use gyre_endpoints::{EndpointRegistry, HostnameEndpoint, ThreadedResolver, listen_and_run};
use gyre_protocols::portforward::PortForwardFactory;
use gyre_reactor::Reactor;

fn parse_args() -> Result<(String, String, u16), String> {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut dest) = (None, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = Some(value()?),
            "--dest" => dest = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(listen), Some(dest)) = (listen, dest) else {
        return Err("--listen and --dest are required".into());
    };
    let (host, port) = dest.rsplit_once(':').ok_or("--dest wants HOST:PORT")?;
    let port = port.parse().map_err(|_| format!("--dest: bad port {port:?}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    Ok((listen, host, port))
}

fn main() -> ExitCode {
    let (listen, host, port) = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("portforward: {message}");
            }
            eprintln!("usage: portforward --listen ENDPOINT --dest HOST:PORT");
            return ExitCode::from(2);
        }
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let registry = EndpointRegistry::default();
    let server = match registry.server_from_string(&reactor, &listen) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("portforward: --listen: {error}");
            return ExitCode::from(2);
        }
    };
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let destination = HostnameEndpoint::new(reactor.clone(), resolver, &host, port);
    let factory = SharedFactory::new(PortForwardFactory::new(Rc::new(destination)));
    // The bare socket address (`127.0.0.1:PORT`), which the tests parse.
    let announce = |host: &Address| match host.socket_addr() {
        Some(address) => println!("listening on {address}"),
        None => println!("listening on {host}"),
    };
    match listen_and_run(&reactor, &*server, factory, announce) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("portforward: {failure}");
            ExitCode::FAILURE
        }
    }
}
