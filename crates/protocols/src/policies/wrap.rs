//! The one wrapping mechanism every policy is built on: a [`Policy`] sits
//! between a connection's transport ("below") and a wrapped protocol
//! ("above"), sees every event going up and every call coming down, and may
//! change either.
//!
//! ```text
//!   transport below ──events──▶ Wrapped<W, P> ──policy.data_received…──▶ P (wrapped protocol)
//!        ▲                         │ Rc<W>                                │ writes to
//!        └────policy.write…────── PolicyTransport<W> ◀────────────────────┘ (the "above" transport)
//! ```
//!
//! This is the shape of gyre-tls's `TlsProtocol`, reduced to its plumbing:
//! [`Wrapped`] is a [`Protocol`] towards the transport below and hands the
//! wrapped protocol a transport of its own, whose backend forwards every
//! call to the policy. The policy is shared by both halves (`Rc<W>`), so its
//! hooks take `&self` and keep state in cells, as every transport backend
//! does. A `Wrapped` is itself a `Protocol`, so wrappers nest: the transport
//! one policy sees below is the transport the next policy out hands up.

use std::io::IoSlice;
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::rc::Rc;

use gyre_core::address::Address;
use gyre_core::capability::CapabilityRequest;
use gyre_core::producer::{Producer, WaterMarks};
use gyre_core::transport::{ConnectionState, TransportBackend};
use gyre_core::{Failure, Protocol, Transport};

/// The two transports of a wrapped connection, as a policy's up-going hooks
/// see them.
#[derive(Clone, Copy)]
pub struct Link<'a> {
    below: &'a Transport,
    above: &'a Transport,
}

impl<'a> Link<'a> {
    /// The connection's transport, which the policy talks to.
    pub fn below(&self) -> &'a Transport {
        self.below
    }

    /// The transport the wrapped protocol talks to; writing here goes
    /// through the policy's own [`Policy::write`].
    pub fn above(&self) -> &'a Transport {
        self.above
    }
}

/// What a connection policy may observe or change. Every method has a
/// default that passes the event or call through unchanged, so a policy
/// overrides only what it is about.
///
/// Up-going hooks (`connection_made` … `connection_lost`) run before the
/// wrapped protocol hears the event. Down-going hooks (`write` …
/// `capability`) run when the wrapped protocol calls its transport and
/// receive the transport below. Hooks must follow the transport
/// re-entrancy contract: never call into the wrapped protocol (it is not
/// reachable from here anyway) and hold no `RefCell` borrow while calling
/// the transport below.
pub trait Policy: 'static {
    /// The connection is up; runs before the wrapped protocol's `connection_made`.
    fn connection_made(&self, link: Link<'_>) {
        let _ = link;
    }

    /// Bytes arrived; runs before they are delivered.
    fn data_received(&self, link: Link<'_>, data: &[u8]) {
        let _ = (link, data);
    }

    /// The peer shut down its write side.
    fn read_connection_lost(&self, link: Link<'_>) {
        let _ = link;
    }

    /// Our write side was shut down.
    fn write_connection_lost(&self, link: Link<'_>) {
        let _ = link;
    }

    /// The connection ended. Returns the reason the wrapped protocol hears,
    /// so a policy that closed the connection can say why (an idle timeout
    /// turns `ConnectionDone` into `TimedOut`).
    fn connection_lost(&self, link: Link<'_>, reason: Failure) -> Failure {
        let _ = link;
        reason
    }

    /// The wrapped protocol writes.
    fn write(&self, below: &Transport, bufs: &[IoSlice<'_>]) {
        below.write_vectored(bufs);
    }

    /// The wrapped protocol asks to close after flushing.
    fn lose_connection(&self, below: &Transport) {
        below.lose_connection();
    }

    /// The wrapped protocol asks to close now.
    fn abort_connection(&self, below: &Transport) {
        below.abort_connection();
    }

    /// The wrapped protocol asks to shut down its write side.
    fn lose_write_connection(&self, below: &Transport) {
        below.lose_write_connection();
    }

    /// The wrapped protocol pauses reading.
    fn pause_reading(&self, below: &Transport) {
        below.pause_reading();
    }

    /// The wrapped protocol resumes reading.
    fn resume_reading(&self, below: &Transport) {
        below.resume_reading();
    }

    /// The wrapped protocol registers a producer.
    fn register_producer(&self, below: &Transport, producer: Producer) -> Result<(), Failure> {
        below.register_producer(producer)
    }

    /// The wrapped protocol unregisters its producer.
    fn unregister_producer(&self, below: &Transport) {
        below.unregister_producer();
    }

    /// The wrapped protocol sets water marks.
    fn set_water_marks(&self, below: &Transport, marks: WaterMarks) {
        below.set_water_marks(marks);
    }

    /// Bytes written by the wrapped protocol and not yet sent.
    fn buffered_len(&self, below: &Transport) -> usize {
        below.buffered_len()
    }

    /// The connection state the wrapped protocol sees.
    fn state(&self, below: &Transport) -> ConnectionState {
        below.state()
    }

    /// The peer address the wrapped protocol sees.
    fn peer(&self, below: &Transport) -> Address {
        below.peer()
    }

    /// The local address the wrapped protocol sees.
    fn host(&self, below: &Transport) -> Address {
        below.host()
    }

    /// The transport kind the wrapped protocol sees.
    fn kind(&self, below: &Transport) -> &'static str {
        below.kind()
    }

    /// Answers capability requests; the default asks the transport below.
    fn capability(&self, below: &Transport, request: &mut CapabilityRequest<'_>) {
        below.backend().capability(request);
    }
}

/// The backend of the transport handed to the wrapped protocol: every call
/// goes to the policy with the transport below.
struct PolicyTransport<W> {
    below: Transport,
    policy: Rc<W>,
}

impl<W: Policy> TransportBackend for PolicyTransport<W> {
    fn write(&self, data: &[u8]) {
        self.policy.write(&self.below, &[IoSlice::new(data)]);
    }
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) {
        self.policy.write(&self.below, bufs);
    }
    fn lose_connection(&self) {
        self.policy.lose_connection(&self.below);
    }
    fn abort_connection(&self) {
        self.policy.abort_connection(&self.below);
    }
    fn lose_write_connection(&self) {
        self.policy.lose_write_connection(&self.below);
    }
    fn peer(&self) -> Address {
        self.policy.peer(&self.below)
    }
    fn host(&self) -> Address {
        self.policy.host(&self.below)
    }
    fn pause_reading(&self) {
        self.policy.pause_reading(&self.below);
    }
    fn resume_reading(&self) {
        self.policy.resume_reading(&self.below);
    }
    fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        self.policy.register_producer(&self.below, producer)
    }
    fn unregister_producer(&self) {
        self.policy.unregister_producer(&self.below);
    }
    fn set_water_marks(&self, marks: WaterMarks) {
        self.policy.set_water_marks(&self.below, marks);
    }
    fn buffered_len(&self) -> usize {
        self.policy.buffered_len(&self.below)
    }
    fn state(&self) -> ConnectionState {
        self.policy.state(&self.below)
    }
    fn kind(&self) -> &'static str {
        self.policy.kind(&self.below)
    }
    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        self.policy.capability(&self.below, request);
    }
}

/// A protocol `P` behind policy `W`: the protocol the transport below runs,
/// which hands `P` a transport of its own.
///
/// ```
/// use std::io::IoSlice;
/// use gyre_core::{Protocol, Transport};
/// use gyre_protocols::policies::{Policy, Wrapped};
/// use gyre_testing::StringTransportWithDisconnection;
///
/// /// Upper-cases everything the wrapped protocol writes.
/// struct Shout;
/// impl Policy for Shout {
///     fn write(&self, below: &Transport, bufs: &[IoSlice<'_>]) {
///         for buf in bufs {
///             below.write(&buf.to_ascii_uppercase());
///         }
///     }
/// }
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         transport.write(data);
///     }
/// }
///
/// // A wrapper of a wrapper is still a protocol.
/// let mut conn = StringTransportWithDisconnection::new(Wrapped::new(Shout, Wrapped::new(Shout, Echo)));
/// conn.data_received(b"hello");
/// assert_eq!(conn.value(), b"HELLO");
/// ```
pub struct Wrapped<W: Policy, P: Protocol = Box<dyn Protocol>> {
    policy: Rc<W>,
    inner: P,
    above: Option<Transport>,
    lost: bool,
}

impl<W: Policy, P: Protocol> Wrapped<W, P> {
    /// `inner` behind `policy`.
    pub fn new(policy: W, inner: P) -> Self {
        Wrapped {
            policy: Rc::new(policy),
            inner,
            above: None,
            lost: false,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &W {
        &self.policy
    }

    /// The wrapped protocol.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The wrapped protocol, mutably.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The transport the wrapped protocol writes to, once connected.
    pub fn transport(&self) -> Option<&Transport> {
        self.above.as_ref()
    }

    /// The wrapped protocol's transport, made on first use.
    fn above(&mut self, below: &Transport) -> Transport {
        self.above
            .get_or_insert_with(|| {
                Transport::new(Rc::new(PolicyTransport {
                    below: below.clone(),
                    policy: self.policy.clone(),
                }))
            })
            .clone()
    }
}

impl<W: Policy, P: Protocol> Protocol for Wrapped<W, P> {
    fn connection_made(&mut self, below: &Transport) {
        let above = self.above(below);
        self.policy.connection_made(Link { below, above: &above });
        self.inner.connection_made(&above);
    }

    fn data_received(&mut self, below: &Transport, data: &[u8]) {
        let above = self.above(below);
        self.policy.data_received(Link { below, above: &above }, data);
        self.inner.data_received(&above, data);
    }

    fn connection_lost(&mut self, below: &Transport, reason: Failure) {
        if std::mem::replace(&mut self.lost, true) {
            return;
        }
        let above = self.above(below);
        let reason = self.policy.connection_lost(Link { below, above: &above }, reason);
        self.inner.connection_lost(&above, reason);
    }

    fn read_connection_lost(&mut self, below: &Transport) {
        let above = self.above(below);
        self.policy.read_connection_lost(Link { below, above: &above });
        self.inner.read_connection_lost(&above);
    }

    fn write_connection_lost(&mut self, below: &Transport) {
        let above = self.above(below);
        self.policy.write_connection_lost(Link { below, above: &above });
        self.inner.write_connection_lost(&above);
    }

    #[cfg(unix)]
    fn file_descriptors_received(&mut self, below: &Transport, fds: Vec<OwnedFd>) {
        let above = self.above(below);
        self.inner.file_descriptors_received(&above, fds);
    }
}
