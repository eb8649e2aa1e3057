//! DeferredList, gather, race, DeferredLock, DeferredSemaphore, DeferredQueue.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gyre_core::deferred::{
    DeferredList, DeferredLock, DeferredQueue, DeferredSemaphore, ListOutcome, fail, gather, race, succeed,
};
use gyre_core::errors::{AllFailed, Cancelled, FirstError, QueueOverflow, QueueUnderflow};
use gyre_core::prelude::*;
use gyre_testing::{assert_no_result, capture_unhandled, failure_result_of, success_result_of};

fn pending(n: usize) -> (Vec<Deferred<i32>>, Vec<Resolver<i32>>) {
    (0..n).map(|_| Deferred::new()).unzip()
}

#[test]
fn deferred_list_waits_for_all_and_keeps_order() {
    let (ds, rs) = pending(3);
    let list = DeferredList::new(ds).consume_errors().into_deferred();
    rs[2].callback(30);
    rs[0].errback(Failure::msg("zero failed"));
    assert_no_result(&list);
    rs[1].callback(10);
    let ListOutcome::All(results) = success_result_of(list) else {
        panic!("expected All")
    };
    assert_eq!(results[0].as_ref().unwrap_err().to_string(), "zero failed");
    assert_eq!(*results[1].as_ref().unwrap(), 10);
    assert_eq!(*results[2].as_ref().unwrap(), 30);
}

#[test]
fn deferred_list_of_nothing_fires_at_once() {
    let list = DeferredList::<i32>::new([]).into_deferred();
    assert!(matches!(success_result_of(list), ListOutcome::All(v) if v.is_empty()));
}

#[test]
fn fire_on_one_callback_fires_with_the_first_success() {
    let (ds, rs) = pending(3);
    let list = DeferredList::new(ds).fire_on_one_callback().into_deferred();
    rs[0].errback(Failure::msg("x"));
    rs[2].callback(7);
    match success_result_of(list) {
        ListOutcome::First { index, value } => assert_eq!((index, value), (2, 7)),
        other => panic!("{other:?}"),
    }
    rs[1].callback(1);
}

#[test]
fn fire_on_one_errback_fails_with_first_error() {
    let (ds, rs) = pending(2);
    let list = DeferredList::new(ds)
        .fire_on_one_errback()
        .consume_errors()
        .into_deferred();
    rs[1].errback(Failure::msg("second broke"));
    let failure = failure_result_of(list);
    let first = failure.downcast_ref::<FirstError>().expect("FirstError");
    assert_eq!(first.index, 1);
    assert_eq!(first.failure.to_string(), "second broke");
    rs[0].callback(0);
}

#[test]
fn without_consume_errors_failures_are_also_reported_by_their_deferred() {
    let (list_result, reports) = capture_unhandled(|| {
        let list = DeferredList::new([succeed(1), fail(Failure::msg("left unhandled"))]).into_deferred();
        matches!(success_result_of(list), ListOutcome::All(_))
    });
    assert!(list_result);
    assert_eq!(reports, ["left unhandled"]);
    let ((), reports) = capture_unhandled(|| {
        let list = DeferredList::new([fail::<i32>(Failure::msg("consumed"))])
            .consume_errors()
            .into_deferred();
        drop(success_result_of(list));
    });
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn cancelling_a_list_cancels_its_members() {
    let (ds, _rs) = pending(2);
    let list = DeferredList::new(ds).consume_errors().into_deferred();
    list.cancel();
    let ListOutcome::All(results) = success_result_of(list) else {
        panic!()
    };
    assert!(results.iter().all(|r| r.as_ref().unwrap_err().is::<Cancelled>()));
}

#[test]
fn gather_collects_values_or_fails_with_the_first_failure() {
    let (ds, rs) = pending(3);
    let all = gather(ds);
    rs[1].callback(2);
    rs[0].callback(1);
    rs[2].callback(3);
    assert_eq!(success_result_of(all), [1, 2, 3]);

    let (ds, rs) = pending(3);
    let all = gather(ds);
    rs[2].errback(Failure::msg("third"));
    rs[0].errback(Failure::msg("first, but later"));
    assert_eq!(failure_result_of(all).to_string(), "third");
    rs[1].callback(0);
}

#[test]
fn race_takes_the_first_success_and_cancels_the_rest() {
    let cancelled = Rc::new(Cell::new(0));
    let mut ds = Vec::new();
    let mut rs = Vec::new();
    for _ in 0..3 {
        let c = cancelled.clone();
        let (d, r) = Deferred::<&str>::with_canceller(move |_| c.set(c.get() + 1));
        ds.push(d);
        rs.push(r);
    }
    let winner = race(ds);
    rs[0].errback(Failure::msg("lost early"));
    rs[1].callback("fast");
    assert_eq!(success_result_of(winner), (1, "fast"));
    assert_eq!(cancelled.get(), 1, "only the still-pending loser is cancelled");
}

#[test]
fn race_fails_when_all_fail() {
    let winner = race([fail::<i32>(Failure::msg("a")), fail(Failure::msg("b"))]);
    let failure = failure_result_of(winner);
    let all = failure.downcast_ref::<AllFailed>().unwrap();
    assert_eq!(all.failures.len(), 2);
    assert!(failure_result_of(race(Vec::<Deferred<i32>>::new())).is::<AllFailed>());
}

#[test]
fn lock_serialises_and_hands_over_in_arrival_order() {
    let lock = DeferredLock::new();
    let order = Rc::new(RefCell::new(Vec::new()));
    let first = success_result_of(lock.acquire());
    let mut waiting = Vec::new();
    for n in 0..3 {
        let order = order.clone();
        waiting.push(lock.acquire().map(move |permit| {
            order.borrow_mut().push(n);
            permit
        }));
    }
    assert!(lock.locked());
    waiting[1].cancel();
    assert!(failure_result_of(waiting.remove(1)).is::<Cancelled>());
    drop(first);
    assert_eq!(*order.borrow(), [0]);
    let second = success_result_of(waiting.remove(0));
    assert_no_result(&waiting[0]);
    second.release();
    assert_eq!(*order.borrow(), [0, 2]);
    drop(success_result_of(waiting.remove(0)));
    assert!(!lock.locked());
}

#[test]
fn semaphore_limits_concurrency_in_run() {
    let semaphore = DeferredSemaphore::new(2);
    let running = Rc::new(Cell::new(0));
    let peak = Rc::new(Cell::new(0));
    let mut resolvers = Vec::new();
    let mut results = Vec::new();
    for n in 0..5 {
        let (d, r) = Deferred::<i32>::new();
        resolvers.push(r);
        let slot = Rc::new(RefCell::new(Some(d)));
        let (running, peak) = (running.clone(), peak.clone());
        results.push(semaphore.run(move || {
            running.set(running.get() + 1);
            peak.set(peak.get().max(running.get()));
            let running = running.clone();
            slot.borrow_mut().take().unwrap().map(move |v| {
                running.set(running.get() - 1);
                v + n
            })
        }));
    }
    assert_eq!((running.get(), semaphore.waiting()), (2, 3));
    for r in &resolvers {
        r.callback(100);
    }
    assert_eq!(peak.get(), 2);
    let values: Vec<i32> = results.into_iter().map(success_result_of).collect();
    assert_eq!(values, [100, 101, 102, 103, 104]);
    assert_eq!(semaphore.available(), 2);
}

#[test]
fn semaphore_run_releases_on_failure() {
    let semaphore = DeferredSemaphore::new(1);
    let d = semaphore.run(|| -> Result<(), Failure> { Err(Failure::msg("op failed")) });
    assert_eq!(failure_result_of(d).to_string(), "op failed");
    assert_eq!(semaphore.available(), 1);
}

#[test]
fn queue_hands_items_to_waiters_in_order() {
    let queue = DeferredQueue::unbounded();
    queue.put(1).unwrap();
    assert_eq!(success_result_of(queue.get().unwrap()), 1);
    let a = queue.get().unwrap();
    let b = queue.get().unwrap();
    assert_eq!(queue.waiting(), 2);
    queue.put(2).unwrap();
    queue.put(3).unwrap();
    assert_eq!((success_result_of(a), success_result_of(b)), (2, 3));
    assert!(queue.is_empty());
}

#[test]
fn queue_limits_size_and_backlog() {
    let queue = DeferredQueue::new(Some(1), Some(1));
    queue.put("a").unwrap();
    assert!(queue.is_full());
    assert_eq!(queue.put("b"), Err(QueueOverflow::new()));
    assert_eq!(success_result_of(queue.get().unwrap()), "a");
    let waiter = queue.get().unwrap();
    assert_eq!(queue.get().unwrap_err(), QueueUnderflow::new());
    waiter.cancel();
    assert!(failure_result_of(waiter).is::<Cancelled>());
    assert_eq!(queue.waiting(), 0);
    queue.put("c").unwrap();
    assert_eq!(queue.len(), 1, "a cancelled getter does not receive items");
}
