//! Bridges between Deferreds and Rust futures.
//!
//! * Every `Deferred<T>` can be `.await`ed (it implements `IntoFuture`).
//!   Dropping the future before it completes cancels the Deferred, because
//!   dropping is how Rust cancels a future.
//! * Any future becomes a Deferred with [`Deferred::from_future`], given
//!   something that drives futures: the [`Spawn`] seam, implemented by the
//!   reactor's executor and by `gyre_testing::ManualExecutor`. Cancelling
//!   that Deferred drops the future at once.

use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::chain::{self, Chain};
use super::{Deferred, Resolver};
use crate::failure::Failure;

/// Something that runs `!Send` futures on the current thread: the reactor's
/// executor, or a test executor.
pub trait Spawn {
    /// Runs `future` to completion in the background.
    fn spawn_local_boxed(&self, future: Pin<Box<dyn Future<Output = ()>>>);
}

struct Slot<T> {
    result: Option<Result<T, Failure>>,
    waker: Option<Waker>,
}

/// The future of an awaited [`Deferred`].
pub struct DeferredFuture<T> {
    chain: Rc<Chain>,
    slot: Rc<RefCell<Slot<T>>>,
    finished: bool,
}

impl<T: 'static> IntoFuture for Deferred<T> {
    type Output = Result<T, Failure>;
    type IntoFuture = DeferredFuture<T>;

    fn into_future(self) -> DeferredFuture<T> {
        let chain = self.chain_rc().clone();
        let slot = Rc::new(RefCell::new(Slot {
            result: None,
            waker: None,
        }));
        let filler = slot.clone();
        drop(self.then(move |result| {
            let waker = {
                let mut slot = filler.borrow_mut();
                slot.result = Some(result);
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }));
        DeferredFuture {
            chain,
            slot,
            finished: false,
        }
    }
}

impl<T> Future for DeferredFuture<T> {
    type Output = Result<T, Failure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.borrow_mut();
        if let Some(result) = slot.result.take() {
            drop(slot);
            self.finished = true;
            return Poll::Ready(result);
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Unpin for DeferredFuture<T> {}

impl<T> Drop for DeferredFuture<T> {
    fn drop(&mut self) {
        let pending = !self.finished && self.slot.borrow().result.is_none();
        if pending {
            chain::cancel(&self.chain);
        }
    }
}

/// The future driven on behalf of a Deferred made by `from_future`, and the
/// flag its canceller sets.
struct Task<F> {
    future: RefCell<Option<Pin<Box<F>>>>,
    cancelled: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

struct Driver<F: Future, T> {
    task: Rc<Task<F>>,
    resolver: Resolver<T>,
}

impl<F, T> Future for Driver<F, T>
where
    F: Future<Output = Result<T, Failure>>,
    T: 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.task.cancelled.get() {
            return Poll::Ready(());
        }
        // Take the future out while polling it: it may cancel its own
        // Deferred, whose canceller must not touch the slot we are using.
        let Some(mut future) = self.task.future.borrow_mut().take() else {
            return Poll::Ready(());
        };
        match future.as_mut().poll(cx) {
            Poll::Ready(result) => {
                drop(future);
                // A future that cancelled its own Deferred while running has
                // already made it fail with `Cancelled`.
                if !self.task.cancelled.get() {
                    self.resolver.fire(result);
                }
                Poll::Ready(())
            }
            Poll::Pending if self.task.cancelled.get() => Poll::Ready(()),
            Poll::Pending => {
                *self.task.future.borrow_mut() = Some(future);
                *self.task.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T: 'static> Deferred<T> {
    /// Runs `future` on `spawner` and fires the returned Deferred with its
    /// output. Cancelling the Deferred drops the future (and fails the
    /// Deferred with `Cancelled`).
    pub fn from_future<F>(spawner: &dyn Spawn, future: F) -> Deferred<T>
    where
        F: Future<Output = Result<T, Failure>> + 'static,
    {
        let task = Rc::new(Task {
            future: RefCell::new(Some(Box::pin(future))),
            cancelled: Cell::new(false),
            waker: RefCell::new(None),
        });
        let cancel_task = task.clone();
        let (deferred, resolver) = Deferred::with_canceller(move |_resolver: &Resolver<T>| {
            cancel_task.cancelled.set(true);
            let future = cancel_task.future.borrow_mut().take();
            drop(future);
            let waker = cancel_task.waker.borrow_mut().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        spawner.spawn_local_boxed(Box::pin(Driver { task, resolver }));
        deferred
    }
}
