//! # gyre-app
//!
//! The application server (Twisted's `twisted.application` and `twistd`):
//! what turns protocols into a long-running program that starts in order,
//! stops gracefully, logs with context, and runs as a daemon or on several
//! cores.
//!
//! - [`Service`] and [`MultiService`]: a tree of named services, started in
//!   order and stopped in reverse order; a stop is a Deferred the shutdown
//!   waits for, within a deadline after which [`Service::force_stop`]
//!   abandons what is left.
//! - Ready-made services: [`StreamServerService`] (a factory listening on an
//!   endpoint, draining its connections on stop as its protocol wants, see
//!   [`Drain`]), [`ClientService`](gyre_endpoints::ClientService) (a
//!   reconnecting client) and [`TimerService`].
//! - [`run`]: the runner behind the `gyre` command. Workers are threads,
//!   each with its own reactor and its own copy of the tree, listening on
//!   the same ports with `SO_REUSEPORT` so the kernel spreads connections
//!   over cores ([`AppOptions::workers`]). Ports are bound first, then
//!   root is given up ([`AppOptions::identity`]), then services start.
//!   SIGINT/SIGTERM stop gracefully (a second one aborts), SIGHUP reopens
//!   the log file; with [`AppOptions::daemon`] the process detaches and the
//!   command returns once the server is ready.
//! - [`logging`]: `tracing` as text or JSON lines, with the worker and the
//!   connection (service, protocol, peer) on every event.
//! - [`Pidfile`]: locked while running, so a stale one is recognised even
//!   when its process ID was reused.
//! - [`ServicePlugins`]: the services a program offers by name.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gyre_app::{AppOptions, MultiService, StreamServerService, run};
//! use gyre_core::{Protocol, SharedFactory, Transport, protocol_factory};
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         transport.write(data);
//!     }
//! }
//!
//! let build = Arc::new(|worker: &gyre_app::Worker| {
//!     let tree = MultiService::new();
//!     let endpoint = worker.server_endpoint("tcp:8007")?;
//!     let factory = SharedFactory::new(protocol_factory(|_| Echo));
//!     let echo = StreamServerService::new(endpoint, factory, "echo", "echo");
//!     tree.add("echo", echo).map_err(|error| error.to_string())?;
//!     Ok(tree)
//! });
//! run(&AppOptions::default(), build).unwrap(); // until SIGINT or SIGTERM
//! ```

mod client;
pub mod logging;
mod multi;
mod pidfile;
mod plugin;
mod runner;
mod service;
mod stream_server;
mod timer;
mod tracked;
mod worker;

pub use logging::{LogDestination, LogFormat, LogOptions, LogOutput, LogWriter};
pub use multi::{DuplicateName, MultiService, ServiceFailed};
pub use pidfile::{Pidfile, PidfileError};
pub use plugin::{Configured, ServicePlugin, ServicePlugins};
pub use runner::{AppOptions, run};
pub use service::Service;
pub use stream_server::{Drain, StreamServerService};
pub use timer::TimerService;
pub use worker::{BuildTree, Worker};
