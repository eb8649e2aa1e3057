//! [`Transport`]: the cheap, clonable handle through which a protocol talks
//! to its connection.
//!
//! A transport is whatever carries bytes for a protocol: a TCP socket, a TLS
//! session, a Unix socket, a child's pipes, an SSH channel, or the in-memory
//! `StringTransport` of the tests. Implementations provide a
//! [`TransportBackend`]; protocols only ever see the [`Transport`] handle.
//!
//! # The re-entrancy contract
//! Transport methods never call back into the protocol that owns the
//! connection. `lose_connection` called from `data_received` marks the
//! connection as closing; `connection_lost` is delivered later, after the
//! current callback has returned. Writes to a transport whose connection has
//! ended are dropped silently, and [`Transport::is_closed`] says so, which is
//! what a chat server writing to other clients' transports needs.

use std::fmt;
use std::io::IoSlice;
use std::rc::Rc;

use crate::address::Address;
use crate::capability::{Capability, CapabilityRequest};
use crate::errors::NotSupportedByTransport;
use crate::failure::Failure;
use crate::producer::{Producer, PushProducer, WaterMarks};

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Reading and writing.
    Open,
    /// `lose_connection` was called: buffered data is being flushed, then it closes.
    Closing,
    /// Closed; writes are dropped.
    Closed,
}

/// What a transport implementation provides. Protocol code uses [`Transport`].
///
/// Every method takes `&self`: backends are shared between the reactor and
/// any number of `Transport` handles, so they keep their state in `Cell`s and
/// `RefCell`s and must not hold a borrow while calling out (see
/// [`FlowControl`](crate::producer::FlowControl) for producers).
pub trait TransportBackend {
    /// Buffers `data` for sending. Writes after `lose_connection` are still
    /// sent (as in Twisted); they are dropped once the connection is closed or
    /// its write side was shut down.
    fn write(&self, data: &[u8]);
    /// Buffers several slices as one write.
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) {
        for buf in bufs {
            self.write(buf);
        }
    }
    /// Flushes buffered data, then closes; `connection_lost` follows with `ConnectionDone`.
    fn lose_connection(&self);
    /// Drops buffered data and closes now; `connection_lost` follows with `ConnectionAborted`.
    fn abort_connection(&self);
    /// Flushes, then shuts down the write side only (TCP half-close).
    fn lose_write_connection(&self);
    /// The other end's address.
    fn peer(&self) -> Address;
    /// This end's address.
    fn host(&self) -> Address;
    /// Stops delivering `data_received` until `resume_reading`.
    fn pause_reading(&self);
    /// Delivers data again, including data that arrived while paused.
    fn resume_reading(&self);
    /// Registers a producer (see [`FlowControl`](crate::producer::FlowControl)).
    fn register_producer(&self, producer: Producer) -> Result<(), Failure>;
    /// Removes the registered producer, if any.
    fn unregister_producer(&self);
    /// Sets the thresholds at which a push producer is paused and resumed.
    fn set_water_marks(&self, marks: WaterMarks);
    /// Bytes buffered and not yet handed to the operating system.
    fn buffered_len(&self) -> usize;
    /// Where the connection is in its life.
    fn state(&self) -> ConnectionState;
    /// A short name of the kind of transport, for messages ("tcp", "tls", "string").
    fn kind(&self) -> &'static str;
    /// Answers optional capabilities with [`CapabilityRequest::provide`]. The
    /// default answers nothing.
    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        let _ = request;
    }
}

/// A handle to a connection, cheap to clone and keep.
///
/// ```
/// # use gyre_testing::StringTransport;
/// let string = StringTransport::new();
/// let transport = string.handle();
/// transport.write(b"HELLO ");
/// transport.write_all([&b"wor"[..], b"ld\r\n"]);
/// transport.lose_connection();
/// assert_eq!(string.value(), b"HELLO world\r\n");
/// assert!(string.is_disconnecting());
/// ```
#[derive(Clone)]
pub struct Transport {
    backend: Rc<dyn TransportBackend>,
}

impl Transport {
    /// Wraps a backend.
    pub fn new(backend: Rc<dyn TransportBackend>) -> Self {
        Transport { backend }
    }

    /// Buffers `data` for sending; never blocks.
    pub fn write(&self, data: &[u8]) {
        self.backend.write(data);
    }

    /// Buffers several slices as one write, without joining them first.
    pub fn write_vectored(&self, bufs: &[IoSlice<'_>]) {
        self.backend.write_vectored(bufs);
    }

    /// Writes every slice of an iterator, in order (Twisted's `writeSequence`).
    pub fn write_all<'a>(&self, parts: impl IntoIterator<Item = &'a [u8]>) {
        for part in parts {
            self.backend.write(part);
        }
    }

    /// Flushes buffered data, then closes.
    pub fn lose_connection(&self) {
        self.backend.lose_connection();
    }

    /// Drops buffered data and closes now.
    pub fn abort_connection(&self) {
        self.backend.abort_connection();
    }

    /// Flushes, then closes the write side only; the peer sees end of file
    /// and can still send.
    pub fn lose_write_connection(&self) {
        self.backend.lose_write_connection();
    }

    /// The other end's address.
    pub fn peer(&self) -> Address {
        self.backend.peer()
    }

    /// This end's address.
    pub fn host(&self) -> Address {
        self.backend.host()
    }

    /// Stops delivering data until [`resume_reading`](Self::resume_reading).
    pub fn pause_reading(&self) {
        self.backend.pause_reading();
    }

    /// Delivers data again.
    pub fn resume_reading(&self) {
        self.backend.resume_reading();
    }

    /// Registers a producer whose writes this transport regulates. Fails when
    /// one is already registered.
    pub fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        self.backend.register_producer(producer)
    }

    /// Removes the registered producer.
    pub fn unregister_producer(&self) {
        self.backend.unregister_producer();
    }

    /// Sets when a push producer is paused (above `high`) and resumed (at `low`).
    pub fn set_water_marks(&self, marks: WaterMarks) {
        self.backend.set_water_marks(marks);
    }

    /// Bytes buffered and not yet sent.
    pub fn buffered_len(&self) -> usize {
        self.backend.buffered_len()
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> ConnectionState {
        self.backend.state()
    }

    /// Whether the connection has ended; writes are then dropped.
    pub fn is_closed(&self) -> bool {
        self.state() == ConnectionState::Closed
    }

    /// The kind of transport ("tcp", "tls", "string", ...).
    pub fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    /// Asks for an optional capability by type.
    pub fn capability<C: Capability>(&self) -> Result<C::Value, NotSupportedByTransport> {
        CapabilityRequest::ask::<C>(|request| self.backend.capability(request))
            .ok_or_else(|| NotSupportedByTransport::new(C::NAME, self.kind()))
    }

    /// Whether two handles refer to the same connection.
    pub fn ptr_eq(&self, other: &Transport) -> bool {
        Rc::ptr_eq(&self.backend, &other.backend)
    }

    /// The backend, for wrappers that forward to it.
    pub fn backend(&self) -> &Rc<dyn TransportBackend> {
        &self.backend
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("kind", &self.kind())
            .field("peer", &self.peer())
            .field("state", &self.state())
            .finish()
    }
}

/// A transport is itself a push producer of inbound data: registering one
/// connection's transport as the producer of another's makes a slow writer
/// on the second pause reading on the first (what a relay needs).
impl PushProducer for Transport {
    fn pause_producing(&self) {
        self.pause_reading();
    }

    fn resume_producing(&self) {
        self.resume_reading();
    }

    fn stop_producing(&self) {
        self.lose_connection();
    }
}
