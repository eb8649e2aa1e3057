//! [`Relay`]: two connections joined so that bytes flow both ways, with
//! flow control, half-close and close forwarded.
//!
//! The *inbound* connection exists first (a client that connected to a
//! port forwarder or a SOCKS server); its protocol creates the relay and
//! forwards its callbacks to it. The *far* connection is made afterwards
//! (through any `ClientEndpoint` with [`Relay::connect`], or accepted on a
//! listening port for SOCKS BIND with [`Relay::far_factory`]) and runs the
//! relay's own [`FarEnd`] protocol.
//!
//! ```text
//!   client ══ inbound transport ══▶ Relay ══ far transport ══ server
//!      data_received ──────────────▶ far.write     (and the other way round)
//!      EOF (read_connection_lost) ──▶ far.lose_write_connection
//!      connection_lost ─────────────▶ far.lose_connection (after its buffer drains)
//!      far buffer > high-water mark ▶ inbound.pause_reading (each transport is the
//!                                     other's push producer)
//! ```
//!
//! Until the far side is connected the inbound transport is paused; bytes
//! that still arrive (the rest of a read, or a SOCKS client's optimistic
//! data) are held, in order, up to [`RelayConfig::pending_limit`], and
//! written first once connected. A failed connection closes the inbound
//! one (or runs the hook set with [`Relay::when_failed`]), and closing the
//! inbound connection while connecting cancels the attempt.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gyre_core::deferred::Deferred;
use gyre_core::producer::Producer;
use gyre_core::transport::ConnectionState;
use gyre_core::{Address, Factory, Failure, Protocol, SharedFactory, Transport};
use gyre_endpoints::ClientEndpoint;

/// The default bound on bytes held while the far side connects.
pub const DEFAULT_PENDING_LIMIT: usize = 256 * 1024;

/// Settings of a [`Relay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayConfig {
    /// Bytes from the inbound side held while the far side connects.
    /// Reading is paused meanwhile, so only the rest of one read (at most
    /// 64 KiB from the reactor) normally arrives; a peer that still sends
    /// more has the inbound connection aborted.
    pub pending_limit: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            pending_limit: DEFAULT_PENDING_LIMIT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Connected,
    Closed,
}

type ConnectedHook = Box<dyn FnOnce(&Transport, &Transport)>;
type FailedHook = Box<dyn FnOnce(&Transport, Failure)>;

struct Shared {
    inbound: Transport,
    far: RefCell<Option<Transport>>,
    phase: Cell<Phase>,
    pending: RefCell<Vec<u8>>,
    config: RelayConfig,
    inbound_eof: Cell<bool>,
    far_claimed: Cell<bool>,
    on_connected: RefCell<Option<ConnectedHook>>,
    on_failed: RefCell<Option<FailedHook>>,
    attempt: RefCell<Option<Deferred<()>>>,
}

/// Joins an inbound connection to a far one. Clones share the relay.
#[derive(Clone)]
pub struct Relay {
    shared: Rc<Shared>,
}

impl Relay {
    /// A relay for `inbound`, whose reading is paused until the far side
    /// is connected.
    pub fn new(inbound: &Transport, config: RelayConfig) -> Relay {
        inbound.pause_reading();
        Relay {
            shared: Rc::new(Shared {
                inbound: inbound.clone(),
                far: RefCell::new(None),
                phase: Cell::new(Phase::Connecting),
                pending: RefCell::new(Vec::new()),
                config,
                inbound_eof: Cell::new(false),
                far_claimed: Cell::new(false),
                on_connected: RefCell::new(None),
                on_failed: RefCell::new(None),
                attempt: RefCell::new(None),
            }),
        }
    }

    /// Runs `hook(inbound, far)` once the far side is connected, before any
    /// byte is relayed (a SOCKS server writes its success reply here). If
    /// the hook closes the inbound connection, the far one is closed too.
    pub fn when_connected(&self, hook: impl FnOnce(&Transport, &Transport) + 'static) {
        *self.shared.on_connected.borrow_mut() = Some(Box::new(hook));
    }

    /// Runs `hook(inbound, reason)` instead of closing the inbound
    /// connection when connecting fails (a SOCKS server replies first).
    pub fn when_failed(&self, hook: impl FnOnce(&Transport, Failure) + 'static) {
        *self.shared.on_failed.borrow_mut() = Some(Box::new(hook));
    }

    /// Connects the far side through `endpoint`. Closing the inbound
    /// connection first cancels the attempt.
    pub fn connect(&self, endpoint: &dyn ClientEndpoint) {
        let weak = Rc::downgrade(&self.shared);
        let attempt = endpoint.connect(self.far_factory()).then(move |result| {
            if let Some(shared) = weak.upgrade() {
                shared.attempt.borrow_mut().take();
                if let Err(failure) = result {
                    shared.far_failed(failure);
                }
            }
            Ok::<(), Failure>(())
        });
        if !attempt.is_fired() {
            *self.shared.attempt.borrow_mut() = Some(attempt);
        }
    }

    /// A factory that builds the far side's protocol for the first
    /// connection and refuses any later one (for a listening port).
    pub fn far_factory(&self) -> SharedFactory {
        SharedFactory::new(FarFactory {
            relay: Rc::downgrade(&self.shared),
        })
    }

    /// The far side's protocol, for a connection made by other means; only
    /// the first call gets it.
    pub fn far_protocol(&self) -> Option<FarEnd> {
        (!self.shared.far_claimed.replace(true)).then(|| FarEnd {
            shared: self.shared.clone(),
        })
    }

    /// Ends the relay as a failed connection would (a SOCKS BIND that
    /// timed out): the `when_failed` hook runs, or the inbound connection
    /// is closed.
    pub fn fail(&self, reason: Failure) {
        self.shared.far_failed(reason);
    }

    /// Call from the inbound protocol's `data_received`.
    pub fn data_received(&self, data: &[u8]) {
        let shared = &self.shared;
        match shared.phase.get() {
            Phase::Connected => {
                if let Some(far) = shared.far.borrow().as_ref() {
                    far.write(data);
                }
            }
            Phase::Connecting => {
                let held = {
                    let mut pending = shared.pending.borrow_mut();
                    pending.extend_from_slice(data);
                    pending.len()
                };
                if held > shared.config.pending_limit {
                    tracing::warn!(
                        target: "gyre::relay",
                        peer = %shared.inbound.peer(),
                        held,
                        "peer sent more than the relay holds while connecting; aborting"
                    );
                    shared.close();
                    shared.inbound.abort_connection();
                }
            }
            Phase::Closed => {}
        }
    }

    /// Call from the inbound protocol's `read_connection_lost`: the far
    /// side's write half is shut down once the bytes before the end of file
    /// were sent.
    pub fn read_connection_lost(&self) {
        let shared = &self.shared;
        match shared.phase.get() {
            Phase::Connected => {
                if let Some(far) = shared.far.borrow().as_ref() {
                    far.lose_write_connection();
                }
            }
            Phase::Connecting => shared.inbound_eof.set(true),
            Phase::Closed => {}
        }
    }

    /// Call from the inbound protocol's `connection_lost`: the far side is
    /// closed after its buffered bytes were sent, or its attempt cancelled.
    pub fn connection_lost(&self) {
        let far = self.shared.far.borrow_mut().take();
        self.shared.close();
        if let Some(far) = far {
            far.lose_connection();
        }
    }

    /// Whether the far side is connected and bytes are relayed.
    pub fn is_connected(&self) -> bool {
        self.shared.phase.get() == Phase::Connected
    }

    /// The inbound transport.
    pub fn inbound(&self) -> Transport {
        self.shared.inbound.clone()
    }

    /// The far transport, once connected.
    pub fn far(&self) -> Option<Transport> {
        self.shared.far.borrow().clone()
    }

    /// Bytes held while connecting.
    pub fn pending_len(&self) -> usize {
        self.shared.pending.borrow().len()
    }
}

impl Shared {
    /// No more relaying: drops held bytes and cancels an attempt under way.
    fn close(&self) {
        self.phase.set(Phase::Closed);
        self.pending.borrow_mut().clear();
        let attempt = self.attempt.borrow_mut().take();
        if let Some(attempt) = attempt {
            attempt.cancel();
        }
    }

    fn far_failed(&self, reason: Failure) {
        if self.phase.get() != Phase::Connecting {
            return;
        }
        self.close();
        tracing::debug!(target: "gyre::relay", peer = %self.inbound.peer(), %reason, "far side failed");
        let hook = self.on_failed.borrow_mut().take();
        match hook {
            Some(hook) => hook(&self.inbound, reason),
            None => self.inbound.lose_connection(),
        }
    }

    fn far_connected(&self, far: &Transport) {
        if self.phase.get() != Phase::Connecting {
            far.lose_connection();
            return;
        }
        self.phase.set(Phase::Connected);
        *self.far.borrow_mut() = Some(far.clone());
        let hook = self.on_connected.borrow_mut().take();
        if let Some(hook) = hook {
            hook(&self.inbound, far);
        }
        if self.inbound.state() != ConnectionState::Open {
            self.phase.set(Phase::Closed);
            self.far.borrow_mut().take();
            far.lose_connection();
            return;
        }
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        if !pending.is_empty() {
            far.write(&pending);
        }
        if !self.inbound_eof.get() {
            self.inbound.resume_reading();
        }
        // Each transport is the other's push producer: a full buffer on one
        // pauses reading on the other. Registered after the resume, so a
        // far buffer already over its high-water mark pauses at once.
        link(far, &self.inbound);
        link(&self.inbound, far);
        if self.inbound_eof.get() {
            far.lose_write_connection();
        }
    }

    fn far_lost(&self) {
        let far = self.far.borrow_mut().take();
        self.close();
        drop(far);
        self.inbound.lose_connection();
    }
}

/// Registers `producer`'s transport as the push producer of `consumer`.
fn link(consumer: &Transport, producer: &Transport) {
    if let Err(failure) = consumer.register_producer(Producer::Push(Rc::new(producer.clone()))) {
        tracing::debug!(target: "gyre::relay", %failure, "relay could not register its producer");
    }
}

/// Builds the far side's protocol once.
struct FarFactory {
    relay: Weak<Shared>,
}

impl Factory for FarFactory {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let shared = self.relay.upgrade()?;
        if shared.far_claimed.replace(true) || shared.phase.get() != Phase::Connecting {
            return None;
        }
        Some(Box::new(FarEnd { shared }))
    }
}

/// The protocol on the far connection: writes what it receives to the
/// inbound side and forwards its end of file and close.
pub struct FarEnd {
    shared: Rc<Shared>,
}

impl Protocol for FarEnd {
    fn connection_made(&mut self, transport: &Transport) {
        self.shared.far_connected(transport);
    }

    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.shared.inbound.write(data);
    }

    fn read_connection_lost(&mut self, _: &Transport) {
        self.shared.inbound.lose_write_connection();
    }

    fn connection_lost(&mut self, _: &Transport, _: Failure) {
        self.shared.far_lost();
    }
}
