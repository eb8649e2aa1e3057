//! The endpoint contracts ([`ServerEndpoint`], [`ClientEndpoint`]), the
//! handle a successful connect gives ([`Connection`], [`Connected`]), and
//! [`dial`], the one piece that turns a reactor connector into a
//! cancellable `Deferred<Connection>`.
//!
//! Endpoints take a plain [`SharedFactory`] on both sides, as Twisted's
//! take an `IProtocolFactory`: the endpoint owns the client-side
//! bookkeeping (how the attempt went) so the factory only builds protocols.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::address::Address;
use gyre_core::connector::{Connector, ListeningPort};
use gyre_core::deferred::Deferred;
use gyre_core::{
    ClientFactory, Factory, Failure, Protocol, Resolver, SharedClientFactory, SharedFactory, Transport,
};

use crate::errors::NoProtocol;

/// Something that can listen (Twisted's `IStreamServerEndpoint`).
pub trait ServerEndpoint {
    /// Starts listening; the Deferred fires with the port, or fails with
    /// `CannotListen` (or the reason the endpoint could not be set up).
    fn listen(&self, factory: SharedFactory) -> Deferred<ListeningPort>;
}

/// Something that can connect (Twisted's `IStreamClientEndpoint`).
pub trait ClientEndpoint {
    /// Connects and runs a protocol built by `factory`. The Deferred fires
    /// once the protocol's `connection_made` ran, with a handle to the
    /// connection; cancelling it before then abandons the attempt.
    fn connect(&self, factory: SharedFactory) -> Deferred<Connection>;
}

/// A connection an endpoint made: the transport its protocol runs on.
/// For a TLS endpoint this is the TLS transport (peer certificates, ALPN).
#[derive(Clone, Debug)]
pub struct Connection {
    transport: Transport,
}

impl Connection {
    /// Wraps the transport a protocol was connected to.
    pub fn new(transport: Transport) -> Self {
        Connection { transport }
    }

    /// The transport: write to it, close it, ask it capabilities.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The address of the other side.
    pub fn peer(&self) -> Address {
        self.transport.peer()
    }
}

/// What [`connect_protocol`] gives: the caller's own protocol, shared with
/// the transport that drives it, and that transport.
///
/// Borrow the protocol between callbacks (from timers, other connections,
/// test code); borrowing it from inside its own callbacks would panic, as
/// any `RefCell` double borrow does.
pub struct Connected<P> {
    /// The protocol passed to `connect_protocol`.
    pub protocol: Rc<RefCell<P>>,
    /// The transport it runs on.
    pub transport: Transport,
}

/// Runs a protocol stored in an `Rc<RefCell<_>>`, so its creator keeps a handle.
struct SharedProtocol<P>(Rc<RefCell<P>>);

impl<P: Protocol> Protocol for SharedProtocol<P> {
    fn connection_made(&mut self, transport: &Transport) {
        self.0.borrow_mut().connection_made(transport);
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.0.borrow_mut().data_received(transport, data);
    }
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        self.0.borrow_mut().connection_lost(transport, reason);
    }
    fn read_connection_lost(&mut self, transport: &Transport) {
        self.0.borrow_mut().read_connection_lost(transport);
    }
    fn write_connection_lost(&mut self, transport: &Transport) {
        self.0.borrow_mut().write_connection_lost(transport);
    }
    #[cfg(unix)]
    fn file_descriptors_received(&mut self, transport: &Transport, fds: Vec<std::os::fd::OwnedFd>) {
        self.0.borrow_mut().file_descriptors_received(transport, fds);
    }
}

/// Connects `protocol` itself through `endpoint` (Twisted's
/// `connectProtocol`), keeping a handle to it.
pub fn connect_protocol<P: Protocol>(endpoint: &dyn ClientEndpoint, protocol: P) -> Deferred<Connected<P>> {
    let shared = Rc::new(RefCell::new(protocol));
    let mut once = Some(shared.clone());
    let factory = SharedFactory::new(gyre_core::protocol_factory(move |_: &Address| {
        // An endpoint builds at most one protocol per connect.
        SharedProtocol(once.take().expect("connect_protocol builds one protocol"))
    }));
    endpoint.connect(factory).map(move |connection| Connected {
        protocol: shared,
        transport: connection.transport,
    })
}

/// Wraps a protocol so the endpoint's Deferred fires when it is connected.
pub(crate) struct Notify {
    inner: Box<dyn Protocol>,
    resolver: Option<Resolver<Connection>>,
}

impl Notify {
    pub(crate) fn new(inner: Box<dyn Protocol>, resolver: Resolver<Connection>) -> Self {
        Notify {
            inner,
            resolver: Some(resolver),
        }
    }
}

impl Protocol for Notify {
    fn connection_made(&mut self, transport: &Transport) {
        self.inner.connection_made(transport);
        if let Some(resolver) = self.resolver.take() {
            if resolver.is_fired() {
                // The caller cancelled while the connection was being made.
                transport.abort_connection();
            } else {
                resolver.callback(Connection::new(transport.clone()));
            }
        }
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.inner.data_received(transport, data);
    }
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        self.inner.connection_lost(transport, reason);
    }
    fn read_connection_lost(&mut self, transport: &Transport) {
        self.inner.read_connection_lost(transport);
    }
    fn write_connection_lost(&mut self, transport: &Transport) {
        self.inner.write_connection_lost(transport);
    }
    #[cfg(unix)]
    fn file_descriptors_received(&mut self, transport: &Transport, fds: Vec<std::os::fd::OwnedFd>) {
        self.inner.file_descriptors_received(transport, fds);
    }
}

/// Fires `resolver` unless it already fired (after a cancellation).
pub(crate) fn fire_once<T: 'static>(resolver: &Resolver<T>, result: Result<T, Failure>) {
    if !resolver.is_fired() {
        resolver.fire(result);
    }
}

/// A protocol wrapper applied between the user's protocol and the wire
/// (TLS). It may fail (a bad server name), which fails the attempt.
pub type ProtocolWrapper = Rc<dyn Fn(Box<dyn Protocol>) -> Result<Box<dyn Protocol>, Failure>>;

/// The client factory of one attempt: builds the user's protocol once,
/// wrapped, and reports the outcome to the attempt's resolver.
struct Attempt {
    factory: SharedFactory,
    resolver: Resolver<Connection>,
    wrap: Option<ProtocolWrapper>,
}

impl Factory for Attempt {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        if self.resolver.is_fired() {
            return None;
        }
        let Some(protocol) = self.factory.build_protocol(peer) else {
            self.resolver.errback(NoProtocol::new());
            return None;
        };
        let notified: Box<dyn Protocol> = Box::new(Notify::new(protocol, self.resolver.clone()));
        match &self.wrap {
            None => Some(notified),
            Some(wrap) => match wrap(notified) {
                Ok(wrapped) => Some(wrapped),
                Err(failure) => {
                    self.resolver.errback(failure);
                    None
                }
            },
        }
    }
    fn start_factory(&mut self) {
        self.factory.do_start();
    }
    fn stop_factory(&mut self) {
        self.factory.do_stop();
    }
}

impl ClientFactory for Attempt {
    fn client_connection_failed(&mut self, _: &Connector, reason: Failure) {
        fire_once(&self.resolver, Err(reason));
    }
    fn client_connection_lost(&mut self, _: &Connector, reason: Failure) {
        // Lost before connection_made (a TLS handshake failing, say).
        fire_once(&self.resolver, Err(reason));
    }
}

/// Starts one connection attempt with `start` (a reactor's `connect_*`)
/// and returns its Deferred. Cancelling it stops the connector; `wrap`
/// goes between the user's protocol and the transport.
pub fn dial(
    factory: SharedFactory,
    wrap: Option<ProtocolWrapper>,
    start: impl FnOnce(SharedClientFactory) -> Connector,
) -> Deferred<Connection> {
    let connector: Rc<RefCell<Option<Connector>>> = Rc::default();
    let cancel_connector = connector.clone();
    let (deferred, resolver) = Deferred::with_canceller(move |_| {
        let started = cancel_connector.borrow_mut().take();
        if let Some(connector) = started {
            connector.stop_connecting();
        }
    });
    let attempt = SharedClientFactory::new(Attempt {
        factory,
        resolver: resolver.clone(),
        wrap,
    });
    let started = start(attempt);
    if !resolver.is_fired() {
        *connector.borrow_mut() = Some(started);
    }
    // Drop the connector handle once the outcome is known, breaking the
    // cycle connector → factory → resolver → canceller → connector.
    deferred.inspect(move |_| {
        connector.borrow_mut().take();
    })
}

/// A Deferred of a listen call's result.
pub(crate) fn listened(result: Result<ListeningPort, Failure>) -> Deferred<ListeningPort> {
    match result {
        Ok(port) => Deferred::succeed(port),
        Err(failure) => Deferred::fail(failure),
    }
}
