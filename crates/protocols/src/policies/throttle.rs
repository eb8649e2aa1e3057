//! Bandwidth throttling (Twisted's `ThrottlingFactory`, per connection):
//! at most so many bytes per second read and written, measured in periods
//! of the [`Clock`].
//!
//! * Reading: bytes are counted as they arrive; once a period's budget is
//!   used up the transport below is paused, and resumed by the period tick
//!   that brings the count back under budget. Overshoot (a large read that
//!   crossed the budget) is carried into the next periods, so the long-run
//!   rate is the configured one however reads are sized. The wrapped
//!   protocol's own `pause_reading` is kept apart: reading resumes only when
//!   neither wants it paused.
//! * Writing: what fits in the period's budget goes straight through; the
//!   rest is held, in order, and released budget by budget at each tick.
//!   The held bytes count as buffered for the wrapped protocol's producer
//!   (`buffered_len`, water marks), so a producer is paused while they pile
//!   up and resumed as they drain, which keeps memory bounded. A protocol
//!   that writes without a producer past `max_held` bytes has its
//!   connection aborted with [`ThrottleBacklogFull`] rather than growing
//!   without limit.
//!
//! A `lose_connection` waits for the held bytes to go out first. The timer
//! runs only while there is something to count down or release, so idle
//! throttled connections cost nothing.

use std::error::Error;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::Clock;
use gyre_core::address::Address;

use crate::policies::factory::{Admission, PolicyFactory};
use crate::policies::throttled::{ThrottleSettings, Throttled};

/// The default length of a throttling period.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(1);
/// The default limit on bytes held back for writing (4 MiB).
pub const DEFAULT_MAX_HELD: usize = 4 * 1024 * 1024;

/// A throttled connection's wrapped protocol wrote more than the throttle
/// may hold back without a producer to pause.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleBacklogFull {
    /// The limit on held bytes.
    pub limit: usize,
}

impl fmt::Display for ThrottleBacklogFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "more than {} bytes waiting for the write throttle; register a producer to be paused instead",
            self.limit
        )
    }
}

impl Error for ThrottleBacklogFull {}

/// Throttling for every connection of a factory: use with
/// [`wrap_factory`](crate::policies::wrap_factory). Each connection gets
/// its own budget.
#[derive(Clone)]
pub struct Throttle {
    clock: Rc<dyn Clock>,
    read_rate: Option<u64>,
    write_rate: Option<u64>,
    period: Duration,
    max_held: usize,
}

impl Throttle {
    /// No limits yet, measured on `clock`; add them with
    /// [`read_rate`](Self::read_rate) and [`write_rate`](Self::write_rate).
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        Throttle {
            clock,
            read_rate: None,
            write_rate: None,
            period: DEFAULT_PERIOD,
            max_held: DEFAULT_MAX_HELD,
        }
    }

    /// At most `bytes_per_second` read.
    pub fn read_rate(mut self, bytes_per_second: u64) -> Self {
        self.read_rate = Some(bytes_per_second);
        self
    }

    /// At most `bytes_per_second` written.
    pub fn write_rate(mut self, bytes_per_second: u64) -> Self {
        self.write_rate = Some(bytes_per_second);
        self
    }

    /// The budget period (default 1 s, at least 1 ms): shorter periods
    /// smooth the flow, longer ones cost fewer timer calls.
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period.max(Duration::from_millis(1));
        self
    }

    /// The most bytes held back for writing before the connection is
    /// aborted (default 4 MiB).
    pub fn max_held(mut self, bytes: usize) -> Self {
        self.max_held = bytes;
        self
    }

    /// The policy for one connection.
    pub fn throttled(&self) -> Throttled {
        let budget = |rate: u64| {
            let per_period = u128::from(rate) * self.period.as_nanos() / 1_000_000_000;
            u64::try_from(per_period).unwrap_or(u64::MAX).max(1)
        };
        Throttled::new(ThrottleSettings {
            clock: self.clock.clone(),
            period: self.period,
            read_budget: self.read_rate.map(budget),
            write_budget: self.write_rate.map(budget),
            max_held: self.max_held,
        })
    }
}

impl PolicyFactory for Throttle {
    type Policy = Throttled;

    fn admit(&mut self, _peer: &Address) -> Admission<Throttled> {
        Admission::Admit(self.throttled())
    }
}
