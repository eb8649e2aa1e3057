//! `run_until` only ever stops the run it started. Called where it cannot
//! run (inside a callback of the running reactor, inside a `run_once` turn)
//! it fails at once without touching the Deferred; and when its run was
//! stopped some other way, the Deferred firing later leaves later runs
//! alone.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::Deferred;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;

type Log = Rc<RefCell<Vec<String>>>;

fn note(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

/// A timer that crashes the loop should a test's own stop never come.
fn safety_net(reactor: &Reactor) {
    let again = reactor.clone();
    reactor.call_later(Duration::from_secs(10), move || again.crash());
}

/// Stops `reactor` from a callback queued now, noting whether the stop was
/// ours (`stop()` succeeds only on a reactor that is running and not yet
/// stopping).
fn stop_next(reactor: &Reactor, log: &Log) {
    let again = reactor.clone();
    let log = log.clone();
    reactor.call_later(Duration::ZERO, move || {
        let stopped = again.stop().is_ok();
        note(
            &log,
            if stopped {
                "stopped by us"
            } else {
                "already stopping"
            },
        );
    });
}

#[test]
fn run_until_inside_a_callback_fails_and_never_stops_the_outer_run() {
    let reactor = Reactor::new().unwrap();
    safety_net(&reactor);
    let log: Log = Rc::default();
    let inner = reactor.clone();
    let inner_log = log.clone();
    reactor.call_when_running(move || {
        let (deferred, resolver) = Deferred::<u32>::new();
        let nested = inner.run_until(deferred);
        note(
            &inner_log,
            format!("nested: {}", if nested.is_err() { "refused" } else { "ran" }),
        );
        // Fires after the refusal: must not stop the outer run.
        resolver.callback(7);
        stop_next(&inner, &inner_log);
    });
    reactor.run().unwrap();
    assert_eq!(*log.borrow(), ["nested: refused", "stopped by us"]);
    reactor.close();
}

#[test]
fn run_until_inside_a_run_once_turn_fails_without_effect() {
    let reactor = Reactor::new().unwrap();
    let log: Log = Rc::default();
    let inner = reactor.clone();
    let inner_log = log.clone();
    reactor.call_later(Duration::ZERO, move || {
        let (deferred, resolver) = Deferred::<u32>::new();
        let nested = inner.run_until(deferred);
        note(
            &inner_log,
            format!("nested: {}", if nested.is_err() { "refused" } else { "ran" }),
        );
        resolver.callback(7);
    });
    reactor.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), ["nested: refused"]);
    // A later run is not stopped by that Deferred.
    safety_net(&reactor);
    stop_next(&reactor, &log);
    reactor.run().unwrap();
    assert_eq!(*log.borrow(), ["nested: refused", "stopped by us"]);
    reactor.close();
}

/// Runs `run_until` on a Deferred that does not fire before something else
/// stops the reactor; returns the Deferred's resolver.
fn run_until_stopped_elsewhere(reactor: &Reactor) -> gyre_core::deferred::Resolver<u32> {
    let (deferred, resolver) = Deferred::<u32>::new();
    let again = reactor.clone();
    reactor.call_when_running(move || {
        again.stop().unwrap();
    });
    let result = reactor.run_until(deferred);
    assert!(result.is_err(), "stopped before the Deferred fired");
    resolver
}

#[test]
fn a_deferred_firing_between_runs_does_not_stop_the_next_run() {
    let reactor = Reactor::new().unwrap();
    let resolver = run_until_stopped_elsewhere(&reactor);
    resolver.callback(1);
    let log: Log = Rc::default();
    safety_net(&reactor);
    let again = reactor.clone();
    let inner_log = log.clone();
    reactor.call_when_running(move || stop_next(&again, &inner_log));
    reactor.run().unwrap();
    assert_eq!(*log.borrow(), ["stopped by us"]);
    reactor.close();
}

#[test]
fn a_deferred_firing_during_a_later_run_does_not_stop_it() {
    let reactor = Reactor::new().unwrap();
    let resolver = run_until_stopped_elsewhere(&reactor);
    let log: Log = Rc::default();
    safety_net(&reactor);
    let again = reactor.clone();
    let inner_log = log.clone();
    reactor.call_when_running(move || {
        resolver.callback(1);
        stop_next(&again, &inner_log);
    });
    reactor.run().unwrap();
    assert_eq!(*log.borrow(), ["stopped by us"]);
    reactor.close();
}

#[test]
fn run_until_still_returns_the_result_of_its_deferred() {
    let reactor = Reactor::new().unwrap();
    safety_net(&reactor);
    let (deferred, resolver) = Deferred::<u32>::new();
    reactor.call_later(Duration::from_millis(1), move || resolver.callback(42));
    assert_eq!(reactor.run_until(deferred).unwrap(), 42);
    // Already fired before the run starts.
    let (deferred, resolver) = Deferred::<u32>::new();
    resolver.callback(5);
    assert_eq!(reactor.run_until(deferred).unwrap(), 5);
    reactor.close();
}
