//! A time limit on a run of the reactor, shared by the test files: a timer
//! leaves the loop when the limit passes, and the test then fails.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::clock::ClockExt;
use gyre_reactor::Reactor;

/// How the time-limit timer leaves the loop.
#[allow(dead_code)] // each test file uses one
#[derive(Clone, Copy)]
pub enum Leave {
    /// `Reactor::stop`: shutdown triggers run, connections are closed.
    Stop,
    /// `Reactor::crash`: leave at once (a hung task cannot hold it up).
    Crash,
}

/// Runs `run` (which runs `reactor`) with a timer that leaves the loop
/// after `limit`; fails the test when the timer fired.
#[track_caller]
pub fn within<R>(reactor: &Reactor, limit: Duration, leave: Leave, run: impl FnOnce() -> R) -> R {
    let timed_out = Rc::new(Cell::new(false));
    let (flag, r) = (timed_out.clone(), reactor.clone());
    let guard = reactor.call_later(limit, move || {
        flag.set(true);
        match leave {
            Leave::Stop => drop(r.stop()),
            Leave::Crash => r.crash(),
        }
    });
    let result = run();
    guard.cancel();
    assert!(
        !timed_out.get(),
        "the test did not finish within {limit:?} (a task or callback hung)"
    );
    result
}
