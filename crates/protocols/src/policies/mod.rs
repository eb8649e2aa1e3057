//! Connection policies (Twisted's `twisted.protocols.policies`): idle
//! timeouts, connection limits (total and per peer), bandwidth throttling
//! and traffic logging, for any protocol and any factory.
//!
//! # One mechanism
//!
//! Every policy is a [`Policy`]: a set of hooks that sit between a
//! connection's transport and the protocol it runs, the way gyre-tls's
//! `TlsProtocol` sits between TCP and the application. [`Wrapped`] is the
//! one adapter: a `Protocol` towards the transport below that hands the
//! wrapped protocol a transport of its own whose calls go through the
//! policy. Because a `Wrapped` is again a protocol, policies compose by
//! nesting, and a factory wrapped by [`wrap_factory`] can be wrapped again:
//!
//! ```text
//!   socket ─▶ Wrapped<LimitSlot> ─▶ Wrapped<IdleTimer> ─▶ Wrapped<Throttled> ─▶ your protocol
//!             (outermost wrap_factory call)                (innermost)
//! ```
//!
//! A [`PolicyFactory`] decides per connection: admit it behind a fresh
//! per-connection policy, refuse it, or divert it to another protocol.
//!
//! | policy | factory side | per connection |
//! |---|---|---|
//! | idle timeout | [`IdleTimeout`] | [`IdleTimer`] |
//! | at most N connections | [`ConnectionLimit`] | [`LimitSlot`] |
//! | at most N per peer IP | [`PeerLimit`] | [`LimitSlot`] |
//! | bytes per second in and out | [`Throttle`] | [`Throttled`] |
//! | log every event | [`TrafficLog`] | [`TrafficLogger`] |
//!
//! Everything timed takes a [`Clock`](gyre_core::Clock), so tests drive it
//! with `gyre_testing::ManualClock`.
//!
//! # Example
//!
//! An echo server that serves at most 100 clients, 2 per address, drops
//! clients silent for a minute and sends at most 64 KiB/s to each:
//!
//! ```
//! use std::rc::Rc;
//! use std::time::Duration;
//! use gyre_core::{Address, Clock, Protocol, SharedFactory, Transport, protocol_factory};
//! use gyre_protocols::policies::{
//!     ConnectionLimit, IdleTimeout, PeerLimit, Throttle, busy, wrap_factory,
//! };
//! use gyre_testing::{ManualClock, StringTransportWithDisconnection};
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         transport.write(data);
//!     }
//! }
//!
//! let clock = ManualClock::new(); // the reactor, in a real server
//! let clock: Rc<dyn Clock> = Rc::new(clock);
//! let echo = SharedFactory::new(protocol_factory(|_: &Address| Echo));
//! let throttled = wrap_factory(echo, Throttle::new(clock.clone()).write_rate(64 * 1024));
//! let timed = wrap_factory(throttled, IdleTimeout::new(clock.clone(), Duration::from_secs(60)));
//! let per_peer = wrap_factory(timed, PeerLimit::new(2));
//! let factory = wrap_factory(per_peer, ConnectionLimit::new(100).overflow(busy(b"busy\r\n")));
//!
//! let protocol = factory.build_protocol(&gyre_testing::default_peer()).unwrap();
//! let mut conn = StringTransportWithDisconnection::new(protocol);
//! conn.data_received(b"ping");
//! assert_eq!(conn.value(), b"ping");
//! ```

mod factory;
mod limit;
mod throttle;
mod throttled;
mod timeout;
mod traffic_log;
mod wrap;

pub use factory::{Admission, FnPolicies, PolicyFactory, policy_fn, wrap_factory};
pub use limit::{Busy, ConnectionLimit, LimitSlot, PeerKey, PeerLimit, busy};
pub use throttle::{DEFAULT_MAX_HELD, DEFAULT_PERIOD, Throttle, ThrottleBacklogFull};
pub use throttled::Throttled;
pub use timeout::{DEFAULT_ABORT_GRACE, IdleHook, IdleTimeout, IdleTimer, TimeoutAction};
pub use traffic_log::{DEFAULT_DUMP_LIMIT, TRAFFIC_TARGET, TrafficLog, TrafficLogger, hex_dump};
pub use wrap::{Link, Policy, Wrapped};
