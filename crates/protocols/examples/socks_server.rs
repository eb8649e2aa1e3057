//! A SOCKS server: SOCKS4, SOCKS4a and SOCKS5 on one port (CONNECT, BIND,
//! UDP ASSOCIATE), optionally requiring a SOCKS5 username and password.
//!
//! ```text
//! cargo run -p gyre-protocols --example socks_server -- --listen tcp:1080:interface=127.0.0.1
//! curl --socks5-hostname 127.0.0.1:1080 http://example.com/
//! cargo run -p gyre-protocols --example socks_server -- --listen tcp:1080 --user alice --password secret
//! curl --proxy socks5h://alice:secret@127.0.0.1:1080 http://example.com/
//! ```
//!
//! Arguments:
//! - `--listen ENDPOINT`: a server endpoint description. The first line
//!   printed is `listening on ADDRESS`, with the real port for `tcp:0`.
//! - `--user U --password P`: require RFC 1929 authentication (SOCKS4 is
//!   then refused, since it cannot carry a password).
//! - `--handshake-timeout SECONDS`: time a client has to send its request (default 30).
//! - `--deny-loopback`: an access policy refusing loopback targets given as IPs.

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::prelude::*;
use gyre_endpoints::{EndpointRegistry, ThreadedResolver, listen_and_run};
use gyre_protocols::socks::wire::TargetAddr;
use gyre_protocols::socks::{AccessRequest, SocksServerFactory, StaticPasswords};
use gyre_reactor::Reactor;

struct Options {
    listen: String,
    credentials: Option<(String, String)>,
    handshake_timeout: Option<Duration>,
    deny_loopback: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut user, mut password) = (None, None, None);
    let (mut handshake_timeout, mut deny_loopback) = (None, false);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = Some(value()?),
            "--user" => user = Some(value()?),
            "--password" => password = Some(value()?),
            "--handshake-timeout" => {
                let seconds: f64 = value()?
                    .parse()
                    .map_err(|_| "--handshake-timeout wants seconds")?;
                handshake_timeout = Some(
                    Duration::try_from_secs_f64(seconds).map_err(|_| "--handshake-timeout wants seconds")?,
                );
            }
            "--deny-loopback" => deny_loopback = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let credentials = match (user, password) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        _ => return Err("--user and --password go together".into()),
    };
    Ok(Options {
        listen: listen.ok_or("--listen is required")?,
        credentials,
        handshake_timeout,
        deny_loopback,
    })
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("socks_server: {message}");
            }
            eprintln!(
                "usage: socks_server --listen ENDPOINT [--user U --password P] \
                 [--handshake-timeout SECONDS] [--deny-loopback]"
            );
            return ExitCode::from(2);
        }
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let server = match EndpointRegistry::default().server_from_string(&reactor, &options.listen) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("socks_server: --listen: {error}");
            return ExitCode::from(2);
        }
    };
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let mut factory = SocksServerFactory::new(reactor.clone(), resolver);
    if let Some((user, password)) = options.credentials {
        factory = factory.with_password_checker(Rc::new(StaticPasswords::new().with_user(user, password)));
    }
    if let Some(timeout) = options.handshake_timeout {
        factory = factory.handshake_timeout(timeout);
    }
    if options.deny_loopback {
        factory = factory.with_policy(Rc::new(|request: &AccessRequest<'_>| match request.target {
            TargetAddr::Ip(addr) => !addr.ip().is_loopback(),
            TargetAddr::Domain { .. } => true,
        }));
    }
    // The bare socket address (`127.0.0.1:PORT`), which the tests parse.
    let announce = |host: &Address| match host.socket_addr() {
        Some(address) => println!("listening on {address}"),
        None => println!("listening on {host}"),
    };
    match listen_and_run(&reactor, &*server, SharedFactory::new(factory), announce) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("socks_server: {failure}");
            ExitCode::FAILURE
        }
    }
}
