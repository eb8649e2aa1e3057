//! Deferreds as futures and futures as Deferreds, on the test executor.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use gyre_core::errors::Cancelled;
use gyre_core::prelude::*;
use gyre_testing::{ManualExecutor, assert_no_result, failure_result_of, success_result_of};

#[test]
fn awaiting_a_deferred_yields_its_result() {
    let executor = ManualExecutor::new();
    let (d, r) = Deferred::<u32>::new();
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    let doubled = Deferred::from_future(&executor, async move {
        let value = d.map(|v| v + 1).await?;
        g.set(Some(value));
        Ok(value * 2)
    });
    executor.run_until_stalled();
    assert_no_result(&doubled);
    r.callback(20);
    executor.run_until_stalled();
    assert_eq!(got.get(), Some(21));
    assert_eq!(success_result_of(doubled), 42);
    assert_eq!(executor.pending(), 0);
}

#[test]
fn awaiting_a_failed_deferred_gives_the_failure() {
    let executor = ManualExecutor::new();
    let d = Deferred::from_future(&executor, async {
        let value: u8 = gyre_core::deferred::fail(Failure::msg("refused")).await?;
        Ok(value)
    });
    executor.run_until_stalled();
    assert_eq!(failure_result_of(d).to_string(), "refused");
}

/// A future that never completes and records when it is dropped.
struct Forever(Rc<Cell<bool>>);

impl Future for Forever {
    type Output = Result<(), Failure>;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

impl Drop for Forever {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn cancelling_a_deferred_from_a_future_drops_the_future() {
    let executor = ManualExecutor::new();
    let dropped = Rc::new(Cell::new(false));
    let d = Deferred::from_future(&executor, Forever(dropped.clone()));
    executor.run_until_stalled();
    assert!(!dropped.get());
    d.cancel();
    assert!(dropped.get(), "the future is dropped at once");
    assert!(failure_result_of(d).is::<Cancelled>());
    executor.run_until_stalled();
    assert_eq!(executor.pending(), 0, "the driver task finished");
}

#[test]
fn dropping_the_awaiting_future_cancels_the_deferred() {
    let executor = ManualExecutor::new();
    let inner_cancelled = Rc::new(Cell::new(false));
    let flag = inner_cancelled.clone();
    let (inner, _resolver) = Deferred::<u8>::with_canceller(move |_| flag.set(true));
    let outer = Deferred::from_future(&executor, async move { inner.await });
    executor.run_until_stalled();
    outer.cancel();
    assert!(
        inner_cancelled.get(),
        "cancelling the outer Deferred dropped the await, which cancelled the inner one"
    );
    assert!(failure_result_of(outer).is::<Cancelled>());
}

#[test]
fn a_future_may_cancel_its_own_deferred_while_being_polled() {
    let executor = ManualExecutor::new();
    let slot: Rc<std::cell::RefCell<Option<Deferred<()>>>> = Rc::default();
    let s = slot.clone();
    let d = Deferred::from_future(&executor, async move {
        // Yield once so the Deferred is stored before we cancel it.
        YieldOnce(false).await;
        if let Some(own) = s.borrow().as_ref() {
            own.cancel();
        }
        Ok(())
    });
    *slot.borrow_mut() = Some(d);
    executor.run_until_stalled();
    let d = slot.borrow_mut().take().unwrap();
    assert!(failure_result_of(d).is::<Cancelled>());
    executor.run_until_stalled();
    assert_eq!(executor.pending(), 0);
}

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
