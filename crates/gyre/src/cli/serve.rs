//! What every serving subcommand shares: listen on each `--listen`
//! endpoint, say where, and run until SIGINT or SIGTERM.

use std::cell::Cell;
use std::rc::Rc;

use gyre_core::{Address, SharedFactory};
use gyre_endpoints::EndpointRegistry;
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
    announce: impl Fn(&Address, &str) + Clone + 'static,
) -> Result<(), String> {
    let registry = EndpointRegistry::default();
    let failed = Rc::new(Cell::new(false));
    for description in listen {
        let endpoint = registry
            .server_from_string(reactor, description)
            .map_err(|error| format!("--listen {description}: {error}"))?;
        let (failed, stopper) = (failed.clone(), reactor.clone());
        let (description, announce) = (description.clone(), announce.clone());
        let command = command.to_owned();
        drop(endpoint.listen(factory.clone()).then(move |result| match result {
            Ok(port) => announce(&port.host(), &description),
            Err(failure) => {
                eprintln!("{command}: cannot listen on {description}: {failure}");
                failed.set(true);
                let reactor = stopper.clone();
                stopper.call_when_running(move || drop(reactor.stop()));
            }
        }));
    }
    for signal in STOP_SIGNALS {
        let command = command.to_owned();
        let _ = reactor.on_signal(signal, move |number| {
            eprintln!("{command}: signal {number}, stopping")
        });
    }
    reactor.run().map_err(|error| error.to_string())?;
    if failed.get() {
        return Err("not every endpoint could listen".to_owned());
    }
    eprintln!("{command}: stopped");
    Ok(())
}
