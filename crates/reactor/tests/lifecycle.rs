//! The loop's lifecycle: run, stop, run again, `run_until`, `crash`,
//! `call_when_running`, and system event triggers in their phases.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::deferred::{defer_later, fail};
use gyre_core::errors::{ConnectionLost, TimedOut};
use gyre_core::prelude::*;
use gyre_reactor::{ListenOptions, NotRunning, Phase, Reactor, SystemEvent};

type Log = Rc<RefCell<Vec<String>>>;

fn note(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

/// Fails the test if the reactor is still running after `limit`: leaves the
/// loop with `crash` and records it, for [`Guard::check`].
struct Guard {
    call: DelayedCall,
    fired: Rc<Cell<bool>>,
}

impl Guard {
    fn new(reactor: &Reactor, limit: Duration) -> Guard {
        let fired = Rc::new(Cell::new(false));
        let flag = fired.clone();
        let r = reactor.clone();
        let call = reactor.call_later(limit, move || {
            flag.set(true);
            r.crash();
        });
        Guard { call, fired }
    }

    fn check(self) {
        self.call.cancel();
        assert!(!self.fired.get(), "the test ran past its time limit");
    }
}

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn a_reactor_runs_stops_and_runs_again_with_its_timers_kept() {
    let reactor = Reactor::new().unwrap();
    let log: Log = Rc::default();
    assert!(!reactor.is_running());

    // First run: a timer that outlives the run, and one that stops it.
    let (l, r) = (log.clone(), reactor.clone());
    reactor.call_later(Duration::from_millis(40), move || {
        note(&l, "late timer");
        r.stop().unwrap();
    });
    let (l, r) = (log.clone(), reactor.clone());
    reactor.call_when_running(move || {
        note(&l, format!("running {}", r.is_running()));
        let r2 = r.clone();
        r.call_later(Duration::from_millis(5), move || r2.stop().unwrap());
    });
    let guard = Guard::new(&reactor, LIMIT);
    reactor.run().unwrap();
    guard.check();
    note(&log, "first run returned");
    assert!(!reactor.is_running());

    // Second run: the pending timer fires, and stops it again.
    let l = log.clone();
    reactor.call_when_running(move || note(&l, "running again"));
    let guard = Guard::new(&reactor, LIMIT);
    reactor.run().unwrap();
    guard.check();
    assert_eq!(
        *log.borrow(),
        [
            "running true",
            "first run returned",
            "running again",
            "late timer"
        ]
    );
}

#[test]
fn run_until_returns_the_value_or_the_failure_and_stops() {
    let reactor = Reactor::new().unwrap();
    let answer = defer_later(&reactor, Duration::from_millis(5), || Ok(42));
    assert_eq!(reactor.run_until(answer).unwrap(), 42);
    assert!(!reactor.is_running());

    let failed = defer_later(&reactor, Duration::from_millis(5), || {
        Err::<u8, _>(Failure::new(TimedOut::new()))
    });
    assert!(reactor.run_until(failed).unwrap_err().is::<TimedOut>());

    // Already fired before the loop runs: returns after one start.
    assert_eq!(reactor.run_until(Deferred::succeed("now")).unwrap(), "now");
    assert!(reactor.run_until(fail::<()>(Failure::msg("early"))).is_err());
}

#[test]
fn run_until_reports_a_stop_before_the_deferred_fired() {
    let reactor = Reactor::new().unwrap();
    let never: Deferred<u8> = Deferred::new().0;
    let r = reactor.clone();
    reactor.call_later(Duration::from_millis(5), move || r.stop().unwrap());
    let failure = reactor.run_until(never).unwrap_err();
    assert!(failure.to_string().contains("stopped before"), "{failure}");
}

#[test]
fn crash_leaves_without_shutdown_triggers_which_wait_for_the_next_stop() {
    let reactor = Reactor::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    reactor.add_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        note(&l, "shutdown trigger")
    });
    let r = reactor.clone();
    reactor.call_later(Duration::from_millis(2), move || r.crash());
    let guard = Guard::new(&reactor, LIMIT);
    reactor.run().unwrap();
    guard.check();
    assert!(log.borrow().is_empty(), "crash runs no trigger");
    assert!(!reactor.is_running());

    let r = reactor.clone();
    reactor.call_when_running(move || r.stop().unwrap());
    let guard = Guard::new(&reactor, LIMIT);
    reactor.run().unwrap();
    guard.check();
    assert_eq!(*log.borrow(), ["shutdown trigger"]);
}

#[test]
fn call_when_running_before_run_waits_and_during_run_runs_at_once() {
    let reactor = Reactor::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    reactor.add_trigger(Phase::During, SystemEvent::Startup, move || {
        note(&l, "startup during")
    });
    let l = log.clone();
    reactor.call_when_running(move || note(&l, "when running (added before run)"));
    assert!(log.borrow().is_empty());
    let (l, r) = (log.clone(), reactor.clone());
    reactor.call_later(Duration::ZERO, move || {
        let l2 = l.clone();
        r.call_when_running(move || note(&l2, "when running (added while running)"));
        note(&l, "after the call");
        r.stop().unwrap();
    });
    let guard = Guard::new(&reactor, LIMIT);
    reactor.run().unwrap();
    guard.check();
    assert_eq!(
        *log.borrow(),
        [
            "startup during",
            "when running (added before run)",
            "when running (added while running)",
            "after the call"
        ]
    );
}

#[test]
fn triggers_run_in_phase_order_and_a_before_shutdown_deferred_delays_the_rest() {
    let reactor = Reactor::new().unwrap();
    let log: Log = Rc::default();
    let stopped_at = Rc::new(Cell::new(None::<Instant>));
    let during_at = Rc::new(Cell::new(None::<Instant>));
    for (phase, name) in [
        (Phase::After, "after"),
        (Phase::During, "during"),
        (Phase::Before, "before"),
    ] {
        let l = log.clone();
        reactor.add_trigger(phase, SystemEvent::Startup, move || {
            note(&l, format!("startup {name}"))
        });
    }
    // A connection-less listening port, closed by the reactor "during" shutdown.
    let port = reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
            protocol_factory(|_| Sink),
            ListenOptions::default(),
        )
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    let (l, r) = (log.clone(), reactor.clone());
    reactor.add_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        note(&l, "shutdown before: waiting 50 ms");
        let l = l.clone();
        defer_later(&r, Duration::from_millis(50), move || {
            note(&l, "shutdown before: done");
            Ok(())
        })
    });
    let l = log.clone();
    reactor.add_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        note(&l, "shutdown before: failing (logged, not fatal)");
        Err::<(), _>(Failure::msg("cleanup failed"))
    });
    let (l, at) = (log.clone(), during_at.clone());
    reactor.add_trigger(Phase::During, SystemEvent::Shutdown, move || {
        at.set(Some(Instant::now()));
        note(&l, "shutdown during");
    });
    let l = log.clone();
    reactor.add_trigger(Phase::After, SystemEvent::Shutdown, move || {
        let still_listening = std::net::TcpStream::connect(address).is_ok();
        note(&l, format!("shutdown after (port open: {still_listening})"));
    });
    let (r, at) = (reactor.clone(), stopped_at.clone());
    reactor.call_when_running(move || {
        at.set(Some(Instant::now()));
        r.stop().unwrap();
    });
    let guard = Guard::new(&reactor, LIMIT);
    reactor.run().unwrap();
    guard.check();
    assert_eq!(
        *log.borrow(),
        [
            "startup before",
            "startup during",
            "startup after",
            "shutdown before: waiting 50 ms",
            "shutdown before: failing (logged, not fatal)",
            "shutdown before: done",
            "shutdown during",
            "shutdown after (port open: false)",
        ]
    );
    let waited = during_at.get().unwrap() - stopped_at.get().unwrap();
    assert!(
        waited >= Duration::from_millis(50),
        "shutdown went on after {waited:?}"
    );
}

struct Sink;

impl Protocol for Sink {
    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

/// Records how its connection ended.
struct Watch(Log);

impl Protocol for Watch {
    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        note(&self.0, format!("lost: {}", reason.is::<ConnectionLost>()));
    }
}

#[test]
fn stopping_closes_connections_and_protocols_hear_it_before_run_returns() {
    let reactor = Reactor::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    let port = reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            protocol_factory(move |_| Watch(l.clone())),
            ListenOptions::default(),
        )
        .unwrap();
    let client = std::net::TcpStream::connect(port.host().socket_addr().unwrap()).unwrap();
    let r = reactor.clone();
    reactor.call_later(Duration::from_millis(30), move || r.stop().unwrap());
    let guard = Guard::new(&reactor, LIMIT);
    reactor.run().unwrap();
    guard.check();
    assert_eq!(*log.borrow(), ["lost: true"]);
    assert_eq!(reactor.source_count(), 0);
    drop(client);
}

#[test]
fn stop_when_not_running_is_an_error() {
    let reactor = Reactor::new().unwrap();
    assert_eq!(reactor.stop(), Err(NotRunning::new()));
    let r = reactor.clone();
    let second = Rc::new(Cell::new(None));
    let s = second.clone();
    reactor.call_when_running(move || {
        r.stop().unwrap();
        s.set(Some(r.stop()));
    });
    let guard = Guard::new(&reactor, LIMIT);
    reactor.run().unwrap();
    guard.check();
    assert_eq!(
        second.take(),
        Some(Err(NotRunning::new())),
        "a second stop while stopping"
    );
    assert_eq!(reactor.stop(), Err(NotRunning::new()), "after run returned");
}

#[test]
fn run_inside_run_is_refused() {
    let reactor = Reactor::new().unwrap();
    let nested = Rc::new(RefCell::new(None));
    let (n, r) = (nested.clone(), reactor.clone());
    reactor.call_when_running(move || {
        *n.borrow_mut() = Some(r.run().is_err());
        r.stop().unwrap();
    });
    reactor.run().unwrap();
    assert_eq!(*nested.borrow(), Some(true));
}

#[test]
fn a_removed_trigger_does_not_run_and_triggers_run_once() {
    let reactor = Reactor::new().unwrap();
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let removed = reactor.add_trigger(Phase::After, SystemEvent::Startup, move || c.set(c.get() + 100));
    let c = count.clone();
    reactor.add_trigger(Phase::After, SystemEvent::Startup, move || c.set(c.get() + 1));
    assert!(reactor.remove_trigger(removed));
    assert!(!reactor.remove_trigger(removed));
    for _ in 0..2 {
        let r = reactor.clone();
        reactor.call_when_running(move || r.stop().unwrap());
        reactor.run().unwrap();
    }
    assert_eq!(count.get(), 1);
}
