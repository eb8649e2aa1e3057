//! [`Reactor::close`]: releasing a reactor for good, reference cycles
//! included.
//!
//! User callbacks routinely hold a clone of their reactor (a timer that
//! stops it, a protocol that schedules work, a task that sleeps). Each such
//! callback, while the reactor holds it, is a reference cycle: dropping every
//! `Reactor` the program can see does not free the loop, its epoll and
//! eventfd descriptors, or its sockets. A graceful `stop()` closes every
//! connection and port, but timers, triggers and queued work outlive it on
//! purpose — they are there for the next `run()`. `close()` is the explicit
//! end that breaks the cycles; a reactor whose callbacks never capture it
//! is freed by dropping it as usual.

use super::{Reactor, RunState};

/// Rounds of shutting down sources that open new ones (a `connection_lost`
/// that reconnects) before close gives up asking and just drops them.
const SHUTDOWN_ROUNDS: usize = 8;
/// Rounds of dropping queued work that queues more (a dropped waker
/// reschedules its task so the task can be dropped).
const DROP_ROUNDS: usize = 100;

impl Reactor {
    /// Closes the reactor for good and releases everything it holds: every
    /// connection, listening port and other source is shut down (protocols
    /// hear `connection_lost`, as at `stop()`), then pending timers, system
    /// event triggers, queued work, undelivered calls from other threads,
    /// tasks and thread-pool jobs are dropped without running. Deferreds
    /// waiting on them never fire. Jobs already running on the thread pool
    /// are waited for, and its threads joined. Handlers added with
    /// [`on_signal`](Self::on_signal) are dropped. Child processes that have
    /// not been reaped are not killed, but forgotten: their protocols and
    /// pipes are dropped (no further callback), and a detached thread waits
    /// for each so that none is left a zombie.
    ///
    /// Call it when a reactor whose callbacks hold clones of it is no longer
    /// needed (in particular a reactor made per test or per request), since
    /// those clones keep it alive otherwise. Closing a running reactor stops
    /// it first (gracefully, as [`stop`](Self::stop)) and closes it when
    /// `run` returns. A closed reactor cannot run again: `run` fails, new
    /// sockets fail to register, new timers and calls are dropped at once.
    /// Idempotent.
    ///
    /// ```
    /// use std::time::Duration;
    /// use gyre_core::prelude::*;
    /// use gyre_reactor::Reactor;
    ///
    /// let reactor = Reactor::new().unwrap();
    /// let again = reactor.clone();
    /// // A pending timer holding a clone: without close(), a cycle.
    /// reactor.call_later(Duration::from_secs(60), move || drop(again.stop()));
    /// reactor.close();
    /// assert!(reactor.is_closed());
    /// assert!(reactor.run().is_err());
    /// ```
    pub fn close(&self) {
        let inner = &self.inner;
        if inner.closed.get() {
            return;
        }
        if inner.state.get() != RunState::Stopped {
            inner.close_after_run.set(true);
            let _ = self.stop();
            return;
        }
        for _ in 0..SHUTDOWN_ROUNDS {
            let sources = inner.sources.all();
            if sources.is_empty() {
                break;
            }
            for source in sources {
                source.shutdown();
            }
            self.drain_pending();
        }
        inner.closed.set(true);
        // From here no call from another thread can join the channel, and
        // every one that did is dropped below (answering the workers waiting
        // in `blocking_call_from_thread` before `join_all` waits for them).
        inner.handle.refuse_calls();
        for _ in 0..DROP_ROUNDS {
            if !self.drop_held_work() {
                break;
            }
        }
        inner.thread_pool.join_all();
    }

    /// Whether [`close`](Self::close) has run.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// Drops one round of everything that may hold user code. Each batch is
    /// taken out of its cell before it is dropped, since dropping can queue
    /// more. Returns whether anything was dropped.
    fn drop_held_work(&self) -> bool {
        let inner = &self.inner;
        let mut dropped = false;
        for call in inner.timers.pending() {
            dropped |= call.cancel();
        }
        dropped |= inner.thread_pool.discard();
        let tasks = inner.tasks.take_all();
        dropped |= !tasks.is_empty();
        drop(tasks);
        let triggers = inner.triggers.clear();
        dropped |= !triggers.is_empty();
        drop(triggers);
        let soon = std::mem::take(&mut *inner.soon.borrow_mut());
        dropped |= !soon.is_empty();
        drop(soon);
        let flushes = std::mem::take(&mut *inner.flush_queue.borrow_mut());
        dropped |= !flushes.is_empty();
        drop(flushes);
        while let Ok(call) = inner.remote_rx.try_recv() {
            drop(call);
            dropped = true;
        }
        let handlers = self.take_signal_handlers();
        dropped |= !handlers.is_empty();
        drop(handlers);
        dropped |= inner.children.release_on_close(self);
        let sources = inner.sources.clear();
        dropped |= !sources.is_empty();
        drop(sources);
        dropped
    }
}
