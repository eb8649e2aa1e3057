//! Deferreds and time: [`Deferred::add_timeout`], [`defer_later`] and
//! [`LoopingCall`]. All take a [`Clock`], so tests drive them with a manual
//! clock.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::chain;
use super::{Deferred, Outcome, Resolver, maybe};
use crate::clock::{Clock, ClockExt, DelayedCall};
use crate::errors::{Cancelled, TimedOut};
use crate::failure::Failure;

pub(super) fn add_timeout<T: 'static>(
    deferred: Deferred<T>,
    clock: &dyn Clock,
    timeout: Duration,
) -> Deferred<T> {
    let timed_out = Rc::new(Cell::new(false));
    let target = Rc::downgrade(deferred.chain_rc());
    let flag = timed_out.clone();
    let call = clock.call_later(timeout, move || {
        if let Some(chain) = target.upgrade() {
            flag.set(true);
            chain::cancel(&chain);
        }
    });
    deferred.then(move |result| {
        call.cancel();
        match result {
            Err(failure) if timed_out.get() && failure.is::<Cancelled>() => {
                Err(Failure::new(TimedOut::new()).context(format!("no result within {timeout:?}")))
            }
            other => other,
        }
    })
}

/// Twisted's `deferLater`: calls `f` after `delay` and fires with its outcome.
/// Cancelling before then cancels the call.
///
/// ```
/// use std::time::Duration;
/// use gyre_core::deferred::defer_later;
///
/// let clock = gyre_testing::ManualClock::new();
/// let answer = defer_later(&clock, Duration::from_secs(2), || Ok(42));
/// clock.advance(Duration::from_secs(1));
/// gyre_testing::assert_no_result(&answer);
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(gyre_testing::success_result_of(answer), 42);
/// ```
pub fn defer_later<R: Outcome>(
    clock: &dyn Clock,
    delay: Duration,
    f: impl FnOnce() -> R + 'static,
) -> Deferred<R::Value> {
    let call_slot: Rc<RefCell<Option<DelayedCall>>> = Rc::default();
    let cancel_slot = call_slot.clone();
    let (deferred, resolver) = Deferred::<()>::with_canceller(move |_resolver: &Resolver<()>| {
        if let Some(call) = cancel_slot.borrow_mut().take() {
            call.cancel();
        }
    });
    let call = clock.call_later(delay, move || resolver.callback(()));
    *call_slot.borrow_mut() = Some(call);
    deferred.and_then(move |()| f())
}

type LoopBody = Box<dyn FnMut(u64) -> Deferred<()>>;

struct LoopState {
    clock: Rc<dyn Clock>,
    body: RefCell<LoopBody>,
    interval: Cell<Duration>,
    running: Cell<bool>,
    run_at_start: Cell<bool>,
    start_time: Cell<Option<Instant>>,
    last_run: Cell<Option<Instant>>,
    call: RefCell<Option<DelayedCall>>,
    finished: RefCell<Option<Resolver<()>>>,
}

/// Twisted's `LoopingCall`: calls a function every `interval`.
///
/// Calls are scheduled on a fixed grid (start + n·interval), so a slow call
/// or a busy loop does not make the schedule drift; missed ticks are skipped,
/// and [`with_count`](Self::with_count) tells the function how many interval
/// boundaries passed since its last call. If the function returns a Deferred,
/// the next call waits for it. The Deferred from [`start`](Self::start) fires
/// when [`stop`](Self::stop) is called, or fails with the function's failure
/// (which also stops the loop).
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use gyre_core::deferred::LoopingCall;
///
/// let clock = Rc::new(gyre_testing::ManualClock::new());
/// let ticks = Rc::new(Cell::new(0));
/// let counter = ticks.clone();
/// let looping = LoopingCall::new(clock.clone(), move || counter.set(counter.get() + 1));
/// let done = looping.start(Duration::from_secs(1), true);
/// clock.pump(&[Duration::from_secs(1); 3]);
/// assert_eq!(ticks.get(), 4);
/// looping.stop();
/// gyre_testing::success_result_of(done);
/// ```
#[derive(Clone)]
pub struct LoopingCall {
    state: Rc<LoopState>,
}

impl LoopingCall {
    /// Calls `f` on each tick.
    pub fn new<R: Outcome<Value = ()>>(clock: Rc<dyn Clock>, mut f: impl FnMut() -> R + 'static) -> Self {
        Self::with_count(clock, move |_count| f())
    }

    /// Calls `f` with the number of interval boundaries since its previous
    /// call (1 normally, more when ticks were missed because the process was
    /// busy or suspended).
    pub fn with_count<R: Outcome<Value = ()>>(
        clock: Rc<dyn Clock>,
        mut f: impl FnMut(u64) -> R + 'static,
    ) -> Self {
        let body: LoopBody = Box::new(move |count| maybe(|| f(count)));
        LoopingCall {
            state: Rc::new(LoopState {
                clock,
                body: RefCell::new(body),
                interval: Cell::new(Duration::ZERO),
                running: Cell::new(false),
                run_at_start: Cell::new(false),
                start_time: Cell::new(None),
                last_run: Cell::new(None),
                call: RefCell::new(None),
                finished: RefCell::new(None),
            }),
        }
    }

    /// Starts calling every `interval` (zero: on every turn of the clock),
    /// with a first call now if `now` is true.
    ///
    /// # Panics
    /// If it is already running.
    pub fn start(&self, interval: Duration, now: bool) -> Deferred<()> {
        let state = &self.state;
        assert!(!state.running.get(), "LoopingCall started twice");
        let (deferred, resolver) = Deferred::new();
        *state.finished.borrow_mut() = Some(resolver);
        state.running.set(true);
        state.interval.set(interval);
        state.run_at_start.set(now);
        state.last_run.set(None);
        let start = state.clock.now();
        state.start_time.set(Some(start));
        if now {
            tick(&self.state);
        } else {
            schedule_from(&self.state, start);
        }
        deferred
    }

    /// Stops: no further calls; the `start` Deferred fires (at once, or when
    /// a call in progress finishes).
    pub fn stop(&self) {
        let state = &self.state;
        if !state.running.replace(false) {
            return;
        }
        let call = state.call.borrow_mut().take();
        if let Some(call) = call {
            call.cancel();
            finish(state, Ok(()));
        }
    }

    /// Whether it is running.
    pub fn running(&self) -> bool {
        self.state.running.get()
    }

    /// The interval it was started with.
    pub fn interval(&self) -> Duration {
        self.state.interval.get()
    }
}

impl fmt::Debug for LoopingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopingCall")
            .field("running", &self.running())
            .field("interval", &self.interval())
            .finish()
    }
}

fn finish(state: &LoopState, result: Result<(), Failure>) {
    let resolver = state.finished.borrow_mut().take();
    if let Some(resolver) = resolver {
        resolver.fire(result);
    }
}

/// How many whole intervals lie between the start and `time`.
fn intervals_at(state: &LoopState, time: Instant) -> u64 {
    let interval = state.interval.get();
    let start = state.start_time.get().expect("started");
    let elapsed = time.saturating_duration_since(start);
    (elapsed.as_nanos() / interval.as_nanos().max(1)) as u64
}

/// Counts interval boundaries since the last call; 0 means "too early, skip".
fn missed_ticks(state: &LoopState, now: Instant) -> u64 {
    if state.interval.get().is_zero() {
        return 1;
    }
    let this = intervals_at(state, now);
    match state.last_run.get() {
        Some(last) => this - intervals_at(state, last).min(this),
        // The first call counts from the start, plus one for a call "at" the
        // start when it ran immediately.
        None if state.run_at_start.get() => this + 1,
        None => this,
    }
}

fn tick(state: &Rc<LoopState>) {
    state.call.borrow_mut().take();
    let now = state.clock.now();
    let count = missed_ticks(state, now);
    if count == 0 {
        schedule_from(state, now);
        return;
    }
    state.last_run.set(Some(now));
    let deferred = (state.body.borrow_mut())(count);
    // Strong: a running loop is kept alive by what it waits on, as in
    // Twisted, so `LoopingCall::new(..).start(..)` works without keeping
    // the handle.
    let state = state.clone();
    drop(deferred.then(move |result| after_call(&state, result)));
}

fn after_call(state: &Rc<LoopState>, result: Result<(), Failure>) {
    match result {
        Err(failure) => {
            state.running.set(false);
            finish(state, Err(failure));
        }
        Ok(()) if state.running.get() => schedule_from(state, state.clock.now()),
        Ok(()) => finish(state, Ok(())),
    }
}

/// Schedules the next call at the next interval boundary after `when`.
fn schedule_from(state: &Rc<LoopState>, when: Instant) {
    let interval = state.interval.get();
    let delay = if interval.is_zero() {
        Duration::ZERO
    } else {
        let start = state.start_time.get().expect("started");
        let boundaries = intervals_at(state, when) as u128 + 1;
        let offset = (interval.as_nanos() * boundaries).min(u64::MAX as u128) as u64;
        (start + Duration::from_nanos(offset)).saturating_duration_since(when)
    };
    // Strong, for the same reason; the cycle through `state.call` ends
    // when the call runs or is cancelled (or when the clock is dropped,
    // which drops its pending callbacks).
    let scheduled = state.clone();
    let call = state.clock.call_later(delay, move || tick(&scheduled));
    *state.call.borrow_mut() = Some(call);
}
