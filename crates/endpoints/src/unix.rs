//! Unix stream socket endpoints. The server needs the real reactor (for
//! `lockfile`); the client works over any [`ReactorUnix`].

use std::time::Duration;

use gyre_core::SharedFactory;
use gyre_core::address::UnixAddress;
use gyre_core::connector::ListeningPort;
use gyre_core::deferred::Deferred;
use gyre_core::interfaces::ReactorUnix;
use gyre_reactor::Reactor;
use gyre_reactor::unix::UnixListenOptions;

use crate::endpoint::{ClientEndpoint, Connection, ServerEndpoint, dial, listened};
use crate::spec::{DEFAULT_TIMEOUT, UnixServerSpec};

/// Listens on a Unix socket (Twisted's `UNIXServerEndpoint`).
#[derive(Clone)]
pub struct UnixServerEndpoint {
    reactor: Reactor,
    spec: UnixServerSpec,
}

impl UnixServerEndpoint {
    /// An endpoint for a parsed `unix:` description (or one built by hand).
    pub fn new(reactor: Reactor, spec: UnixServerSpec) -> Self {
        UnixServerEndpoint { reactor, spec }
    }
}

impl ServerEndpoint for UnixServerEndpoint {
    fn listen(&self, factory: SharedFactory) -> Deferred<ListeningPort> {
        let mut options = UnixListenOptions::default()
            .backlog(self.spec.backlog)
            .lockfile(self.spec.lockfile);
        options.mode = self.spec.mode;
        listened(
            self.reactor
                .listen_unix_with(self.spec.address.clone(), factory, options),
        )
    }
}

/// Connects to a Unix socket (Twisted's `UNIXClientEndpoint`).
#[derive(Clone, Debug)]
pub struct UnixClientEndpoint<R> {
    reactor: R,
    address: UnixAddress,
    timeout: Duration,
}

impl<R: ReactorUnix> UnixClientEndpoint<R> {
    /// An endpoint connecting to `address` with a 30 s timeout.
    pub fn new(reactor: R, address: UnixAddress) -> Self {
        UnixClientEndpoint {
            reactor,
            address,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets the connect timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<R: ReactorUnix> ClientEndpoint for UnixClientEndpoint<R> {
    fn connect(&self, factory: SharedFactory) -> Deferred<Connection> {
        dial(factory, None, |client| {
            self.reactor
                .connect_unix(self.address.clone(), client, self.timeout)
        })
    }
}
