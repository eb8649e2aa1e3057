//! The reactor's executor for `!Send` futures.
//!
//! Tasks are `async-task` tasks whose wake-ups go through the reactor's
//! cross-thread channel, so a future woken from any thread is polled on the
//! reactor's thread during its next turn. [`Reactor::spawn`] turns a future
//! into a Deferred; cancelling that Deferred drops the future.
//!
//! The reactor keeps the handle of every task it runs. A task waiting on
//! something that will never happen (a timer dropped by `Reactor::close`) is
//! otherwise kept alive by its own waker, stored in what it waits on, which
//! it holds: a cycle that also keeps the reactor alive when the future holds
//! a clone of it. `close` drops the handles, which cancels the tasks and
//! drops their futures.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;

use async_task::Task;
use gyre_core::deferred::Spawn;
use gyre_core::{Deferred, Failure};

use crate::Reactor;

/// Below this many handles, finished tasks are not looked for.
const REAP_MIN: usize = 64;

/// The handles of the reactor's tasks (finished ones are reaped lazily).
#[derive(Default)]
pub(crate) struct Tasks {
    live: RefCell<Vec<Task<()>>>,
    /// Reap finished tasks when the list reaches this length.
    reap_at: Cell<usize>,
}

impl Tasks {
    fn add(&self, task: Task<()>) {
        let mut live = self.live.borrow_mut();
        live.push(task);
        if live.len() >= self.reap_at.get().max(REAP_MIN) {
            let finished: Vec<Task<()>> = live.extract_if(.., |task| task.is_finished()).collect();
            self.reap_at.set(live.len() * 2);
            drop(live);
            drop(finished);
        }
    }

    /// Takes every handle; dropping them cancels the tasks (for `close`).
    pub(crate) fn take_all(&self) -> Vec<Task<()>> {
        std::mem::take(&mut *self.live.borrow_mut())
    }
}

impl Spawn for Reactor {
    fn spawn_local_boxed(&self, future: Pin<Box<dyn Future<Output = ()>>>) {
        if self.is_closed() {
            // Never polled: drop it now rather than keep what it holds.
            return drop(future);
        }
        let handle = self.handle();
        let (runnable, task) =
            async_task::spawn_local(future, move |runnable| handle.schedule_task(runnable));
        self.inner.tasks.add(task);
        runnable.schedule();
    }
}

impl Reactor {
    /// Runs `future` on this reactor and returns a Deferred of its output.
    ///
    /// ```
    /// use std::time::Duration;
    /// use gyre_core::prelude::*;
    ///
    /// let reactor = gyre_reactor::Reactor::new().unwrap();
    /// let timer = reactor.clone();
    /// let answer = reactor.spawn(async move {
    ///     let half = gyre_core::deferred::defer_later(&timer, Duration::from_millis(1), || Ok(21)).await?;
    ///     Ok(half * 2)
    /// });
    /// assert_eq!(reactor.run_until(answer).unwrap(), 42);
    /// ```
    pub fn spawn<T: 'static>(
        &self,
        future: impl Future<Output = Result<T, Failure>> + 'static,
    ) -> Deferred<T> {
        Deferred::from_future(self, future)
    }

    /// Runs the reactor until `future` completes, then stops it and returns
    /// the output: the `main` of a program written with `async`/`await`
    /// (`run_until(spawn(future))`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use gyre_reactor::{Reactor, async_io};
    ///
    /// let reactor = Reactor::new().unwrap();
    /// let r = reactor.clone();
    /// let waited = reactor.block_on(async move {
    ///     async_io::sleep(&r, Duration::from_millis(2)).await?;
    ///     Ok("done")
    /// });
    /// assert_eq!(waited.unwrap(), "done");
    /// ```
    pub fn block_on<T: 'static>(
        &self,
        future: impl Future<Output = Result<T, Failure>> + 'static,
    ) -> Result<T, Failure> {
        self.run_until(self.spawn(future))
    }
}
