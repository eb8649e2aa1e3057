//! Cancellation: cancellers, `Cancelled`, propagation to inner Deferreds,
//! timeouts.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::Resolver;
use gyre_core::deferred::defer_later;
use gyre_core::errors::{Cancelled, TimedOut};
use gyre_core::prelude::*;
use gyre_testing::{ManualClock, assert_no_result, capture_unhandled, failure_result_of, success_result_of};

#[test]
fn cancelling_an_unfired_deferred_without_canceller_fails_with_cancelled() {
    let (d, r) = Deferred::<i32>::new();
    d.cancel();
    assert!(failure_result_of(d).is::<Cancelled>());
    // The source's late fire is ignored once, silently.
    let ((), reports) = capture_unhandled(|| r.callback(1));
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn the_canceller_runs_and_may_fire_the_deferred_itself() {
    let called = Rc::new(Cell::new(false));
    let c = called.clone();
    let (d, _r) = Deferred::<i32>::with_canceller(move |resolver| {
        c.set(true);
        resolver.errback(Failure::msg("aborted the connection attempt"));
    });
    d.cancel();
    assert!(called.get());
    assert_eq!(failure_result_of(d).to_string(), "aborted the connection attempt");
}

#[test]
fn a_canceller_that_does_not_fire_leads_to_cancelled() {
    let (d, _r) = Deferred::<i32>::with_canceller(|_resolver| {});
    let d = d.map(|x| x + 1);
    d.cancel();
    assert!(failure_result_of(d).is::<Cancelled>());
}

#[test]
fn cancelling_a_fired_deferred_does_nothing() {
    let d = gyre_core::deferred::succeed(5);
    d.cancel();
    assert_eq!(success_result_of(d), 5);
}

#[test]
fn cancel_reaches_the_inner_deferred_a_chain_waits_on() {
    let inner_cancelled = Rc::new(Cell::new(false));
    let flag = inner_cancelled.clone();
    let source: Rc<std::cell::RefCell<Option<Resolver<i32>>>> = Rc::default();
    let keep = source.clone();
    let (outer, fire_outer) = Deferred::<()>::new();
    let chained = outer.and_then(move |()| {
        let (inner, resolver) = Deferred::<i32>::with_canceller(move |_| flag.set(true));
        // The operation keeps its resolver, as a transport or timer would.
        *keep.borrow_mut() = Some(resolver);
        inner
    });
    fire_outer.callback(());
    assert_no_result(&chained);
    chained.cancel();
    assert!(inner_cancelled.get(), "the inner Deferred's canceller ran");
    assert!(failure_result_of(chained).is::<Cancelled>());
    assert!(source.borrow().as_ref().unwrap().is_fired());
}

#[test]
fn cancelling_a_chain_whose_inner_deferred_was_abandoned_fails_it_with_cancelled() {
    let (outer, fire_outer) = Deferred::<()>::new();
    // The inner Deferred's resolver is dropped at once: it can never fire.
    let chained = outer.and_then(|()| Deferred::<i32>::new().0);
    fire_outer.callback(());
    assert_no_result(&chained);
    chained.cancel();
    assert!(failure_result_of(chained).is::<Cancelled>());
}

#[test]
fn add_timeout_fails_with_timed_out_and_cancels_the_operation() {
    let clock = ManualClock::new();
    let stopped = Rc::new(Cell::new(false));
    let s = stopped.clone();
    let (d, _r) = Deferred::<i32>::with_canceller(move |_| s.set(true));
    let d = d.add_timeout(&clock, Duration::from_secs(5));
    clock.advance(Duration::from_secs(4));
    assert_no_result(&d);
    clock.advance(Duration::from_secs(1));
    assert!(stopped.get());
    let failure = failure_result_of(d);
    assert!(failure.is::<TimedOut>(), "{failure}");
}

#[test]
fn add_timeout_passes_results_and_other_cancellations_through() {
    let clock = ManualClock::new();
    let (d, r) = Deferred::<i32>::new();
    let d = d.add_timeout(&clock, Duration::from_secs(5));
    r.callback(3);
    assert_eq!(success_result_of(d), 3);
    assert!(clock.calls().is_empty(), "the timer was cancelled");

    let (d, _r) = Deferred::<i32>::new();
    let d = d.add_timeout(&clock, Duration::from_secs(5));
    d.cancel();
    assert!(
        failure_result_of(d).is::<Cancelled>(),
        "a user's cancel is not a timeout"
    );
}

#[test]
fn defer_later_runs_after_the_delay_and_can_be_cancelled() {
    let clock = ManualClock::new();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let d = defer_later(&clock, Duration::from_secs(1), move || {
        r.set(true);
        Ok(1)
    });
    d.cancel();
    assert!(clock.calls().is_empty());
    clock.advance(Duration::from_secs(2));
    assert!(!ran.get());
    assert!(failure_result_of(d).is::<Cancelled>());

    let d = defer_later(&clock, Duration::from_secs(1), || {
        gyre_core::deferred::succeed("waited")
    });
    clock.advance(Duration::from_secs(1));
    assert_eq!(success_result_of(d), "waited");
}
