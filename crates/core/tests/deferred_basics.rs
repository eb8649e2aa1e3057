//! Deferred callback semantics: order, types, errbacks, recovery,
//! re-entrancy, waiting on inner Deferreds, pause and chaining.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::deferred::{DeferredState, fail, maybe, succeed};
use gyre_core::errors::{AlreadyFired, ConnectionLost, TimedOut};
use gyre_core::prelude::*;
use gyre_testing::{assert_no_result, capture_unhandled, failure_result_of, success_result_of};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::default()
}

#[test]
fn callbacks_run_in_order_each_feeding_the_next() {
    let (d, r) = Deferred::<i32>::new();
    let d = d.map(|x| x + 1).map(|x| x * 10).map(|x| format!("<{x}>"));
    assert_no_result(&d);
    r.callback(4);
    assert_eq!(success_result_of(d), "<50>");
}

#[test]
fn callbacks_added_after_firing_run_at_once() {
    let seen = log();
    let s = seen.clone();
    let d = succeed(3).map(move |x| {
        s.borrow_mut().push(format!("saw {x}"));
        x
    });
    assert_eq!(*seen.borrow(), ["saw 3"]);
    assert_eq!(success_result_of(d), 3);
}

#[test]
fn an_error_skips_callbacks_until_an_errback_recovers() {
    let seen = log();
    let (s1, s2, s3) = (seen.clone(), seen.clone(), seen.clone());
    let (d, r) = Deferred::<u8>::new();
    let d = d
        .and_then(|_| -> Result<u8, Failure> { Err(Failure::new(ConnectionLost::new())) })
        .map(move |x| {
            s1.borrow_mut().push("skipped callback".into());
            x
        })
        .or_else(move |failure| {
            s2.borrow_mut().push(format!("errback: {failure}"));
            failure.trap::<ConnectionLost>()?;
            Ok(7)
        })
        .map(move |x| {
            s3.borrow_mut()
                .push(format!("back on the callback path with {x}"));
            x * 2
        });
    r.callback(1);
    assert_eq!(success_result_of(d), 14);
    assert_eq!(
        *seen.borrow(),
        [
            "errback: connection to the other side was lost in a non-clean fashion",
            "back on the callback path with 7"
        ]
    );
}

#[test]
fn trap_reraises_unmatched_failures_unchanged() {
    let d = fail::<u8>(Failure::msg("disk full").context("saving")).or_else(|failure| {
        failure.trap::<TimedOut>()?;
        Ok(0)
    });
    let failure = failure_result_of(d);
    assert_eq!(failure.to_string(), "saving: disk full");
}

#[test]
fn add_callbacks_does_not_route_callback_errors_to_its_own_errback() {
    let d = succeed(1).add_callbacks(
        |_| -> Result<i32, Failure> { Err(Failure::msg("from callback")) },
        |_failure| Ok(99),
    );
    assert_eq!(failure_result_of(d).to_string(), "from callback");
    let d = fail::<i32>(Failure::msg("x")).add_callbacks(Ok, |_failure| Ok(99));
    assert_eq!(success_result_of(d), 99);
}

#[test]
fn map_err_and_inspect() {
    let seen = log();
    let s = seen.clone();
    let d = fail::<i32>(Failure::msg("inner"))
        .inspect(move |r| s.borrow_mut().push(format!("ok={}", r.is_ok())))
        .map_err(|f| f.context("outer"));
    assert_eq!(failure_result_of(d).to_string(), "outer: inner");
    assert_eq!(*seen.borrow(), ["ok=false"]);
}

#[test]
fn a_callback_returning_a_deferred_pauses_the_chain_until_it_fires() {
    let (outer, fire_outer) = Deferred::<u32>::new();
    let (inner, fire_inner) = Deferred::<String>::new();
    let inner_slot = Rc::new(RefCell::new(Some(inner)));
    let slot = inner_slot.clone();
    let result = outer
        .and_then(move |n| {
            let inner = slot.borrow_mut().take().unwrap();
            inner.map(move |s| format!("{s}{n}"))
        })
        .map(|s| s.to_uppercase());
    fire_outer.callback(5);
    assert_eq!(result.state(), DeferredState::Waiting);
    assert_no_result(&result);
    fire_inner.callback("abc".into());
    assert_eq!(success_result_of(result), "ABC5");
}

#[test]
fn waiting_on_an_already_fired_deferred_continues_at_once() {
    let d = succeed(2).and_then(|n| succeed(n * 21));
    assert_eq!(success_result_of(d), 42);
    let d = succeed(2).and_then(|_| fail::<i32>(Failure::msg("inner failed")));
    assert_eq!(failure_result_of(d).to_string(), "inner failed");
}

#[test]
fn second_fire_is_reported_and_ignored() {
    let (d, r) = Deferred::<i32>::new();
    r.callback(1);
    assert!(r.try_fire(Ok(2)).unwrap_err().eq(&AlreadyFired::new()));
    let ((), reports) = capture_unhandled(|| r.callback(3));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("fired twice"), "{reports:?}");
    assert_eq!(success_result_of(d), 1);
}

#[test]
fn a_callback_can_add_callbacks_to_its_own_deferred() {
    let (d, r) = Deferred::<i32>::new();
    let d = Rc::new(d);
    let seen = log();
    let (d2, s) = (d.clone(), seen.clone());
    d.add_callback(move |x| {
        let s2 = s.clone();
        s.borrow_mut().push(format!("first {x}"));
        d2.add_callback(move |y| {
            s2.borrow_mut().push(format!("added from inside {y}"));
            Ok(y + 1)
        });
        Ok(x * 2)
    });
    let s = seen.clone();
    d.add_callback(move |x| {
        s.borrow_mut().push(format!("second {x}"));
        Ok(x)
    });
    r.callback(5);
    // Twisted appends: the callback added from inside runs after those
    // already queued.
    assert_eq!(*seen.borrow(), ["first 5", "second 10", "added from inside 10"]);
    let d = Rc::try_unwrap(d).unwrap();
    assert_eq!(success_result_of(d), 11);
}

#[test]
fn a_callback_can_fire_another_deferred_whose_callbacks_run_synchronously() {
    let (a, fire_a) = Deferred::<i32>::new();
    let (b, fire_b) = Deferred::<i32>::new();
    let seen = log();
    let s = seen.clone();
    let b = b.map(move |x| {
        s.borrow_mut().push(format!("b got {x}"));
        x
    });
    let s = seen.clone();
    let a = a.map(move |x| {
        fire_b.callback(x + 100);
        s.borrow_mut().push("a after firing b".into());
        x
    });
    fire_a.callback(1);
    assert_eq!(*seen.borrow(), ["b got 101", "a after firing b"]);
    assert_eq!(success_result_of(a), 1);
    assert_eq!(success_result_of(b), 101);
}

#[test]
fn a_callback_can_fire_its_own_deferreds_resolver_which_is_reported() {
    let (d, r) = Deferred::<i32>::new();
    let r2 = r.clone();
    let d = d.map(move |x| {
        assert!(r2.try_fire(Ok(0)).is_err());
        x
    });
    r.callback(8);
    assert_eq!(success_result_of(d), 8);
}

#[test]
fn pause_and_unpause() {
    let (d, r) = Deferred::<i32>::new();
    d.pause();
    d.pause();
    let d = d.map(|x| x + 1);
    r.callback(1);
    assert_eq!(d.state(), DeferredState::Waiting);
    d.unpause();
    assert_no_result(&d);
    d.unpause();
    assert_eq!(success_result_of(d), 2);
}

#[test]
fn chain_hands_the_result_to_another_deferred() {
    let (source, fire) = Deferred::<i32>::new();
    let (target, target_resolver) = Deferred::<i32>::new();
    let target = target.map(|x| x * 3);
    source.map(|x| x + 1).chain(target_resolver);
    fire.callback(1);
    assert_eq!(success_result_of(target), 6);
}

#[test]
fn chaining_into_a_fired_deferred_is_reported() {
    let (target, target_resolver) = Deferred::<i32>::new();
    target_resolver.callback(1);
    let ((), reports) = capture_unhandled(|| succeed(2).chain(target_resolver));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(success_result_of(target), 1);
}

#[test]
fn maybe_wraps_values_failures_and_deferreds() {
    assert_eq!(success_result_of(maybe(|| Ok(1))), 1);
    assert!(
        failure_result_of(maybe(|| -> Result<(), Failure> { Err(Failure::msg("x")) })).to_string() == "x"
    );
    let (inner, r) = Deferred::<i32>::new();
    let d = maybe(move || inner);
    assert_no_result(&d);
    r.callback(5);
    assert_eq!(success_result_of(d), 5);
    let unit: Deferred<()> = maybe(|| ());
    success_result_of(unit);
}

#[test]
fn question_mark_converts_errors_inside_callbacks() {
    let d = succeed("12x").and_then(|s| Ok(s.parse::<u32>()?));
    assert!(failure_result_of(d).is::<std::num::ParseIntError>());
}

#[test]
fn state_reports_where_the_chain_is() {
    let (d, r) = Deferred::<i32>::new();
    assert_eq!(d.state(), DeferredState::Pending);
    assert!(!d.is_fired());
    r.callback(1);
    assert_eq!(d.state(), DeferredState::Succeeded);
    assert!(d.is_fired());
    let d = d.and_then(|_| -> Result<i32, Failure> { Err(Failure::msg("no")) });
    assert_eq!(d.state(), DeferredState::Failed);
    let _ = failure_result_of(d);
}

#[test]
fn an_unhandled_failure_is_reported_when_the_last_handle_drops() {
    let ((), reports) = capture_unhandled(|| {
        let (d, r) = Deferred::<i32>::new();
        let d = d.map(|x| x + 1);
        r.errback(Failure::msg("nobody handles me").context("fetching page"));
        drop(d);
        drop(r);
    });
    assert_eq!(reports, ["fetching page: nobody handles me"]);
}

#[test]
fn a_handled_failure_is_not_reported() {
    let ((), reports) = capture_unhandled(|| {
        let d = fail::<i32>(Failure::msg("x")).or_else(|_| Ok(0));
        drop(d);
        let (d, r) = Deferred::<i32>::new();
        drop(d);
        drop(r); // never fired: nothing to report
    });
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn a_failure_arriving_after_the_consumer_dropped_is_reported_when_the_source_drops() {
    let ((), reports) = capture_unhandled(|| {
        let (d, r) = Deferred::<i32>::new();
        drop(d.map(|x| x));
        r.errback(ConnectionLost::new());
        drop(r);
    });
    assert_eq!(reports.len(), 1);
}
