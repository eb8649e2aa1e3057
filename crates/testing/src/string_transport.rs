//! [`StringTransport`]: a transport that records what a protocol writes
//! (Twisted's `proto_helpers.StringTransport`).
//!
//! Nothing is ever sent: every write lands in a buffer the test reads with
//! [`value`](StringTransport::value) and empties with
//! [`clear`](StringTransport::clear) or [`take`](StringTransport::take).
//! Emptying the buffer counts as the buffer having been flushed to the
//! network, so producers registered on the transport behave as they would on
//! a socket whose peer has just read everything: a paused push producer is
//! resumed and a pull producer is asked for its next chunk.
//!
//! The transport never calls the protocol: `lose_connection` only records the
//! request, exactly as the re-entrancy contract of
//! [`Transport`] demands. Pair it with a protocol through
//! [`StringTransportWithDisconnection`](crate::StringTransportWithDisconnection)
//! to have `connection_lost` delivered for you.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;

use gyre_core::Failure;
use gyre_core::address::Address;
use gyre_core::capability::{Capability, CapabilityRequest};
use gyre_core::producer::{Producer, WaterMarks};
use gyre_core::transport::{ConnectionState, Transport, TransportBackend};

use crate::backend_core::{BackendCore, delegate_to_backend_core};

/// The host address of [`StringTransport::new`]: `tcp:127.0.0.1:8000`.
pub fn default_host() -> Address {
    Address::tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)))
}

/// The peer address of [`StringTransport::new`]: `tcp:127.0.0.1:54321`.
pub fn default_peer() -> Address {
    Address::tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 54321)))
}

/// An in-memory transport that records writes and close requests.
///
/// Clones share one transport, so a test can keep one while the protocol
/// holds the [`Transport`] handle from [`handle`](Self::handle).
///
/// ```
/// use gyre_testing::StringTransport;
///
/// let string = StringTransport::new();
/// let transport = string.handle();
/// transport.write(b"220 ready\r\n");
/// assert_eq!(string.take(), b"220 ready\r\n");
/// transport.lose_connection();
/// transport.write(b"221 bye\r\n"); // still recorded, as in Twisted
/// assert!(string.is_disconnecting());
/// assert_eq!(string.value(), b"221 bye\r\n");
/// ```
#[derive(Clone, Default)]
pub struct StringTransport {
    inner: Rc<StringTransportState>,
}

/// The shared state; the [`TransportBackend`] behind every handle.
struct StringTransportState {
    written: RefCell<Vec<u8>>,
    disconnecting: Cell<bool>,
    aborted: Cell<bool>,
    write_closed: Cell<bool>,
    /// Addresses, connection state, reading, producer and capabilities.
    core: BackendCore,
}

impl Default for StringTransportState {
    fn default() -> Self {
        StringTransportState::new(default_host(), default_peer())
    }
}

impl StringTransportState {
    fn new(host: Address, peer: Address) -> Self {
        StringTransportState {
            written: RefCell::default(),
            disconnecting: Cell::new(false),
            aborted: Cell::new(false),
            write_closed: Cell::new(false),
            core: BackendCore::new(host, peer),
        }
    }

    /// Empties the buffer and tells the producer, with no borrow held.
    fn drain(&self) -> Vec<u8> {
        let data = std::mem::take(&mut *self.written.borrow_mut());
        self.core.flow.after_flush(0);
        data
    }
}

impl StringTransport {
    /// A transport between the default addresses ([`default_host`] and [`default_peer`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A transport whose `host()` and `peer()` answer these addresses, for
    /// protocols that log or check them.
    pub fn with_addresses(host: Address, peer: Address) -> Self {
        StringTransport {
            inner: Rc::new(StringTransportState::new(host, peer)),
        }
    }

    /// A handle to give the protocol. Every handle of one `StringTransport`
    /// is the same connection ([`Transport::ptr_eq`] holds between them).
    pub fn handle(&self) -> Transport {
        Transport::new(self.inner.clone())
    }

    /// Everything written and not yet cleared.
    pub fn value(&self) -> Vec<u8> {
        self.inner.written.borrow().clone()
    }

    /// Returns everything written and empties the buffer; like [`clear`](Self::clear),
    /// this counts as the buffer being flushed.
    pub fn take(&self) -> Vec<u8> {
        self.inner.drain()
    }

    /// Empties the buffer. This counts as the buffer being flushed: a push
    /// producer paused by a full buffer is resumed and a pull producer is
    /// asked for more, which is how a test steps a producer along.
    pub fn clear(&self) {
        self.inner.drain();
    }

    /// Whether `lose_connection` or `abort_connection` was called (Twisted's
    /// `disconnecting`, which `abortConnection` also sets).
    pub fn is_disconnecting(&self) -> bool {
        self.inner.disconnecting.get()
    }

    /// Whether `abort_connection` was called.
    pub fn is_aborted(&self) -> bool {
        self.inner.aborted.get()
    }

    /// Whether `lose_write_connection` was called.
    pub fn is_write_closed(&self) -> bool {
        self.inner.write_closed.get()
    }

    /// Whether the protocol paused reading and has not resumed.
    pub fn is_reading_paused(&self) -> bool {
        self.inner.core.reading_paused.get()
    }

    /// Where the connection is: `Open`, `Closing` after `lose_connection`,
    /// `Closed` after `abort_connection` or [`set_closed`](Self::set_closed).
    pub fn state(&self) -> ConnectionState {
        self.inner.core.connection.get()
    }

    /// The registered producer, if any.
    pub fn producer(&self) -> Option<Producer> {
        self.inner.core.flow.producer()
    }

    /// Whether the registered push producer is paused because the buffer
    /// went over the high-water mark.
    pub fn is_producer_paused(&self) -> bool {
        self.inner.core.flow.is_paused()
    }

    /// The water marks in effect.
    pub fn water_marks(&self) -> WaterMarks {
        self.inner.core.flow.water_marks()
    }

    /// Makes the transport answer capability `C` with clones of `value`, so a
    /// test can play the part of a TLS layer (peer certificates, ALPN) or a
    /// Unix socket (peer credentials). A later call for the same `C` replaces
    /// the value.
    pub fn provide_capability<C: Capability>(&self, value: C::Value)
    where
        C::Value: Clone,
    {
        self.inner.core.capabilities.provide::<C>(value);
    }

    /// Simulates the connection having ended: the state becomes `Closed`,
    /// later writes are dropped and the producer is told to stop. The
    /// protocol is not told; that is the caller's job (or use
    /// [`StringTransportWithDisconnection`](crate::StringTransportWithDisconnection)).
    pub fn set_closed(&self) {
        self.inner.core.end();
    }
}

impl TransportBackend for StringTransportState {
    fn write(&self, data: &[u8]) {
        let dropped = self.aborted.get() || self.write_closed.get() || self.core.is_closed();
        if dropped {
            return;
        }
        let buffered = {
            let mut written = self.written.borrow_mut();
            written.extend_from_slice(data);
            written.len()
        };
        self.core.flow.after_write(buffered);
    }

    fn lose_connection(&self) {
        self.disconnecting.set(true);
        if self.core.connection.get() == ConnectionState::Open {
            self.core.connection.set(ConnectionState::Closing);
        }
    }

    fn abort_connection(&self) {
        self.aborted.set(true);
        self.disconnecting.set(true);
        self.core.end();
    }

    fn lose_write_connection(&self) {
        self.write_closed.set(true);
    }

    /// Everything written is "buffered": nothing is ever sent.
    fn buffered_len(&self) -> usize {
        self.written.borrow().len()
    }

    fn kind(&self) -> &'static str {
        "string"
    }

    delegate_to_backend_core!(core);
}

/// `StringTransport` is itself a backend, for wrappers (TLS, framing
/// adapters) that want to stack on it; it forwards to the shared state.
impl TransportBackend for StringTransport {
    fn write(&self, data: &[u8]) {
        self.inner.write(data);
    }
    fn lose_connection(&self) {
        self.inner.lose_connection();
    }
    fn abort_connection(&self) {
        self.inner.abort_connection();
    }
    fn lose_write_connection(&self) {
        self.inner.lose_write_connection();
    }
    fn peer(&self) -> Address {
        self.inner.peer()
    }
    fn host(&self) -> Address {
        self.inner.host()
    }
    fn pause_reading(&self) {
        self.inner.pause_reading();
    }
    fn resume_reading(&self) {
        self.inner.resume_reading();
    }
    fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        self.inner.register_producer(producer)
    }
    fn unregister_producer(&self) {
        self.inner.unregister_producer();
    }
    fn set_water_marks(&self, marks: WaterMarks) {
        self.inner.set_water_marks(marks);
    }
    fn buffered_len(&self) -> usize {
        self.inner.buffered_len()
    }
    fn state(&self) -> ConnectionState {
        self.inner.state()
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        self.inner.capability(request);
    }
}

impl fmt::Debug for StringTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StringTransport")
            .field("value", &self.inner.written.borrow().escape_ascii().to_string())
            .field("state", &self.inner.core.connection.get())
            .field("disconnecting", &self.is_disconnecting())
            .field("aborted", &self.is_aborted())
            .field("write_closed", &self.is_write_closed())
            .finish()
    }
}

#[cfg(test)]
#[path = "string_transport_tests.rs"]
mod tests;
