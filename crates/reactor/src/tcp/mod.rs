//! TCP: listening ports, outgoing connectors, and the stream socket glue.
//!
//! Sockets are made with socket2 so every option is set before `bind` or
//! `connect` (`SO_REUSEADDR` always, `SO_REUSEPORT` on request, `TCP_NODELAY`
//! on by default, keepalive on request), then handed to mio. What is not
//! TCP-specific is shared with Unix sockets: the accept loop
//! (`stream_port.rs`, fed by the `TcpAcceptor` in `listener.rs`), the
//! connect state machine (`stream_connector.rs`, fed by the dialer in
//! `connector.rs`) and the connection itself (`stream.rs`, through the
//! `StreamSocket` impl below).
//!
//! ```text
//! listen_tcp_with ─► listener.rs: bind, listen ─► stream_port ─► accept ─┐
//! connect_tcp_with ─► connector.rs: socket, connect ─► stream_connector ─┴► StreamConnection
//! ```

mod connector;
mod listener;

pub(crate) use listener::TcpAcceptor;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use gyre_core::capability::{Capability, CapabilityRequest};
use gyre_core::connector::{Connector, ListeningPort};
use gyre_core::interfaces::ReactorTcp;
use gyre_core::{Failure, SharedClientFactory, SharedFactory};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::Reactor;
use crate::stream::{ReceivedExtras, StreamSocket};

/// Options for [`Reactor::listen_tcp_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListenOptions {
    /// Length of the queue of connections not yet accepted (default 50, as in Twisted).
    pub backlog: u32,
    /// Set `SO_REUSEPORT`, so several sockets (one per worker thread) can
    /// listen on one port and the kernel spreads connections among them.
    pub reuse_port: bool,
    /// For IPv6 addresses: accept only IPv6 (`IPV6_V6ONLY`). Default false
    /// (the system's dual-stack behaviour).
    pub ipv6_only: bool,
    /// Disable Nagle's algorithm on accepted connections (default true; see
    /// [`TcpNoDelay`]).
    pub nodelay: bool,
    /// Enable TCP keepalive probes on accepted connections after this much
    /// idle time.
    pub keepalive: Option<Duration>,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            backlog: 50,
            reuse_port: false,
            ipv6_only: false,
            nodelay: true,
            keepalive: None,
        }
    }
}

impl ListenOptions {
    /// Sets the backlog.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Enables `SO_REUSEPORT`.
    pub fn reuse_port(mut self, enabled: bool) -> Self {
        self.reuse_port = enabled;
        self
    }

    /// Sets `IPV6_V6ONLY`.
    pub fn ipv6_only(mut self, enabled: bool) -> Self {
        self.ipv6_only = enabled;
        self
    }

    /// Sets `TCP_NODELAY` on accepted connections.
    pub fn nodelay(mut self, enabled: bool) -> Self {
        self.nodelay = enabled;
        self
    }

    /// Enables keepalive on accepted connections after `idle`.
    pub fn keepalive(mut self, idle: Duration) -> Self {
        self.keepalive = Some(idle);
        self
    }
}

/// Options for [`Reactor::connect_tcp_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Give up after this long with `TimedOut` (default 30 s, as in Twisted).
    pub timeout: Duration,
    /// Bind the local end to this address first.
    pub bind_address: Option<SocketAddr>,
    /// Disable Nagle's algorithm (default true: small writes go out at once;
    /// gyre already coalesces the writes of one loop turn).
    pub nodelay: bool,
    /// Enable TCP keepalive probes after this much idle time.
    pub keepalive: Option<Duration>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            timeout: Duration::from_secs(30),
            bind_address: None,
            nodelay: true,
            keepalive: None,
        }
    }
}

impl ConnectOptions {
    /// Sets the connect timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Binds the local end first.
    pub fn bind_address(mut self, address: SocketAddr) -> Self {
        self.bind_address = Some(address);
        self
    }

    /// Sets `TCP_NODELAY`.
    pub fn nodelay(mut self, enabled: bool) -> Self {
        self.nodelay = enabled;
        self
    }

    /// Enables keepalive after `idle`.
    pub fn keepalive(mut self, idle: Duration) -> Self {
        self.keepalive = Some(idle);
        self
    }
}

/// Capability: whether Nagle's algorithm is off (`TCP_NODELAY`) on a TCP
/// connection, Twisted's `getTcpNoDelay`. gyre turns it off on every
/// connection by default because it already coalesces each turn's writes
/// into one `send`; Nagle would only delay the reply a protocol just wrote.
///
/// ```no_run
/// # fn check(transport: &gyre_core::Transport) {
/// let nodelay = transport.capability::<gyre_reactor::TcpNoDelay>().unwrap();
/// assert!(nodelay);
/// # }
/// ```
pub struct TcpNoDelay;

impl Capability for TcpNoDelay {
    type Value = bool;
    const NAME: &'static str = "TCP_NODELAY setting";
}

/// Capability: whether TCP keepalive probes are on (`SO_KEEPALIVE`, see
/// [`ConnectOptions::keepalive`]), Twisted's `getTcpKeepAlive`.
pub struct TcpKeepAlive;

impl Capability for TcpKeepAlive {
    type Value = bool;
    const NAME: &'static str = "SO_KEEPALIVE setting";
}

impl StreamSocket for mio::net::TcpStream {
    fn recv(&self, buf: &mut [u8], _received: &mut ReceivedExtras) -> io::Result<usize> {
        (&mut &*self).read(buf)
    }

    fn send(&self, data: &[u8]) -> io::Result<usize> {
        (&mut &*self).write(data)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    /// `SO_LINGER` 0: closing sends RST and drops unsent data.
    fn prepare_abort(&self) {
        let _ = SockRef::from(self).set_linger(Some(Duration::ZERO));
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        mio::net::TcpStream::take_error(self)
    }

    fn kind(&self) -> &'static str {
        "tcp"
    }

    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        request
            .provide::<TcpNoDelay>(|| self.nodelay().unwrap_or(false))
            .provide::<TcpKeepAlive>(|| SockRef::from(self).keepalive().unwrap_or(false));
    }
}

pub(crate) fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )
}

impl Reactor {
    /// Listens on `addr` with `options`; see [`ReactorTcp::listen_tcp`].
    pub fn listen_tcp_with(
        &self,
        addr: SocketAddr,
        factory: impl Into<SharedFactory>,
        options: ListenOptions,
    ) -> Result<ListeningPort, Failure> {
        listener::listen(self, addr, factory.into(), options)
    }

    /// Connects to `addr` with `options`; see [`ReactorTcp::connect_tcp`].
    pub fn connect_tcp_with(
        &self,
        addr: SocketAddr,
        factory: impl Into<SharedClientFactory>,
        options: ConnectOptions,
    ) -> Connector {
        connector::connect(self, addr, factory.into(), options)
    }
}

impl ReactorTcp for Reactor {
    fn listen_tcp(
        &self,
        addr: SocketAddr,
        factory: SharedFactory,
        backlog: u32,
    ) -> Result<ListeningPort, Failure> {
        self.listen_tcp_with(addr, factory, ListenOptions::default().backlog(backlog))
    }

    fn listen_tcp_reuse_port(
        &self,
        addr: SocketAddr,
        factory: SharedFactory,
        backlog: u32,
    ) -> Result<ListeningPort, Failure> {
        let options = ListenOptions::default().backlog(backlog).reuse_port(true);
        self.listen_tcp_with(addr, factory, options)
    }

    fn connect_tcp(
        &self,
        addr: SocketAddr,
        factory: SharedClientFactory,
        timeout: Duration,
        bind_address: Option<SocketAddr>,
    ) -> Connector {
        let mut options = ConnectOptions::default().timeout(timeout);
        options.bind_address = bind_address;
        self.connect_tcp_with(addr, factory, options)
    }
}
