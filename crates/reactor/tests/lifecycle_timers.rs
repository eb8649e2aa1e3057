//! Timers through the reactor's clock: order, "now" means the next turn,
//! cancel, reset and delay.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::prelude::*;
use gyre_reactor::Reactor;

const LIMIT: Duration = Duration::from_secs(20);

/// Runs until stopped, failing the test if that takes longer than [`LIMIT`].
fn run_guarded(reactor: &Reactor) {
    let fired = Rc::new(Cell::new(false));
    let (flag, r) = (fired.clone(), reactor.clone());
    let guard = reactor.call_later(LIMIT, move || {
        flag.set(true);
        r.crash();
    });
    reactor.run().unwrap();
    guard.cancel();
    assert!(!fired.get(), "the test ran past its {LIMIT:?} limit");
}

/// A small deterministic generator (xorshift), so the test needs no RNG crate.
fn pseudo_random(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn a_thousand_timers_fire_in_deadline_order_ties_in_scheduling_order() {
    let reactor = Reactor::new().unwrap();
    let fired = Rc::new(RefCell::new(Vec::new()));
    let start = reactor.now();
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let mut expected = Vec::new();
    for index in 0..1000usize {
        // 0..=40 ms in whole milliseconds, so many deadlines tie.
        let delay = Duration::from_millis(pseudo_random(&mut seed) % 41);
        let f = fired.clone();
        let call = reactor.call_later(delay, move || f.borrow_mut().push(index));
        expected.push((call.time(), index));
    }
    // The reactor's clock is the scheduling clock: deadlines are now + delay.
    assert!(expected.iter().all(|(time, _)| *time >= start));
    expected.sort();
    let expected: Vec<usize> = expected.into_iter().map(|(_, index)| index).collect();
    let r = reactor.clone();
    reactor.call_later(Duration::from_millis(60), move || r.stop().unwrap());
    run_guarded(&reactor);
    assert_eq!(fired.borrow().len(), 1000);
    assert_eq!(*fired.borrow(), expected);
}

thread_local! {
    /// The log of the next test: calls from `call_from_thread` must be `Send`,
    /// so they reach it through the reactor thread's own storage.
    static TURN_LOG: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

fn log_turn(entry: &'static str) {
    TURN_LOG.with(|log| log.borrow_mut().push(entry));
}

#[test]
fn a_timer_for_now_from_inside_a_timer_runs_on_the_next_turn_not_reentrantly() {
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    reactor.call_later(Duration::ZERO, move || {
        r.call_later(Duration::ZERO, || log_turn("timer for now"));
        // Calls from this thread run in step 4 of this same turn, after the
        // timers of step 3: if the new timer ran in this pass, it would come
        // before this entry.
        r.handle().call_from_thread(|_| log_turn("rest of this turn"));
        log_turn("first timer returns");
    });
    let r = reactor.clone();
    reactor.call_later(Duration::from_millis(20), move || r.stop().unwrap());
    run_guarded(&reactor);
    let log = TURN_LOG.with(|log| log.take());
    assert_eq!(log, ["first timer returns", "rest of this turn", "timer for now"]);
}

#[test]
fn a_self_rescheduling_zero_delay_timer_does_not_starve_the_loop() {
    let reactor = Reactor::new().unwrap();
    let ticks = Rc::new(Cell::new(0u64));
    fn tick(reactor: Reactor, ticks: Rc<Cell<u64>>) {
        ticks.set(ticks.get() + 1);
        let again = reactor.clone();
        reactor.call_later(Duration::ZERO, move || tick(again, ticks));
    }
    tick(reactor.clone(), ticks.clone());
    // If "now" ran in the same pass, this stop would never get its turn.
    let r = reactor.clone();
    let stopped_after = Rc::new(Cell::new(0));
    let (t, s) = (ticks.clone(), stopped_after.clone());
    reactor.call_later(Duration::from_millis(10), move || {
        s.set(t.get());
        r.stop().unwrap();
    });
    run_guarded(&reactor);
    assert!(
        stopped_after.get() > 1,
        "the loop turned while the timer kept rescheduling itself"
    );
    reactor.close();
}

#[test]
fn cancel_reset_and_delay_move_calls_on_the_reactor_clock() {
    let reactor = Reactor::new().unwrap();
    let start = Instant::now();
    let when = Rc::new(RefCell::new(Vec::<(&str, Duration)>::new()));
    let record = |name: &'static str| {
        let when = when.clone();
        move || when.borrow_mut().push((name, start.elapsed()))
    };
    let cancelled = reactor.call_later(Duration::from_millis(20), record("cancelled"));
    let delayed = reactor.call_later(Duration::from_millis(20), record("delayed"));
    let reset = reactor.call_later(Duration::from_millis(200), record("reset"));
    let plain = reactor.call_later(Duration::from_millis(40), record("plain"));

    assert!(cancelled.cancel());
    assert!(
        !cancelled.cancel(),
        "cancelling twice reports it was no longer pending"
    );
    assert!(cancelled.cancelled() && !cancelled.active());
    let first_time = delayed.time();
    assert!(delayed.delay(Duration::from_millis(60)));
    assert_eq!(delayed.time(), first_time + Duration::from_millis(60));
    assert!(reset.reset(reactor.now(), Duration::from_millis(10)));

    let r = reactor.clone();
    reactor.call_later(Duration::from_millis(120), move || r.stop().unwrap());
    run_guarded(&reactor);

    let when = when.borrow();
    let names: Vec<&str> = when.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["reset", "plain", "delayed"]);
    let at = |name: &str| when.iter().find(|(n, _)| *n == name).unwrap().1;
    assert!(at("reset") >= Duration::from_millis(10) && at("reset") < Duration::from_millis(200));
    assert!(at("plain") >= Duration::from_millis(40));
    assert!(at("delayed") >= Duration::from_millis(80));
    assert!(reset.called() && plain.called() && delayed.called());
    assert!(
        !reset.reset(reactor.now(), Duration::from_millis(5)),
        "a call that ran cannot be reset"
    );
    assert!(
        !cancelled.delay(Duration::from_millis(5)),
        "nor a cancelled one delayed"
    );
}

#[test]
fn timers_do_not_fire_early() {
    let reactor = Reactor::new().unwrap();
    let lateness = Rc::new(RefCell::new(Vec::new()));
    for ms in [1u64, 5, 15, 30] {
        let due = Instant::now() + Duration::from_millis(ms);
        let l = lateness.clone();
        reactor.call_later(Duration::from_millis(ms), move || {
            l.borrow_mut().push(Instant::now() >= due)
        });
    }
    let r = reactor.clone();
    reactor.call_later(Duration::from_millis(40), move || r.stop().unwrap());
    run_guarded(&reactor);
    assert_eq!(*lateness.borrow(), [true; 4]);
}
