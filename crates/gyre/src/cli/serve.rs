//! What every serving subcommand shares: one [`StreamServerService`] per
//! `--listen` endpoint in the worker's tree, each announcing where it
//! listens, and the glue from a subcommand's parsed options to a
//! [`ServicePlugin`](gyre_app::ServicePlugin).

use gyre_app::{Configured, Drain, MultiService, StreamServerService, Worker};
use gyre_core::{Address, SharedFactory};

/// One worker's tree: a [`StreamServerService`] named
/// `"{service} {description}"` for each description in `listen`, serving
/// `factory`, draining with `drain`, and announcing `announce(address,
/// description)`.
pub fn listen_all(
    worker: &Worker,
    listen: &[String],
    names: (&str, &str),
    factory: SharedFactory,
    drain: Drain,
    announce: impl Fn(&Address, &str) -> String + Clone + 'static,
) -> Result<MultiService, String> {
    let (service, protocol) = names;
    let tree = MultiService::new();
    for description in listen {
        let endpoint = worker.server_endpoint(description)?;
        let (worker, label, announce) = (worker.clone(), description.clone(), announce.clone());
        let server = StreamServerService::new(endpoint, factory.clone(), service, protocol)
            .drain(drain.clone())
            .on_listening(move |address| worker.announce(announce(address, &label)));
        tree.add(format!("{service} {description}"), server)
            .map_err(|error| error.to_string())?;
    }
    Ok(tree)
}

/// The announcement of the services whose protocol is their name:
/// `listening on ADDRESS (NAME)`.
pub fn listening_as(name: &'static str) -> impl Fn(&Address, &str) -> String + Clone + 'static {
    move |address, _description| format!("listening on {address} ({name})")
}

/// A subcommand's parse result as a plugin's: `Ok(None)` is `--help`;
/// options become the tree builder `build` makes of them.
pub fn configured<O: Send + Sync + 'static>(
    parsed: Result<Option<O>, String>,
    build: fn(&O, &Worker) -> Result<MultiService, String>,
) -> Result<Configured, String> {
    Ok(match parsed? {
        None => Configured::Help,
        Some(options) => Configured::Run {
            build: std::sync::Arc::new(move |worker| build(&options, worker)),
            log_files: Vec::new(),
        },
    })
}
