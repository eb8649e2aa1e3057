//! [`ManualClock`]: a [`Clock`] whose time only moves when the test says so
//! (Twisted's `task.Clock`).
//!
//! Code with timeouts, retries or periodic work takes a `Clock`; handing it a
//! `ManualClock` makes a test that waits an hour run in microseconds and
//! always in the same order. Time starts at the moment the clock is created
//! and moves only through [`advance`](ManualClock::advance) and
//! [`pump`](ManualClock::pump).
//!
//! One `advance` is one turn of the reactor: the calls that are due run, and
//! calls they schedule for "now" wait for the next turn (the next `advance`,
//! even by zero). That keeps self-rescheduling code (a cooperator, a
//! zero-interval loop) steppable one tick at a time. Twisted's `Clock`
//! instead keeps running until nothing is due;
//! [`flush`](ManualClock::flush) does that, with a bound.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::clock::{Clock, DelayedCall, TimerQueue};

/// How many passes over the due calls one [`ManualClock::flush`] may make
/// before it gives up: a callback that reschedules itself with no delay
/// would otherwise never let it return.
pub const MAX_PASSES: usize = 100_000;

/// How far in the future a call with an unrepresentable delay (such as
/// `Duration::MAX`) is scheduled: far enough never to come due in a test.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// A clock moved by hand. Clones share the same time and calls.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use gyre_core::ClockExt;
/// use gyre_testing::ManualClock;
///
/// let clock = ManualClock::new();
/// let fired = Rc::new(Cell::new(false));
/// let flag = fired.clone();
/// clock.call_later(Duration::from_secs(30), move || flag.set(true));
/// clock.advance(Duration::from_secs(29));
/// assert!(!fired.get());
/// clock.advance(Duration::from_secs(1));
/// assert!(fired.get());
/// ```
#[derive(Clone)]
pub struct ManualClock {
    state: Rc<ClockState>,
}

struct ClockState {
    queue: TimerQueue,
    start: Instant,
    now: Cell<Instant>,
}

impl Default for ManualClock {
    fn default() -> Self {
        let start = Instant::now();
        ManualClock {
            state: Rc::new(ClockState {
                queue: TimerQueue::new(),
                start,
                now: Cell::new(start),
            }),
        }
    }
}

impl ManualClock {
    /// A clock at the current instant with nothing scheduled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `amount`, then runs the calls that have come
    /// due, earliest first (calls due at the same time in the order they
    /// were scheduled). Calls those callbacks schedule for a time that has
    /// already come wait for the next `advance` or [`flush`](Self::flush),
    /// as they would wait for the reactor's next turn.
    pub fn advance(&self, amount: Duration) {
        let now = self.state.now.get() + amount;
        self.state.now.set(now);
        self.state.queue.run_due(now);
    }

    /// Advances by each amount in turn, running due calls after each step
    /// (Twisted's `Clock.pump`), for code that should see time pass in
    /// several increments rather than one jump.
    pub fn pump(&self, amounts: &[Duration]) {
        for amount in amounts {
            self.advance(*amount);
        }
    }

    /// Without moving time, runs due calls pass after pass until a pass runs
    /// nothing, so calls scheduled for "now" by other calls run too (what
    /// Twisted's `Clock.advance` does). Returns how many calls ran.
    ///
    /// # Panics
    /// When calls keep scheduling due calls for [`MAX_PASSES`] passes.
    #[track_caller]
    pub fn flush(&self) -> usize {
        let mut ran = 0;
        for _ in 0..MAX_PASSES {
            let pass = self.state.queue.run_due(self.state.now.get());
            if pass == 0 {
                return ran;
            }
            ran += pass;
        }
        panic!(
            "ManualClock::flush ran {MAX_PASSES} passes of due calls and new ones keep coming due; \
             a callback probably reschedules itself with no delay"
        );
    }

    /// How far this clock has been advanced since it was created.
    pub fn elapsed(&self) -> Duration {
        self.state.now.get() - self.state.start
    }

    /// The pending calls, earliest first.
    pub fn calls(&self) -> Vec<DelayedCall> {
        self.state.queue.pending()
    }

    /// The current time on this clock.
    pub fn now(&self) -> Instant {
        self.state.now.get()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.state.now.get()
    }

    /// Schedules on this clock's queue. A delay too large for an `Instant`
    /// schedules the call a century ahead instead of panicking.
    fn schedule(&self, delay: Duration, callback: Box<dyn FnOnce()>) -> DelayedCall {
        let now = self.state.now.get();
        let due = now.checked_add(delay).unwrap_or_else(|| now + FAR_FUTURE);
        self.state.queue.schedule_at(due, callback)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .field("pending", &self.state.queue.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_core::ClockExt;
    use std::cell::RefCell;

    fn recorder() -> Rc<RefCell<Vec<&'static str>>> {
        Rc::new(RefCell::new(Vec::new()))
    }

    #[test]
    fn advance_runs_due_calls_in_time_order_and_leaves_later_ones() {
        let clock = ManualClock::new();
        let log = recorder();
        for (secs, name) in [(3, "c"), (1, "a"), (2, "b"), (10, "late")] {
            let log = log.clone();
            clock.call_later(Duration::from_secs(secs), move || log.borrow_mut().push(name));
        }
        clock.advance(Duration::from_secs(3));
        assert_eq!(*log.borrow(), ["a", "b", "c"]);
        let pending = clock.calls();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].time() - clock.now(), Duration::from_secs(7));
        assert_eq!(clock.elapsed(), Duration::from_secs(3));
    }

    #[test]
    fn zero_delay_calls_scheduled_from_callbacks_wait_for_the_next_turn() {
        let clock = ManualClock::new();
        let log = recorder();
        let inner_clock = clock.clone();
        let inner_log = log.clone();
        clock.call_later(Duration::from_secs(1), move || {
            inner_log.borrow_mut().push("first");
            let log = inner_log.clone();
            inner_clock.call_later(Duration::ZERO, move || log.borrow_mut().push("chained"));
            let log = inner_log.clone();
            inner_clock.call_later(Duration::from_secs(5), move || log.borrow_mut().push("later"));
        });
        clock.advance(Duration::from_secs(1));
        assert_eq!(*log.borrow(), ["first"]);
        clock.advance(Duration::ZERO);
        assert_eq!(*log.borrow(), ["first", "chained"]);
        assert_eq!(clock.calls().len(), 1);
    }

    #[test]
    fn flush_runs_chains_of_zero_delay_calls_without_moving_time() {
        let clock = ManualClock::new();
        let count = Rc::new(Cell::new(0));
        fn chain(clock: ManualClock, count: Rc<Cell<u32>>) {
            count.set(count.get() + 1);
            if count.get() < 10 {
                let next = clock.clone();
                clock.call_later(Duration::ZERO, move || chain(next, count));
            }
        }
        let (c, n) = (clock.clone(), count.clone());
        clock.call_later(Duration::ZERO, move || chain(c, n));
        clock.call_later(Duration::from_secs(1), || {
            panic!("not due: flush does not move time")
        });
        assert_eq!(clock.flush(), 10);
        assert_eq!(count.get(), 10);
        assert_eq!(clock.elapsed(), Duration::ZERO);
        assert_eq!(clock.flush(), 0);
    }

    #[test]
    fn advance_by_zero_runs_calls_due_now() {
        let clock = ManualClock::new();
        let log = recorder();
        let inner = log.clone();
        clock.call_later(Duration::ZERO, move || inner.borrow_mut().push("now"));
        assert!(log.borrow().is_empty(), "never run from inside call_later");
        clock.advance(Duration::ZERO);
        assert_eq!(*log.borrow(), ["now"]);
    }

    #[test]
    fn pump_steps_time_in_increments() {
        let clock = ManualClock::new();
        let seen = Rc::new(RefCell::new(Vec::new()));
        for secs in [1, 2, 3] {
            let seen = seen.clone();
            let at = clock.clone();
            clock.call_later(Duration::from_secs(secs), move || {
                seen.borrow_mut().push(at.elapsed())
            });
        }
        clock.pump(&[Duration::from_millis(1500), Duration::from_millis(1500)]);
        assert_eq!(
            *seen.borrow(),
            [
                Duration::from_millis(1500),
                Duration::from_secs(3),
                Duration::from_secs(3)
            ]
        );
    }

    #[test]
    fn cancelled_calls_do_not_run_and_are_not_listed() {
        let clock = ManualClock::new();
        let log = recorder();
        let inner = log.clone();
        let call = clock.call_later(Duration::from_secs(1), move || inner.borrow_mut().push("ran"));
        assert!(call.cancel());
        assert!(clock.calls().is_empty());
        clock.advance(Duration::from_secs(2));
        assert!(log.borrow().is_empty());
    }

    #[test]
    fn huge_delays_do_not_overflow() {
        let clock = ManualClock::new();
        let call = clock.call_later(Duration::MAX, || {});
        clock.advance(Duration::from_secs(365 * 24 * 60 * 60));
        assert!(call.active());
    }

    #[test]
    #[should_panic(expected = "reschedules itself with no delay")]
    fn a_call_that_reschedules_itself_forever_is_reported() {
        fn again(clock: ManualClock) {
            let next = clock.clone();
            clock.call_later(Duration::ZERO, move || again(next));
        }
        let clock = ManualClock::new();
        again(clock.clone());
        clock.flush();
    }
}
