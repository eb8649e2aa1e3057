//! LoopingCall and Cooperator, driven by a manual clock.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gyre_core::deferred::{Cooperator, LoopingCall, TaskState};
use gyre_core::errors::TaskStopped;
use gyre_core::prelude::*;
use gyre_testing::{ManualClock, assert_no_result, failure_result_of, success_result_of};

const SECOND: Duration = Duration::from_secs(1);

fn clock() -> Rc<ManualClock> {
    Rc::new(ManualClock::new())
}

#[test]
fn looping_call_runs_on_each_interval_with_or_without_an_immediate_call() {
    let clock = clock();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let looping = LoopingCall::new(clock.clone(), move || c.set(c.get() + 1));
    let done = looping.start(SECOND, false);
    assert_eq!(calls.get(), 0);
    clock.advance(SECOND);
    assert_eq!(calls.get(), 1);
    clock.pump(&[SECOND, SECOND]);
    assert_eq!(calls.get(), 3);
    looping.stop();
    assert!(!looping.running());
    success_result_of(done);
    clock.advance(SECOND * 5);
    assert_eq!(calls.get(), 3, "no calls after stop");
    assert!(clock.calls().is_empty());
}

#[test]
fn looping_call_counts_missed_ticks_and_keeps_its_grid() {
    let clock = clock();
    let counts = Rc::new(RefCell::new(Vec::new()));
    let c = counts.clone();
    let looping = LoopingCall::with_count(clock.clone(), move |n| c.borrow_mut().push(n));
    let _done = looping.start(SECOND, true);
    clock.advance(SECOND);
    clock.advance(Duration::from_millis(3500)); // ticks at 2, 3 and 4 s are missed
    clock.advance(Duration::from_millis(500)); // on the grid again at 5 s
    assert_eq!(*counts.borrow(), [1, 1, 3, 1]);
    let next = clock.calls()[0].time() - clock.now();
    assert_eq!(next, SECOND, "the next call is on the 1-second grid");
    looping.stop();
}

#[test]
fn looping_call_waits_for_a_returned_deferred() {
    let clock = clock();
    let resolvers: Rc<RefCell<Vec<Resolver<()>>>> = Rc::default();
    let r = resolvers.clone();
    let looping = LoopingCall::new(clock.clone(), move || {
        let (d, resolver) = Deferred::<()>::new();
        r.borrow_mut().push(resolver);
        d
    });
    let done = looping.start(SECOND, true);
    assert_eq!(resolvers.borrow().len(), 1);
    clock.advance(SECOND * 3);
    assert_eq!(
        resolvers.borrow().len(),
        1,
        "no new call while the last is pending"
    );
    looping.stop();
    assert_no_result(&done);
    let first = resolvers.borrow_mut().remove(0);
    first.callback(());
    success_result_of(done);
}

#[test]
fn a_failing_call_stops_the_loop_and_fails_start() {
    let clock = clock();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let looping = LoopingCall::new(clock.clone(), move || {
        c.set(c.get() + 1);
        if c.get() == 2 {
            Err(Failure::msg("tick failed"))
        } else {
            Ok(())
        }
    });
    let done = looping.start(SECOND, true);
    clock.pump(&[SECOND, SECOND, SECOND]);
    assert_eq!(calls.get(), 2);
    assert!(!looping.running());
    assert_eq!(failure_result_of(done).to_string(), "tick failed");
}

#[test]
fn a_looping_call_keeps_running_without_its_handle() {
    let clock = clock();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    drop(LoopingCall::new(clock.clone(), move || c.set(c.get() + 1)).start(SECOND, false));
    clock.pump(&[SECOND, SECOND]);
    assert_eq!(calls.get(), 2);
}

#[test]
fn zero_interval_runs_once_per_clock_turn() {
    let clock = clock();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let looping = LoopingCall::new(clock.clone(), move || c.set(c.get() + 1));
    let _done = looping.start(Duration::ZERO, false);
    assert_eq!(clock.calls().len(), 1);
    looping.stop();
    assert!(clock.calls().is_empty());
    assert_eq!(calls.get(), 0);
}

#[test]
fn cooperator_interleaves_tasks_within_its_step_budget() {
    let clock = clock();
    let cooperator = Cooperator::with_step_limit(clock.clone(), 4);
    let log = Rc::new(RefCell::new(Vec::new()));
    let (la, lb) = (log.clone(), log.clone());
    let a = cooperator.coiterate((0..3).map(move |i| la.borrow_mut().push(format!("a{i}"))));
    let b = cooperator.coiterate((0..3).map(move |i| lb.borrow_mut().push(format!("b{i}"))));
    assert!(log.borrow().is_empty(), "nothing runs until the clock turns");
    assert_eq!(clock.calls().len(), 1, "one tick is scheduled for both tasks");
    clock.advance(Duration::ZERO);
    assert_eq!(
        *log.borrow(),
        ["a0", "b0", "a1", "b1"],
        "four steps in the first tick"
    );
    assert_no_result(&a);
    clock.advance(Duration::ZERO);
    assert_eq!(*log.borrow(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
    success_result_of(a);
    success_result_of(b);
}

#[test]
fn cooperator_yields_to_the_loop_between_ticks() {
    let clock = clock();
    let cooperator = Cooperator::with_step_limit(clock.clone(), 2);
    let steps = Rc::new(Cell::new(0));
    let s = steps.clone();
    let task = cooperator.cooperate((0..5).map(move |_| s.set(s.get() + 1)));
    let mut per_tick = Vec::new();
    while task.state() == TaskState::Running {
        assert_eq!(clock.calls().len(), 1, "each tick schedules the next one");
        let before = steps.get();
        clock.advance(Duration::ZERO);
        per_tick.push(steps.get() - before);
        assert!(per_tick.len() < 10, "the task never finished");
    }
    // Two steps per tick; the sixth step finds the iterator exhausted.
    assert_eq!(per_tick, [2, 2, 1]);
    assert_eq!(task.state(), TaskState::Done);
    assert!(clock.calls().is_empty());
}

#[test]
fn cooperative_tasks_wait_for_yielded_deferreds_and_fail_on_errors() {
    let clock = clock();
    let cooperator = Cooperator::with_step_limit(clock.clone(), 100);
    let (gate, open) = Deferred::<()>::new();
    let gate = Rc::new(RefCell::new(Some(gate)));
    let steps = Rc::new(Cell::new(0));
    let s = steps.clone();
    let g = gate.clone();
    let task = cooperator.cooperate((0..3).map(move |i| {
        s.set(s.get() + 1);
        if i == 1 {
            g.borrow_mut().take().unwrap()
        } else {
            gyre_core::deferred::succeed(())
        }
    }));
    clock.advance(Duration::ZERO);
    assert_eq!(steps.get(), 2, "waits after yielding the gate");
    clock.advance(SECOND);
    assert_eq!(steps.get(), 2);
    open.callback(());
    clock.advance(Duration::ZERO);
    assert_eq!(steps.get(), 3);
    success_result_of(task.when_done());

    let failing = cooperator.cooperate((0..3).map(|i| {
        if i == 1 {
            Err(Failure::msg("step 1 broke"))
        } else {
            Ok(())
        }
    }));
    clock.advance(Duration::ZERO);
    assert_eq!(failing.state(), TaskState::Failed);
    assert_eq!(failure_result_of(failing.when_done()).to_string(), "step 1 broke");
}

#[test]
fn cooperative_tasks_pause_resume_and_stop() {
    let clock = clock();
    let cooperator = Cooperator::with_step_limit(clock.clone(), 1);
    let steps = Rc::new(Cell::new(0));
    let s = steps.clone();
    let task = cooperator.cooperate(std::iter::repeat_with(move || s.set(s.get() + 1)));
    let done = task.when_done();
    clock.advance(Duration::ZERO);
    let ran = steps.get();
    assert!(ran > 0);
    task.pause();
    clock.advance(SECOND);
    assert_eq!(steps.get(), ran, "paused tasks run no steps");
    task.resume();
    clock.advance(Duration::ZERO);
    assert!(steps.get() > ran);
    assert_eq!(cooperator.active_tasks(), 1);
    cooperator.stop();
    assert!(failure_result_of(done).is::<TaskStopped>());
    assert_eq!(task.state(), TaskState::Stopped);
    assert_eq!(cooperator.active_tasks(), 0);
}
