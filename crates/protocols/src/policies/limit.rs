//! Connection limits (Twisted's `LimitTotalConnectionsFactory` and
//! `LimitConnectionsByPeer`): at most N connections at once, in total or
//! per peer address.
//!
//! A connection takes its slot when its protocol is built, so a burst of
//! connections accepted in one turn cannot overshoot the limit, and gives
//! it back exactly once: when the connection ends, or when its protocol is
//! dropped without ever ending (the wrapped factory refused it, or the
//! reactor was torn down). The slot is a [`Policy`] holding a release
//! guard, so counting cannot drift whatever path a connection takes.
//!
//! Over the limit, the new connection is closed at once, or handed to an
//! overflow factory (a [`busy`] message, say) that does not count.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use gyre_core::address::Address;
use gyre_core::{Failure, Protocol, SharedFactory, Transport, protocol_factory};

use crate::policies::factory::{Admission, PolicyFactory};
use crate::policies::wrap::{Link, Policy};

/// The per-connection policy of a limit: holds one slot until the
/// connection ends.
pub struct LimitSlot {
    release: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl LimitSlot {
    fn new(release: impl FnOnce() + 'static) -> Self {
        LimitSlot {
            release: RefCell::new(Some(Box::new(release))),
        }
    }

    fn release(&self) {
        let release = self.release.borrow_mut().take();
        if let Some(release) = release {
            release();
        }
    }
}

impl Drop for LimitSlot {
    fn drop(&mut self) {
        self.release();
    }
}

impl Policy for LimitSlot {
    fn connection_lost(&self, _link: Link<'_>, reason: Failure) -> Failure {
        self.release();
        reason
    }
}

/// The overflow factory of a limit: what answers connections over it.
#[derive(Default)]
struct Overflow {
    factory: RefCell<Option<SharedFactory>>,
    /// The factory this limit started, so it stops the same one.
    started: RefCell<Option<SharedFactory>>,
}

impl Overflow {
    fn set(&self, factory: SharedFactory) {
        *self.factory.borrow_mut() = Some(factory);
    }

    /// The protocol for a connection over the limit, or a refusal.
    fn admit(&self, peer: &Address) -> Admission<LimitSlot> {
        let factory = self.factory.borrow().clone();
        match factory.and_then(|factory| factory.build_protocol(peer)) {
            Some(protocol) => Admission::Divert(protocol),
            None => Admission::Refuse,
        }
    }

    fn start(&self) {
        let factory = self.factory.borrow().clone();
        if let Some(factory) = factory {
            factory.do_start();
            *self.started.borrow_mut() = Some(factory);
        }
    }

    fn stop(&self) {
        let started = self.started.borrow_mut().take();
        if let Some(factory) = started {
            factory.do_stop();
        }
    }
}

/// At most `max` connections at once over every port the wrapped factory
/// serves. Clones share the count.
///
/// ```
/// use gyre_core::{Address, SharedFactory, protocol_factory};
/// use gyre_protocols::policies::{ConnectionLimit, busy, wrap_factory};
/// # struct Echo;
/// # impl gyre_core::Protocol for Echo {
/// #     fn data_received(&mut self, t: &gyre_core::Transport, d: &[u8]) { t.write(d) }
/// # }
/// let limit = ConnectionLimit::new(1).overflow(busy(b"busy, try later\r\n"));
/// let factory = wrap_factory(SharedFactory::new(protocol_factory(|_: &Address| Echo)), limit.clone());
/// let peer = gyre_testing::default_peer();
/// let first = factory.build_protocol(&peer).unwrap();
/// let second = factory.build_protocol(&peer).unwrap(); // the busy protocol
/// assert_eq!((limit.active(), limit.overflowed()), (1, 1));
/// drop(first);
/// assert_eq!(limit.active(), 0);
/// # drop(second);
/// ```
#[derive(Clone)]
pub struct ConnectionLimit {
    shared: Rc<TotalShared>,
}

struct TotalShared {
    max: Cell<usize>,
    active: Cell<usize>,
    overflowed: Cell<u64>,
    overflow: Overflow,
}

impl ConnectionLimit {
    /// At most `max` connections at once.
    pub fn new(max: usize) -> Self {
        ConnectionLimit {
            shared: Rc::new(TotalShared {
                max: Cell::new(max),
                active: Cell::new(0),
                overflowed: Cell::new(0),
                overflow: Overflow::default(),
            }),
        }
    }

    /// Connections over the limit run a protocol from `factory` instead of
    /// being closed at once.
    pub fn overflow(self, factory: SharedFactory) -> Self {
        self.shared.overflow.set(factory);
        self
    }

    /// Changes the limit; connections already open stay.
    pub fn set_max(&self, max: usize) {
        self.shared.max.set(max);
    }

    /// Connections holding a slot now.
    pub fn active(&self) -> usize {
        self.shared.active.get()
    }

    /// Connections turned away (closed or diverted) so far.
    pub fn overflowed(&self) -> u64 {
        self.shared.overflowed.get()
    }
}

impl PolicyFactory for ConnectionLimit {
    type Policy = LimitSlot;

    fn admit(&mut self, peer: &Address) -> Admission<LimitSlot> {
        let shared = &self.shared;
        if shared.active.get() >= shared.max.get() {
            shared.overflowed.set(shared.overflowed.get() + 1);
            return shared.overflow.admit(peer);
        }
        shared.active.set(shared.active.get() + 1);
        let shared = self.shared.clone();
        Admission::Admit(LimitSlot::new(move || shared.active.set(shared.active.get() - 1)))
    }

    fn start(&mut self) {
        self.shared.overflow.start();
    }

    fn stop(&mut self) {
        self.shared.overflow.stop();
    }
}

/// Who counts as the same peer: the IP address (IPv4-mapped IPv6 addresses
/// count as their IPv4 address), or the whole address for other families
/// (all unnamed Unix clients are one peer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PeerKey {
    /// An IP peer, whatever its port.
    Ip(IpAddr),
    /// Any other kind of address.
    Other(Address),
}

impl PeerKey {
    /// The key of `peer`.
    pub fn of(peer: &Address) -> PeerKey {
        match peer.socket_addr() {
            Some(addr) => PeerKey::Ip(addr.ip().to_canonical()),
            None => PeerKey::Other(peer.clone()),
        }
    }
}

/// At most `max` connections at once from each peer address. Clones share
/// the counts; peers with no connection take no memory.
///
/// Behind the `haproxy:` endpoint wrapper the peer is the client named in
/// the PROXY header, not the proxy.
#[derive(Clone)]
pub struct PeerLimit {
    shared: Rc<PeerShared>,
}

struct PeerShared {
    max: Cell<usize>,
    active: RefCell<HashMap<PeerKey, usize>>,
    overflowed: Cell<u64>,
    overflow: Overflow,
}

impl PeerLimit {
    /// At most `max` connections at once from each peer.
    pub fn new(max: usize) -> Self {
        PeerLimit {
            shared: Rc::new(PeerShared {
                max: Cell::new(max),
                active: RefCell::new(HashMap::new()),
                overflowed: Cell::new(0),
                overflow: Overflow::default(),
            }),
        }
    }

    /// Connections over the limit run a protocol from `factory` instead of
    /// being closed at once.
    pub fn overflow(self, factory: SharedFactory) -> Self {
        self.shared.overflow.set(factory);
        self
    }

    /// Changes the limit; connections already open stay.
    pub fn set_max(&self, max: usize) {
        self.shared.max.set(max);
    }

    /// Connections from `peer` holding a slot now.
    pub fn active(&self, peer: &Address) -> usize {
        self.shared
            .active
            .borrow()
            .get(&PeerKey::of(peer))
            .copied()
            .unwrap_or(0)
    }

    /// How many peers hold at least one slot.
    pub fn peers(&self) -> usize {
        self.shared.active.borrow().len()
    }

    /// Connections turned away so far.
    pub fn overflowed(&self) -> u64 {
        self.shared.overflowed.get()
    }
}

impl PolicyFactory for PeerLimit {
    type Policy = LimitSlot;

    fn admit(&mut self, peer: &Address) -> Admission<LimitSlot> {
        let key = PeerKey::of(peer);
        {
            let mut active = self.shared.active.borrow_mut();
            let count = active.get(&key).copied().unwrap_or(0);
            if count < self.shared.max.get() {
                active.insert(key.clone(), count + 1);
                drop(active);
                let shared = self.shared.clone();
                return Admission::Admit(LimitSlot::new(move || {
                    let mut active = shared.active.borrow_mut();
                    if let Some(count) = active.get_mut(&key) {
                        *count -= 1;
                        if *count == 0 {
                            active.remove(&key);
                        }
                    }
                }));
            }
        }
        self.shared.overflowed.set(self.shared.overflowed.get() + 1);
        self.shared.overflow.admit(peer)
    }

    fn start(&mut self) {
        self.shared.overflow.start();
    }

    fn stop(&mut self) {
        self.shared.overflow.stop();
    }
}

/// Writes `message` and closes: the overflow answer of a full server.
pub struct Busy {
    message: Rc<[u8]>,
}

impl Protocol for Busy {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(&self.message);
        transport.lose_connection();
    }

    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

/// A factory of [`Busy`] protocols answering `message`, for
/// [`ConnectionLimit::overflow`] and [`PeerLimit::overflow`].
pub fn busy(message: &[u8]) -> SharedFactory {
    let message: Rc<[u8]> = Rc::from(message);
    SharedFactory::new(protocol_factory(move |_: &Address| Busy {
        message: message.clone(),
    }))
}
