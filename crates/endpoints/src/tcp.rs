//! TCP endpoints over any [`ReactorTcp`] (the real reactor, or
//! `MemoryReactor` in tests).

use std::net::SocketAddr;
use std::time::Duration;

use gyre_core::SharedFactory;
use gyre_core::connector::ListeningPort;
use gyre_core::deferred::Deferred;
use gyre_core::interfaces::ReactorTcp;

use crate::endpoint::{ClientEndpoint, Connection, ServerEndpoint, dial, listened};
use crate::shared_ports::SharedPorts;
use crate::spec::{DEFAULT_BACKLOG, DEFAULT_TIMEOUT};

/// Listens on a TCP address (Twisted's `TCP4ServerEndpoint` and
/// `TCP6ServerEndpoint`: the family follows the address).
#[derive(Clone, Debug)]
pub struct TcpServerEndpoint<R> {
    reactor: R,
    address: SocketAddr,
    backlog: u32,
    shared: Option<SharedPorts>,
}

impl<R: ReactorTcp> TcpServerEndpoint<R> {
    /// An endpoint listening on `address` with the default backlog (50).
    pub fn new(reactor: R, address: SocketAddr) -> Self {
        TcpServerEndpoint {
            reactor,
            address,
            backlog: DEFAULT_BACKLOG,
            shared: None,
        }
    }

    /// Sets the listen queue length.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Listens with `SO_REUSEPORT` on the port recorded in `ports`, so the
    /// same endpoint on several worker threads shares one port.
    pub fn shared(mut self, ports: SharedPorts) -> Self {
        self.shared = Some(ports);
        self
    }
}

impl<R: ReactorTcp> ServerEndpoint for TcpServerEndpoint<R> {
    fn listen(&self, factory: SharedFactory) -> Deferred<ListeningPort> {
        listened(match &self.shared {
            None => self.reactor.listen_tcp(self.address, factory, self.backlog),
            Some(ports) => ports.listen(self.address, |address| {
                self.reactor.listen_tcp_reuse_port(address, factory, self.backlog)
            }),
        })
    }
}

/// Connects to one TCP address (Twisted's `TCP4ClientEndpoint`). For a host
/// name use [`HostnameEndpoint`](crate::HostnameEndpoint).
#[derive(Clone, Debug)]
pub struct TcpClientEndpoint<R> {
    reactor: R,
    address: SocketAddr,
    timeout: Duration,
    bind_address: Option<SocketAddr>,
}

impl<R: ReactorTcp> TcpClientEndpoint<R> {
    /// An endpoint connecting to `address` with a 30 s timeout.
    pub fn new(reactor: R, address: SocketAddr) -> Self {
        TcpClientEndpoint {
            reactor,
            address,
            timeout: DEFAULT_TIMEOUT,
            bind_address: None,
        }
    }

    /// Sets the connect timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Binds the local end to `address` first.
    pub fn bind_address(mut self, address: Option<SocketAddr>) -> Self {
        self.bind_address = address;
        self
    }
}

impl<R: ReactorTcp> ClientEndpoint for TcpClientEndpoint<R> {
    fn connect(&self, factory: SharedFactory) -> Deferred<Connection> {
        dial(factory, None, |client| {
            self.reactor
                .connect_tcp(self.address, client, self.timeout, self.bind_address)
        })
    }
}
