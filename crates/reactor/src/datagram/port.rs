//! [`DatagramPort`]: one datagram socket (UDP or Unix) and the protocol on
//! it. This is the `DatagramBackend` the reactor gives datagram protocols.
//!
//! Reading is edge triggered: each event reads until `WouldBlock`, at most
//! [`MAX_DATAGRAMS_PER_EVENT`] datagrams, and continues at the end of the
//! turn when more may be queued. Writing is immediate (a datagram is one
//! `sendto`); the socket is registered for reading only, so no `epoll_ctl`
//! is ever made after registration.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::IpAddr;
use std::rc::{Rc, Weak};

use gyre_core::address::{Address, UnixAddress};
use gyre_core::datagram::{DatagramBackend, DatagramProtocol, DatagramTransport};
use gyre_core::errors::{ConnectionRefused, NotSupportedByTransport, TransportClosed};
use gyre_core::{Deferred, Failure, Resolver};
use mio::{Interest, Token};
use socket2::SockRef;

use super::{DatagramTooLarge, multicast};
use crate::reactor::{Reactor, WeakReactor};
use crate::sources::{Readiness, Source};

/// Datagrams read per readiness event before yielding to other sources.
const MAX_DATAGRAMS_PER_EVENT: usize = 64;

/// What a datagram socket type must offer.
pub(super) trait DatagramSocket: 'static {
    /// Short name for messages and `DatagramBackend::kind`.
    const KIND: &'static str;
    /// The mio socket the reactor registers.
    type Io: mio::event::Source;
    /// The mio socket, to register and deregister it.
    fn io_mut(&mut self) -> &mut Self::Io;
    /// Receives one datagram into `buf` and returns its full length (larger
    /// than `buf` when it was truncated). Its sender goes into `from`, which
    /// holds the previous datagram's sender: an address that allocates is
    /// kept as it is when the sender is the same.
    fn recv_from(&self, buf: &mut [u8], from: &mut Address) -> io::Result<usize>;
    /// Sends one datagram to `to` (`InvalidInput` for an address of the wrong kind).
    fn send_to(&self, data: &[u8], to: &Address) -> io::Result<usize>;
    /// Sends one datagram to the connected peer.
    fn send(&self, data: &[u8]) -> io::Result<usize>;
    /// Fixes the peer.
    fn connect(&self, to: &Address) -> io::Result<()>;
    /// The socket for IP-level options (multicast, broadcast), when it has them.
    fn ip_socket(&self) -> Option<SockRef<'_>> {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortState {
    Open,
    /// Closed; `stop_protocol` is queued.
    Stopping,
    Stopped,
}

pub(super) struct DatagramPort<S: DatagramSocket> {
    me: Weak<Self>,
    reactor: WeakReactor,
    token: Cell<Option<Token>>,
    socket: RefCell<Option<S>>,
    protocol: RefCell<Option<Box<dyn DatagramProtocol>>>,
    host: Address,
    peer: RefCell<Option<Address>>,
    state: Cell<PortState>,
    stop_waiters: RefCell<Vec<Resolver<()>>>,
    read_scheduled: Cell<bool>,
    refused_scheduled: Cell<bool>,
    /// The last datagram's sender, kept between reads so that datagrams
    /// from the same Unix socket do not allocate its address each time.
    last_sender: RefCell<Address>,
}

impl<S: DatagramSocket> DatagramPort<S> {
    /// Registers `socket` and calls the protocol's `start_protocol`.
    pub(super) fn start(
        reactor: &Reactor,
        mut socket: S,
        host: Address,
        peer: Option<Address>,
        protocol: Box<dyn DatagramProtocol>,
    ) -> io::Result<DatagramTransport> {
        let port = Rc::new_cyclic(|me| DatagramPort {
            me: me.clone(),
            reactor: reactor.downgrade(),
            token: Cell::new(None),
            socket: RefCell::new(None),
            protocol: RefCell::new(Some(protocol)),
            host,
            peer: RefCell::new(peer),
            state: Cell::new(PortState::Open),
            stop_waiters: RefCell::default(),
            read_scheduled: Cell::new(false),
            refused_scheduled: Cell::new(false),
            last_sender: RefCell::new(Address::Unix(UnixAddress::Unnamed)),
        });
        let token = reactor.register(socket.io_mut(), port.clone(), Interest::READABLE)?;
        port.token.set(Some(token));
        *port.socket.borrow_mut() = Some(socket);
        port.with_protocol(|protocol, transport| protocol.start_protocol(transport));
        Ok(port.transport())
    }

    fn transport(&self) -> DatagramTransport {
        DatagramTransport::new(
            self.me
                .upgrade()
                .expect("a datagram port is only used while alive"),
        )
    }

    fn with_protocol(&self, f: impl FnOnce(&mut dyn DatagramProtocol, &DatagramTransport)) {
        let transport = self.transport();
        let Ok(mut slot) = self.protocol.try_borrow_mut() else {
            tracing::error!(target: "gyre::reactor", port = %self.host,
                "datagram protocol re-entered; event dropped");
            return;
        };
        if let Some(protocol) = slot.as_mut() {
            f(protocol.as_mut(), &transport);
        }
    }

    fn is_open(&self) -> bool {
        self.state.get() == PortState::Open
    }

    fn closed_error(&self) -> Failure {
        Failure::new(TransportClosed::new()).context(format!("the datagram socket {} is closed", self.host))
    }

    fn read(&self) {
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        let mut buffer = reactor.take_read_buffer();
        // Taken out for the loop (a nested read starts from a placeholder).
        let mut from = self.last_sender.replace(Address::Unix(UnixAddress::Unnamed));
        let mut drained = false;
        for _ in 0..MAX_DATAGRAMS_PER_EVENT {
            let received = match self.socket.borrow().as_ref() {
                Some(socket) => socket.recv_from(&mut buffer, &mut from),
                None => break,
            };
            match received {
                Ok(len) if len > buffer.len() => {
                    tracing::warn!(target: "gyre::reactor", port = %self.host, %from, len,
                        "datagram larger than the read buffer dropped");
                }
                Ok(len) => {
                    self.with_protocol(|protocol, transport| {
                        protocol.datagram_received(transport, &buffer[..len], &from);
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    drained = true;
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                    self.with_protocol(|protocol, transport| protocol.connection_refused(transport));
                }
                Err(error) => {
                    // ICMP errors (host or network unreachable) on a connected
                    // socket: reported once by the kernel; the socket stays usable.
                    tracing::debug!(target: "gyre::reactor", port = %self.host, %error,
                        "datagram receive error");
                }
            }
        }
        reactor.put_read_buffer(buffer);
        *self.last_sender.borrow_mut() = from;
        if !drained && self.is_open() && !self.read_scheduled.replace(true) {
            let me = self.me.clone();
            reactor.call_soon(move || {
                if let Some(port) = me.upgrade() {
                    port.read_scheduled.set(false);
                    if port.is_open() {
                        port.read();
                    }
                }
            });
        }
    }

    /// Turns the result of a send into what `write_to`/`write` return.
    fn sent(&self, result: io::Result<usize>, size: usize, to: Option<&Address>) -> Result<(), Failure> {
        let error = match result {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        if error.kind() == io::ErrorKind::WouldBlock
            || error.raw_os_error() == Some(rustix::io::Errno::NOBUFS.raw_os_error())
        {
            // The socket buffer (or the receiver's queue) is full: the
            // datagram is dropped, as a congested network would drop it.
            tracing::trace!(target: "gyre::reactor", port = %self.host, size,
                "datagram dropped: buffer full");
            return Ok(());
        }
        if error.raw_os_error() == Some(rustix::io::Errno::MSGSIZE.raw_os_error()) {
            return Err(Failure::new(DatagramTooLarge::new(size, to.cloned(), error)));
        }
        if error.kind() == io::ErrorKind::ConnectionRefused && self.peer.borrow().is_some() {
            // An earlier datagram to the connected peer was refused.
            self.schedule_refused();
            return Ok(());
        }
        let context = match to {
            Some(to) => format!("sending a datagram to {to}"),
            None => "sending a datagram to the connected peer".to_owned(),
        };
        Err(Failure::new(error).context(context))
    }

    /// Delivers `connection_refused` at the end of the turn: never from
    /// inside the protocol's own call to `write`.
    fn schedule_refused(&self) {
        if self.refused_scheduled.replace(true) {
            return;
        }
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        let me = self.me.clone();
        reactor.call_soon(move || {
            if let Some(port) = me.upgrade() {
                port.refused_scheduled.set(false);
                if port.is_open() {
                    port.with_protocol(|protocol, transport| protocol.connection_refused(transport));
                }
            }
        });
    }

    /// Closes the socket now and queues `stop_protocol`.
    fn close(&self) {
        if self.state.get() != PortState::Open {
            return;
        }
        self.state.set(PortState::Stopping);
        let reactor = self.reactor.upgrade();
        if let Some(mut socket) = self.socket.borrow_mut().take()
            && let (Some(reactor), Some(token)) = (&reactor, self.token.take())
        {
            reactor.deregister(socket.io_mut(), token);
        }
        match reactor {
            Some(reactor) => {
                let me = self
                    .me
                    .upgrade()
                    .expect("a datagram port is only used while alive");
                reactor.call_soon(move || me.finish_stop());
            }
            // No loop left to defer to, so no callback of it can be running.
            None => self.finish_stop(),
        }
    }

    fn finish_stop(&self) {
        self.state.set(PortState::Stopped);
        let protocol = self.protocol.borrow_mut().take();
        if let Some(mut protocol) = protocol {
            protocol.stop_protocol();
        }
        let waiters = std::mem::take(&mut *self.stop_waiters.borrow_mut());
        for waiter in waiters {
            waiter.callback(());
        }
    }

    fn ip_option(
        &self,
        what: &'static str,
        f: impl FnOnce(&SockRef<'_>) -> io::Result<()>,
    ) -> Result<(), Failure> {
        let socket = self.socket.borrow();
        let Some(socket) = socket.as_ref() else {
            return Err(self.closed_error());
        };
        let Some(ip) = socket.ip_socket() else {
            return Err(Failure::new(NotSupportedByTransport::new(what, S::KIND)));
        };
        f(&ip).map_err(|error| Failure::new(error).context(format!("setting {what} on {}", self.host)))
    }
}

impl<S: DatagramSocket> Source for DatagramPort<S> {
    fn ready(self: Rc<Self>, readiness: Readiness) {
        if self.is_open() && (readiness.readable || readiness.error || readiness.read_closed) {
            self.read();
        }
    }

    fn shutdown(self: Rc<Self>) {
        self.close();
    }
}

impl<S: DatagramSocket> DatagramBackend for DatagramPort<S> {
    fn write_to(&self, data: &[u8], to: &Address) -> Result<(), Failure> {
        let result = match self.socket.borrow().as_ref() {
            Some(socket) => retry_interrupted(|| socket.send_to(data, to)),
            None => return Err(self.closed_error()),
        };
        self.sent(result, data.len(), Some(to))
    }

    /// Fails with `NotConnected` when no peer was fixed with `connect`.
    fn write(&self, data: &[u8]) -> Result<(), Failure> {
        if self.peer.borrow().is_none() {
            let error = io::Error::new(
                io::ErrorKind::NotConnected,
                "write needs a peer fixed with connect",
            );
            return Err(Failure::new(error).context(format!("writing on {}", self.host)));
        }
        let result = match self.socket.borrow().as_ref() {
            Some(socket) => retry_interrupted(|| socket.send(data)),
            None => return Err(self.closed_error()),
        };
        self.sent(result, data.len(), None)
    }

    fn connect(&self, to: &Address) -> Result<(), Failure> {
        let result = match self.socket.borrow().as_ref() {
            Some(socket) => socket.connect(to),
            None => return Err(self.closed_error()),
        };
        result.map_err(|error| connect_failure(error, &self.host, to))?;
        *self.peer.borrow_mut() = Some(to.clone());
        Ok(())
    }

    fn host(&self) -> Address {
        self.host.clone()
    }

    fn peer(&self) -> Option<Address> {
        self.peer.borrow().clone()
    }

    /// Closes the socket at once; `stop_protocol` runs at the end of the
    /// turn and the Deferred fires after it. Calling it again returns a
    /// Deferred that fires at the same point (or at once when stopped).
    fn stop_listening(&self) -> Deferred<()> {
        self.close();
        if self.state.get() == PortState::Stopped {
            return Deferred::succeed(());
        }
        let (deferred, resolver) = Deferred::new();
        self.stop_waiters.borrow_mut().push(resolver);
        deferred
    }

    fn kind(&self) -> &'static str {
        S::KIND
    }

    fn join_group(&self, group: IpAddr, interface: IpAddr) -> Result<(), Failure> {
        self.ip_option("multicast", |socket| multicast::join(socket, group, interface))
    }

    fn leave_group(&self, group: IpAddr, interface: IpAddr) -> Result<(), Failure> {
        self.ip_option("multicast", |socket| multicast::leave(socket, group, interface))
    }

    fn set_multicast_loopback(&self, enabled: bool) -> Result<(), Failure> {
        self.ip_option("multicast", |socket| multicast::set_loopback(socket, enabled))
    }

    fn set_multicast_ttl(&self, ttl: u32) -> Result<(), Failure> {
        self.ip_option("multicast", |socket| multicast::set_ttl(socket, ttl))
    }

    fn set_multicast_interface(&self, interface: IpAddr) -> Result<(), Failure> {
        self.ip_option("multicast", |socket| multicast::set_interface(socket, interface))
    }

    fn set_broadcast_allowed(&self, enabled: bool) -> Result<(), Failure> {
        self.ip_option("broadcast", |socket| socket.set_broadcast(enabled))
    }
}

/// What a failed `connect` reports: `ConnectionRefused` when nothing is
/// bound at `to` (Unix sockets refuse at once; a missing socket file is the
/// same answer), the system's error otherwise.
pub(super) fn connect_failure(error: io::Error, host: &Address, to: &Address) -> Failure {
    let context = format!("connecting {host} to {to}");
    match error.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound => {
            Failure::new(ConnectionRefused::new()).context(format!("{context}: {error}"))
        }
        _ => Failure::new(error).context(context),
    }
}

fn retry_interrupted(mut send: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match send() {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}
