//! What a reactor offers, as traits, so that code which opens connections
//! (endpoints, clients, services) can be written against them and tested
//! with `gyre_testing::MemoryReactor`, which records every call instead of
//! touching the network.

use std::net::SocketAddr;
use std::time::Duration;

use crate::address::UnixAddress;
use crate::connector::{Connector, ListeningPort};
use crate::datagram::{DatagramProtocol, DatagramTransport};
use crate::failure::Failure;
use crate::protocol::{SharedClientFactory, SharedFactory};

/// TCP listening and connecting (Twisted's `IReactorTCP`).
pub trait ReactorTcp {
    /// Listens on `addr` (port 0 picks a free port; see `ListeningPort::host`)
    /// with a listen queue of `backlog`. Fails with `CannotListen`.
    fn listen_tcp(
        &self,
        addr: SocketAddr,
        factory: SharedFactory,
        backlog: u32,
    ) -> Result<ListeningPort, Failure>;

    /// [`listen_tcp`](Self::listen_tcp) with `SO_REUSEPORT` set before the
    /// bind, so that several sockets (one per worker thread, each on its own
    /// reactor) listen on one port and the kernel spreads connections among
    /// them. A reactor that cannot do that fails with `CannotListen` rather
    /// than listening unshared, which would leave all but one worker idle.
    fn listen_tcp_reuse_port(
        &self,
        addr: SocketAddr,
        factory: SharedFactory,
        backlog: u32,
    ) -> Result<ListeningPort, Failure>;

    /// Connects to `addr`, giving up after `timeout`, optionally from a local
    /// `bind_address`. The factory hears how it went.
    fn connect_tcp(
        &self,
        addr: SocketAddr,
        factory: SharedClientFactory,
        timeout: Duration,
        bind_address: Option<SocketAddr>,
    ) -> Connector;
}

/// Unix stream sockets (Twisted's `IReactorUNIX`).
pub trait ReactorUnix {
    /// Listens on a Unix socket; `mode` sets the socket file's permissions.
    fn listen_unix(
        &self,
        address: UnixAddress,
        factory: SharedFactory,
        backlog: u32,
        mode: Option<u32>,
    ) -> Result<ListeningPort, Failure>;

    /// Connects to a Unix socket, giving up after `timeout`.
    fn connect_unix(
        &self,
        address: UnixAddress,
        factory: SharedClientFactory,
        timeout: Duration,
    ) -> Connector;
}

/// UDP sockets (Twisted's `IReactorUDP`).
pub trait ReactorUdp {
    /// Binds a UDP socket on `addr` and runs `protocol` on it.
    fn listen_udp(
        &self,
        addr: SocketAddr,
        protocol: Box<dyn DatagramProtocol>,
    ) -> Result<DatagramTransport, Failure>;
}
