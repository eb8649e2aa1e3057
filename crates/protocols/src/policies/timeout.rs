//! Idle timeouts (Twisted's `TimeoutProtocol`/`TimeoutFactory`): a
//! connection with no traffic in either direction for a while is closed, or
//! a hook is called.
//!
//! Traffic only records the time (one clock read); the single timer per
//! connection checks, when it fires, whether the connection was really idle
//! for the whole timeout and otherwise re-arms itself for the remainder. So
//! a busy connection costs no timer-heap work per read or write, unlike
//! resetting a timer on every byte.
//!
//! A connection closed for being idle is closed gracefully
//! (`lose_connection`), then aborted if it has still not closed after a
//! grace period (a peer that stopped reading would otherwise keep it open
//! forever); the wrapped protocol hears `TimedOut` as the reason.

use std::cell::{Cell, RefCell};
use std::io::IoSlice;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use gyre_core::address::Address;
use gyre_core::errors::TimedOut;
use gyre_core::{Clock, ClockExt, DelayedCall, Failure, Transport};

use crate::policies::factory::{Admission, PolicyFactory};
use crate::policies::wrap::{Link, Policy};

/// How long a gracefully closed idle connection may take to finish before
/// it is aborted (Twisted's HTTP `abortTimeout`).
pub const DEFAULT_ABORT_GRACE: Duration = Duration::from_secs(15);

/// A hook called with the wrapped protocol's transport when a connection
/// has been idle for the timeout.
pub type IdleHook = Rc<dyn Fn(&Transport)>;

/// What happens when a connection has been idle for the timeout.
#[derive(Clone)]
pub enum TimeoutAction {
    /// Close after flushing; abort if still open after `grace`.
    Close {
        /// How long the graceful close may take.
        grace: Duration,
    },
    /// Abort at once, dropping unsent data.
    Abort,
    /// Call the hook with the wrapped protocol's transport and keep the
    /// connection. The hook is called again after each further timeout of
    /// silence; writing from it (a keep-alive) counts as traffic.
    Call(IdleHook),
}

impl std::fmt::Debug for TimeoutAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeoutAction::Close { grace } => f.debug_struct("Close").field("grace", grace).finish(),
            TimeoutAction::Abort => f.write_str("Abort"),
            TimeoutAction::Call(_) => f.write_str("Call(..)"),
        }
    }
}

/// The idle-timeout policy for every connection of a factory: use with
/// [`wrap_factory`](crate::policies::wrap_factory).
///
/// ```
/// use std::rc::Rc;
/// use std::time::Duration;
/// use gyre_core::{Address, SharedFactory, protocol_factory};
/// use gyre_protocols::policies::{IdleTimeout, wrap_factory};
/// use gyre_testing::{ManualClock, StringTransportWithDisconnection};
/// # struct Echo;
/// # impl gyre_core::Protocol for Echo {
/// #     fn data_received(&mut self, t: &gyre_core::Transport, d: &[u8]) { t.write(d) }
/// # }
/// let clock = ManualClock::new();
/// let timeout = IdleTimeout::new(Rc::new(clock.clone()), Duration::from_secs(30));
/// let factory = wrap_factory(SharedFactory::new(protocol_factory(|_: &Address| Echo)), timeout);
/// let protocol = factory.build_protocol(&gyre_testing::default_peer()).unwrap();
/// let mut conn = StringTransportWithDisconnection::new(protocol);
/// clock.advance(Duration::from_secs(20));
/// conn.data_received(b"still here");
/// clock.advance(Duration::from_secs(20));
/// conn.settle();
/// assert!(conn.is_connected(), "traffic 20 s ago");
/// clock.advance(Duration::from_secs(10));
/// conn.settle();
/// assert!(!conn.is_connected(), "30 s of silence");
/// ```
#[derive(Clone)]
pub struct IdleTimeout {
    clock: Rc<dyn Clock>,
    timeout: Duration,
    action: TimeoutAction,
}

impl IdleTimeout {
    /// Close connections idle for `timeout`, measured on `clock`.
    pub fn new(clock: Rc<dyn Clock>, timeout: Duration) -> Self {
        IdleTimeout {
            clock,
            timeout,
            action: TimeoutAction::Close {
                grace: DEFAULT_ABORT_GRACE,
            },
        }
    }

    /// Chooses what happens at the timeout.
    pub fn action(mut self, action: TimeoutAction) -> Self {
        self.action = action;
        self
    }

    /// Calls `hook` instead of closing (see [`TimeoutAction::Call`]).
    pub fn on_timeout(self, hook: impl Fn(&Transport) + 'static) -> Self {
        self.action(TimeoutAction::Call(Rc::new(hook)))
    }

    /// The policy for one connection.
    pub fn timer(&self) -> IdleTimer {
        IdleTimer {
            state: Rc::new(IdleState {
                clock: self.clock.clone(),
                timeout: self.timeout,
                action: self.action.clone(),
                last_activity: Cell::new(self.clock.now()),
                call: RefCell::new(None),
                transports: RefCell::new(None),
                timed_out: Cell::new(false),
                ended: Cell::new(false),
            }),
        }
    }
}

impl PolicyFactory for IdleTimeout {
    type Policy = IdleTimer;

    fn admit(&mut self, _peer: &Address) -> Admission<IdleTimer> {
        Admission::Admit(self.timer())
    }
}

/// The idle timeout of one connection.
pub struct IdleTimer {
    state: Rc<IdleState>,
}

struct IdleState {
    clock: Rc<dyn Clock>,
    timeout: Duration,
    action: TimeoutAction,
    last_activity: Cell<Instant>,
    /// The idle check, then (after a graceful close) the abort.
    call: RefCell<Option<DelayedCall>>,
    /// Below and above, kept from `connection_made` to `connection_lost`.
    transports: RefCell<Option<(Transport, Transport)>>,
    timed_out: Cell<bool>,
    ended: Cell<bool>,
}

impl IdleTimer {
    /// Whether this connection was closed for being idle.
    pub fn timed_out(&self) -> bool {
        self.state.timed_out.get()
    }

    fn touch(&self) {
        self.state.last_activity.set(self.state.clock.now());
    }
}

impl IdleState {
    fn schedule(self: &Rc<Self>, delay: Duration, then: fn(&Rc<IdleState>)) {
        let weak: Weak<IdleState> = Rc::downgrade(self);
        let call = self.clock.call_later(delay, move || {
            if let Some(state) = weak.upgrade() {
                then(&state);
            }
        });
        if let Some(old) = self.call.borrow_mut().replace(call) {
            old.cancel();
        }
    }

    fn check(self: &Rc<Self>) {
        if self.ended.get() {
            return;
        }
        let idle_for = self
            .clock
            .now()
            .saturating_duration_since(self.last_activity.get());
        if idle_for < self.timeout {
            return self.schedule(self.timeout - idle_for, IdleState::check);
        }
        let Some((below, above)) = self.transports.borrow().clone() else {
            return;
        };
        match &self.action {
            TimeoutAction::Close { grace } => {
                self.timed_out.set(true);
                below.lose_connection();
                self.schedule(*grace, IdleState::abort);
            }
            TimeoutAction::Abort => {
                self.timed_out.set(true);
                below.abort_connection();
            }
            TimeoutAction::Call(hook) => {
                self.last_activity.set(self.clock.now());
                self.schedule(self.timeout, IdleState::check);
                hook(&above);
            }
        }
    }

    fn abort(self: &Rc<Self>) {
        if self.ended.get() {
            return;
        }
        let below = self.transports.borrow().as_ref().map(|(below, _)| below.clone());
        if let Some(below) = below {
            below.abort_connection();
        }
    }
}

impl Policy for IdleTimer {
    fn connection_made(&self, link: Link<'_>) {
        *self.state.transports.borrow_mut() = Some((link.below().clone(), link.above().clone()));
        self.touch();
        self.state.schedule(self.state.timeout, IdleState::check);
    }

    fn data_received(&self, _link: Link<'_>, _data: &[u8]) {
        self.touch();
    }

    fn connection_lost(&self, _link: Link<'_>, reason: Failure) -> Failure {
        self.state.ended.set(true);
        if let Some(call) = self.state.call.borrow_mut().take() {
            call.cancel();
        }
        self.state.transports.borrow_mut().take();
        if self.state.timed_out.get() {
            return Failure::new(TimedOut::new()).context(format!(
                "closed after {:?} without traffic (idle timeout)",
                self.state.timeout
            ));
        }
        reason
    }

    fn write(&self, below: &Transport, bufs: &[IoSlice<'_>]) {
        self.touch();
        below.write_vectored(bufs);
    }
}
