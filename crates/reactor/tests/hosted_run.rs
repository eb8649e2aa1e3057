//! `Reactor::start_hosted`: a run a host loop drives. The reactor counts as
//! running (startup triggers, `call_when_running`, `stop()`), shutdown works
//! both ways (a `stop()` finishes over the host's turns; a host that quits
//! first gets a clean shutdown from `finish`), and work host code queues
//! between turns wakes the descriptor the host sleeps on.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::prelude::*;
use gyre_reactor::{HostedRun, ListenOptions, Phase, Reactor, SystemEvent};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

/// Whether the reactor's descriptor is readable within `wait`.
fn readable(reactor: &Reactor, wait: Duration) -> bool {
    let mut fds = [PollFd::new(reactor, PollFlags::IN)];
    let timeout = Timespec::try_from(wait).unwrap();
    poll(&mut fds, Some(&timeout)).unwrap() > 0
}

/// A host loop: poll(2) on the descriptor until `wake_at`, then a turn.
fn drive_until_finished(run: &HostedRun, limit: Duration) {
    let give_up = Instant::now() + limit;
    while !run.is_finished() {
        let now = Instant::now();
        assert!(now < give_up, "the hosted run did not finish within {limit:?}");
        let wait = run
            .wake_at()
            .map_or(give_up - now, |at| at.saturating_duration_since(now));
        readable(run.reactor(), wait.min(give_up - now));
        run.turn().unwrap();
    }
}

fn log_triggers(reactor: &Reactor) -> Rc<RefCell<Vec<&'static str>>> {
    let log: Rc<RefCell<Vec<&'static str>>> = Rc::default();
    let l = log.clone();
    reactor.add_trigger(Phase::After, SystemEvent::Startup, move || {
        l.borrow_mut().push("started")
    });
    let l = log.clone();
    reactor.add_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        l.borrow_mut().push("stopping")
    });
    log
}

#[test]
fn stop_finishes_over_the_hosts_turns_and_the_reactor_can_run_again() {
    let reactor = Reactor::new().unwrap();
    let log = log_triggers(&reactor);
    let run = reactor.start_hosted().unwrap();
    assert!(reactor.is_running());
    assert_eq!(*log.borrow(), ["started"]);
    assert!(reactor.start_hosted().is_err(), "already running");
    assert!(reactor.run().is_err(), "already running");

    let stopper = reactor.clone();
    reactor.call_later(Duration::from_millis(5), move || stopper.stop().unwrap());
    drive_until_finished(&run, Duration::from_secs(10));
    assert_eq!(*log.borrow(), ["started", "stopping"]);
    run.finish().unwrap();
    assert!(!reactor.is_running());

    // Run again, the ordinary way.
    let stopper = reactor.clone();
    reactor.call_later(Duration::from_millis(1), move || stopper.stop().unwrap());
    reactor.run().unwrap();
    reactor.close();
}

struct Recorder(Rc<Cell<bool>>);

impl Protocol for Recorder {
    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}

    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {
        self.0.set(true);
    }
}

#[test]
fn a_host_that_quits_first_gets_a_clean_shutdown_from_finish() {
    let reactor = Reactor::new().unwrap();
    let log = log_triggers(&reactor);
    let lost = Rc::new(Cell::new(false));
    let l = lost.clone();
    let port = reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            protocol_factory(move |_| Recorder(l.clone())),
            ListenOptions::default(),
        )
        .unwrap();
    let run = reactor.start_hosted().unwrap();
    let client = std::net::TcpStream::connect(port.host().socket_addr().unwrap()).unwrap();
    let give_up = Instant::now() + Duration::from_secs(10);
    while reactor.source_count() < 2 {
        assert!(Instant::now() < give_up, "the connection was not accepted");
        readable(&reactor, Duration::from_millis(100));
        run.turn().unwrap();
    }
    // The host quits: no more turns from it.
    run.finish().unwrap();
    assert!(!reactor.is_running());
    assert!(lost.get(), "the connection was closed by the shutdown");
    assert_eq!(*log.borrow(), ["started", "stopping"]);
    drop(client);
    reactor.close();
}

#[test]
fn work_queued_between_turns_wakes_the_hosts_descriptor() {
    let reactor = Reactor::new().unwrap();
    // Not hosted: a timer added on the reactor's thread writes nothing.
    let plain = reactor.call_later(Duration::from_secs(60), || {});
    assert!(!readable(&reactor, Duration::ZERO));
    plain.cancel();

    let run = reactor.start_hosted().unwrap();
    run.turn().unwrap();
    assert!(!readable(&reactor, Duration::ZERO), "nothing to do");
    // Host code (a button handler) adds a timer earlier than anything the
    // host armed for: the descriptor wakes the host, which turns and re-arms.
    reactor.call_later(Duration::from_secs(30), || {});
    assert!(readable(&reactor, Duration::ZERO));
    run.turn().unwrap();
    assert!(
        !readable(&reactor, Duration::ZERO),
        "the turn consumed the wake-up"
    );
    assert!(run.wake_at().is_some());

    // A call from the reactor's own thread, outside a turn.
    reactor.handle().call_from_thread(|_| {});
    assert!(readable(&reactor, Duration::ZERO));
    assert!(
        run.wake_at().is_some_and(|at| at <= Instant::now()),
        "work queued"
    );
    run.turn().unwrap();
    assert!(!readable(&reactor, Duration::ZERO));

    // Several in a row (only the first writes the eventfd): one turn clears it.
    for _ in 0..3 {
        reactor.call_later(Duration::from_secs(30), || {});
    }
    run.turn().unwrap();
    assert!(!readable(&reactor, Duration::ZERO));
    run.finish().unwrap();
    reactor.close();
}

#[test]
fn a_crash_ends_the_hosted_run_without_a_shutdown() {
    let reactor = Reactor::new().unwrap();
    let log = log_triggers(&reactor);
    let run = reactor.start_hosted().unwrap();
    let crasher = reactor.clone();
    reactor.call_later(Duration::from_millis(1), move || crasher.crash());
    drive_until_finished(&run, Duration::from_secs(10));
    run.finish().unwrap();
    assert!(!reactor.is_running());
    assert_eq!(*log.borrow(), ["started"], "no shutdown triggers after a crash");
    reactor.close();
}
