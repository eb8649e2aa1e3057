//! [`MemoryReactor`]: a reactor that records every listen and connect call
//! instead of touching the network (Twisted's `MemoryReactor`).
//!
//! Code that opens connections (endpoints, clients with reconnect logic,
//! services) is written against the reactor traits of
//! [`gyre_core::interfaces`]. Handing it a `MemoryReactor` lets a test check
//! *what* it asked for (address, backlog, timeout, bind address) and then
//! play the network's part by hand: accept a connection on a recorded port,
//! complete or fail a recorded connection attempt, deliver a datagram. Time
//! is a [`ManualClock`], so the reactor is also the clock the code under
//! test schedules on.
//!
//! The reactor is inert: nothing happens unless the test does it. In
//! particular connect timeouts are recorded but not enforced.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::address::{Address, UnixAddress};
use gyre_core::clock::{Clock, DelayedCall};
use gyre_core::connector::{Connector, ListeningPort};
use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::errors::CannotListen;
use gyre_core::interfaces::{ReactorTcp, ReactorUdp, ReactorUnix};
use gyre_core::{Failure, SharedClientFactory, SharedFactory};

use crate::manual_clock::ManualClock;
use crate::memory_connector::{MemoryConnector, TcpClient, UnixClient};
use crate::memory_port::{MemoryConnection, MemoryPort, TcpServer, UnixServer};
use crate::memory_udp::{MemoryDatagramPort, UdpPort};

/// The first port handed out when port 0 is asked for; later ones count up.
pub const FIRST_FAKE_PORT: u16 = 40000;

/// A reactor that records calls and lets the test play the network.
/// Clones share the same records and clock.
///
/// ```
/// use std::time::Duration;
/// use gyre_core::interfaces::ReactorTcp;
/// use gyre_core::{Address, Protocol, SharedFactory, Transport, protocol_factory};
/// use gyre_testing::MemoryReactor;
///
/// struct Banner;
/// impl Protocol for Banner {
///     fn connection_made(&mut self, transport: &Transport) {
///         transport.write(b"220 ready\r\n");
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let reactor = MemoryReactor::new();
/// let factory = SharedFactory::new(protocol_factory(|_: &Address| Banner));
/// let port = reactor.listen_tcp("127.0.0.1:0".parse().unwrap(), factory, 50).unwrap();
/// assert_eq!(port.host().port(), Some(40000));
///
/// let server = &reactor.tcp_servers()[0];
/// assert_eq!(server.backlog, 50);
/// let conn = server.port.accept(Address::tcp("127.0.0.1:5000".parse().unwrap())).unwrap();
/// assert_eq!(conn.value(), b"220 ready\r\n");
/// ```
#[derive(Clone, Default)]
pub struct MemoryReactor {
    shared: Rc<ReactorShared>,
}

struct ReactorShared {
    clock: ManualClock,
    tcp_servers: RefCell<Vec<TcpServer>>,
    tcp_clients: RefCell<Vec<TcpClient>>,
    unix_servers: RefCell<Vec<UnixServer>>,
    unix_clients: RefCell<Vec<UnixClient>>,
    udp_ports: RefCell<Vec<UdpPort>>,
    next_port: Cell<u16>,
    listen_failure: RefCell<Option<io::Error>>,
}

impl Default for ReactorShared {
    fn default() -> Self {
        ReactorShared {
            clock: ManualClock::new(),
            tcp_servers: RefCell::default(),
            tcp_clients: RefCell::default(),
            unix_servers: RefCell::default(),
            unix_clients: RefCell::default(),
            udp_ports: RefCell::default(),
            next_port: Cell::new(FIRST_FAKE_PORT),
            listen_failure: RefCell::new(None),
        }
    }
}

impl MemoryReactor {
    /// A reactor with no records and a fresh clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// The reactor's clock, to advance time.
    pub fn clock(&self) -> &ManualClock {
        &self.shared.clock
    }

    /// Makes the next `listen_tcp`, `listen_unix` or `listen_udp` fail with
    /// `CannotListen` carrying `error`, for testing how code copes with an
    /// address in use or a permission error. The failed call is not recorded.
    pub fn fail_next_listen(&self, error: io::Error) {
        *self.shared.listen_failure.borrow_mut() = Some(error);
    }

    /// The `listen_tcp` calls, oldest first.
    pub fn tcp_servers(&self) -> Vec<TcpServer> {
        self.shared.tcp_servers.borrow().clone()
    }

    /// The `connect_tcp` calls, oldest first.
    pub fn tcp_clients(&self) -> Vec<TcpClient> {
        self.shared.tcp_clients.borrow().clone()
    }

    /// The `listen_unix` calls, oldest first.
    pub fn unix_servers(&self) -> Vec<UnixServer> {
        self.shared.unix_servers.borrow().clone()
    }

    /// The `connect_unix` calls, oldest first.
    pub fn unix_clients(&self) -> Vec<UnixClient> {
        self.shared.unix_clients.borrow().clone()
    }

    /// The `listen_udp` calls, oldest first.
    pub fn udp_ports(&self) -> Vec<UdpPort> {
        self.shared.udp_ports.borrow().clone()
    }

    /// Completes the attempt of the `index`th `connect_tcp` call (see
    /// [`MemoryConnector::complete`]): the client factory's protocol runs on
    /// a [`StringTransport`](crate::StringTransport) the test drives.
    ///
    /// # Panics
    /// When there is no such call or its attempt is not under way.
    #[track_caller]
    pub fn connect_tcp_client(&self, index: usize) -> Option<MemoryConnection> {
        let connector = recorded(&self.shared.tcp_clients, index, "connect_tcp").connector;
        connector.complete()
    }

    /// Completes the attempt of the `index`th `connect_unix` call, like
    /// [`connect_tcp_client`](Self::connect_tcp_client).
    ///
    /// # Panics
    /// When there is no such call or its attempt is not under way.
    #[track_caller]
    pub fn connect_unix_client(&self, index: usize) -> Option<MemoryConnection> {
        let connector = recorded(&self.shared.unix_clients, index, "connect_unix").connector;
        connector.complete()
    }

    fn fake_port(&self) -> u16 {
        let port = self.shared.next_port.get();
        self.shared
            .next_port
            .set(port.checked_add(1).unwrap_or(FIRST_FAKE_PORT));
        port
    }

    /// `addr` with a fake port in place of port 0.
    fn assign_port(&self, mut addr: SocketAddr) -> SocketAddr {
        if addr.port() == 0 {
            addr.set_port(self.fake_port());
        }
        addr
    }

    fn record_tcp_listen(
        &self,
        addr: SocketAddr,
        factory: SharedFactory,
        backlog: u32,
        reuse_port: bool,
    ) -> Result<ListeningPort, Failure> {
        self.check_listen(|| Address::tcp(addr))?;
        let port = MemoryPort::start(Address::tcp(self.assign_port(addr)), factory.clone());
        let handle = port.handle();
        self.shared.tcp_servers.borrow_mut().push(TcpServer {
            addr,
            factory,
            backlog,
            reuse_port,
            port,
        });
        Ok(handle)
    }

    fn check_listen(&self, address: impl FnOnce() -> Address) -> Result<(), Failure> {
        match self.shared.listen_failure.borrow_mut().take() {
            Some(error) => Err(Failure::new(CannotListen::new(address(), error))),
            None => Ok(()),
        }
    }
}

/// A clone of the `index`th record, or a panic naming the call.
#[track_caller]
fn recorded<T: Clone>(records: &RefCell<Vec<T>>, index: usize, call: &str) -> T {
    let records = records.borrow();
    match records.get(index) {
        Some(record) => record.clone(),
        None => panic!(
            "MemoryReactor: there is no {call} call #{index}; {} were made",
            records.len()
        ),
    }
}

impl ReactorTcp for MemoryReactor {
    fn listen_tcp(
        &self,
        addr: SocketAddr,
        factory: SharedFactory,
        backlog: u32,
    ) -> Result<ListeningPort, Failure> {
        self.record_tcp_listen(addr, factory, backlog, false)
    }

    fn listen_tcp_reuse_port(
        &self,
        addr: SocketAddr,
        factory: SharedFactory,
        backlog: u32,
    ) -> Result<ListeningPort, Failure> {
        self.record_tcp_listen(addr, factory, backlog, true)
    }

    /// Records the call and starts an attempt that waits for the test. The
    /// client's local address is `bind_address` (its port 0 replaced by a
    /// fake one) or loopback of the destination's family with a fake port.
    fn connect_tcp(
        &self,
        addr: SocketAddr,
        factory: SharedClientFactory,
        timeout: Duration,
        bind_address: Option<SocketAddr>,
    ) -> Connector {
        let loopback = match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        let local = self.assign_port(bind_address.unwrap_or(SocketAddr::new(loopback, 0)));
        let connector = MemoryConnector::start(Address::tcp(addr), Address::tcp(local), factory.clone());
        let handle = connector.handle();
        self.shared.tcp_clients.borrow_mut().push(TcpClient {
            addr,
            factory,
            timeout,
            bind_address,
            connector,
        });
        handle
    }
}

impl ReactorUnix for MemoryReactor {
    fn listen_unix(
        &self,
        address: UnixAddress,
        factory: SharedFactory,
        backlog: u32,
        mode: Option<u32>,
    ) -> Result<ListeningPort, Failure> {
        self.check_listen(|| Address::Unix(address.clone()))?;
        let port = MemoryPort::start(Address::Unix(address.clone()), factory.clone());
        let handle = port.handle();
        self.shared.unix_servers.borrow_mut().push(UnixServer {
            address,
            factory,
            backlog,
            mode,
            port,
        });
        Ok(handle)
    }

    /// Records the call and starts an attempt that waits for the test; the
    /// client's own address is unnamed, as for most Unix clients.
    fn connect_unix(
        &self,
        address: UnixAddress,
        factory: SharedClientFactory,
        timeout: Duration,
    ) -> Connector {
        let connector = MemoryConnector::start(
            Address::Unix(address.clone()),
            Address::Unix(UnixAddress::Unnamed),
            factory.clone(),
        );
        let handle = connector.handle();
        self.shared.unix_clients.borrow_mut().push(UnixClient {
            address,
            factory,
            timeout,
            connector,
        });
        handle
    }
}

impl ReactorUdp for MemoryReactor {
    /// Binds in memory and calls the protocol's `start_protocol` at once.
    fn listen_udp(
        &self,
        addr: SocketAddr,
        protocol: Box<dyn DatagramProtocol>,
    ) -> Result<DatagramTransport, Failure> {
        self.check_listen(|| Address::udp(addr))?;
        let port = MemoryDatagramPort::start(Address::udp(self.assign_port(addr)), protocol);
        let handle = port.handle();
        self.shared.udp_ports.borrow_mut().push(UdpPort { addr, port });
        Ok(handle)
    }
}

/// The reactor's time is its [`ManualClock`]'s.
impl Clock for MemoryReactor {
    fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    fn schedule(&self, delay: Duration, callback: Box<dyn FnOnce()>) -> DelayedCall {
        self.shared.clock.schedule(delay, callback)
    }
}

impl fmt::Debug for MemoryReactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReactor")
            .field("clock", &self.shared.clock)
            .field("tcp_servers", &self.shared.tcp_servers.borrow().len())
            .field("tcp_clients", &self.shared.tcp_clients.borrow().len())
            .field("unix_servers", &self.shared.unix_servers.borrow().len())
            .field("unix_clients", &self.shared.unix_clients.borrow().len())
            .field("udp_ports", &self.shared.udp_ports.borrow().len())
            .finish()
    }
}

#[cfg(test)]
#[path = "memory_reactor_tests.rs"]
mod tests;
