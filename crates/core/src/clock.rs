//! The [`Clock`] trait and [`DelayedCall`] handles.
//!
//! Everything in gyre that waits (timeouts, `LoopingCall`, reconnect backoff,
//! `Deferred::add_timeout`) takes a clock instead of reading the system time,
//! so tests can hand it a manual clock and step time by hand
//! (`gyre_testing::ManualClock`). The reactor is the real clock.
//!
//! Callbacks are `FnOnce() + 'static` and run on the clock's thread, after
//! the callback that scheduled them has returned: a call scheduled for
//! "now" runs on the next turn, never re-entrantly.

use std::rc::Rc;
use std::time::{Duration, Instant};

pub use crate::timer::{DelayedCall, TimerQueue};

/// A source of time and scheduled calls.
///
/// The trait is object safe; most code holds an `Rc<dyn Clock>` and uses
/// [`ClockExt::call_later`] for the closure-taking convenience.
pub trait Clock {
    /// The current time on this clock.
    fn now(&self) -> Instant;

    /// Runs `callback` once `delay` has passed. Prefer [`ClockExt::call_later`].
    fn schedule(&self, delay: Duration, callback: Box<dyn FnOnce()>) -> DelayedCall;
}

/// Conveniences for every [`Clock`], including `dyn Clock`.
pub trait ClockExt: Clock {
    /// Runs `callback` once `delay` has passed; the returned handle cancels,
    /// resets or postpones it.
    fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> DelayedCall {
        self.schedule(delay, Box::new(callback))
    }
}

impl<C: Clock + ?Sized> ClockExt for C {}

impl<C: Clock + ?Sized> Clock for Rc<C> {
    fn now(&self) -> Instant {
        (**self).now()
    }

    fn schedule(&self, delay: Duration, callback: Box<dyn FnOnce()>) -> DelayedCall {
        (**self).schedule(delay, callback)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }

    fn schedule(&self, delay: Duration, callback: Box<dyn FnOnce()>) -> DelayedCall {
        (**self).schedule(delay, callback)
    }
}
