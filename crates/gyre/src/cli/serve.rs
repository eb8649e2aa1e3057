//! What every serving subcommand shares: listen on each `--listen`
//! endpoint, say where, and run until SIGINT or SIGTERM.

use gyre_core::{Address, SharedFactory};
use gyre_endpoints::{EndpointRegistry, ServerEndpoint, listen_all_and_run};
use gyre_reactor::Reactor;

/// SIGINT and SIGTERM (the same numbers on every Unix gyre runs on); the
/// reactor stops on both by itself, the handlers only say so.
const STOP_SIGNALS: [i32; 2] = [2, 15];

/// Listens on every description in `listen` with `factory`, calls
/// `announce(address, description)` for each endpoint once it listens,
/// and runs `reactor` until a stop signal (or a failed listen, which is
/// then the error). `command` prefixes the messages on stderr.
pub fn serve_until_stopped(
    command: &str,
    reactor: &Reactor,
    listen: &[String],
    factory: SharedFactory,
    announce: impl Fn(&Address, &str) + 'static,
) -> Result<(), String> {
    let registry = EndpointRegistry::default();
    let mut endpoints = Vec::new();
    for description in listen {
        let endpoint = registry
            .server_from_string(reactor, description)
            .map_err(|error| format!("--listen {description}: {error}"))?;
        endpoints.push((description.as_str(), endpoint));
    }
    for signal in STOP_SIGNALS {
        let command = command.to_owned();
        let _ = reactor.on_signal(signal, move |number| {
            eprintln!("{command}: signal {number}, stopping")
        });
    }
    let labelled: Vec<(&str, &dyn ServerEndpoint)> = endpoints
        .iter()
        .map(|(description, endpoint)| (*description, &**endpoint))
        .collect();
    listen_all_and_run(reactor, &labelled, factory, move |description, address| {
        announce(address, description)
    })
    .map_err(|failure| failure.to_string())?;
    eprintln!("{command}: stopped");
    Ok(())
}
