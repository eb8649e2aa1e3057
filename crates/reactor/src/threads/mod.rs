//! Threads: a pool for blocking work, and calls between worker threads and
//! the reactor.
//!
//! The reactor runs short callbacks on one thread, so anything that blocks (a
//! synchronous database driver, a CPU-heavy computation, a blocking library
//! call) goes to the reactor's thread pool:
//!
//! * [`Reactor::defer_to_thread`] runs a closure on a worker and returns a
//!   Deferred of its result, fired on the reactor thread;
//! * [`Reactor::call_in_thread`] runs a closure on a worker, result ignored;
//! * [`blocking_call_from_thread`] is the way back: code on a worker thread
//!   runs something on the reactor thread and waits for the Deferred it
//!   returns; [`ReactorHandle::call_from_thread`](crate::ReactorHandle::call_from_thread)
//!   is the fire-and-forget form.
//!
//! ```text
//!   reactor thread                      worker threads (at most N)
//!   defer_to_thread(f) ── job queue ──▶ f() (panics caught)
//!   Deferred fires  ◀── remote channel ── result / panic / dropped
//!   f2(&reactor)    ◀── remote channel ── blocking_call_from_thread(handle, f2) waits
//!   Deferred fires  ─── reply channel ──▶ … returns Ok(T) or Err(Failure)
//! ```
//!
//! The pool is bounded (10 threads unless [`Reactor::set_thread_pool_size`]
//! says otherwise, Twisted's default), starts its threads lazily when work
//! arrives and no worker is idle, and is stopped by a "during shutdown"
//! trigger: queued jobs still run, then the workers exit, and `run()` keeps
//! turning (so results, timers and `blocking_call_from_thread` calls are
//! served) until every worker has exited and every result was delivered,
//! then joins the threads. A pool used again after that starts afresh.
//!
//! ```
//! use gyre_reactor::Reactor;
//!
//! let reactor = Reactor::new().unwrap();
//! let sum = reactor.defer_to_thread(|| Ok::<_, std::io::Error>((1..=100u64).sum::<u64>()));
//! assert_eq!(reactor.run_until(sum).unwrap(), 5050);
//! assert_eq!(reactor.thread_pool_stats().workers, 0, "joined at shutdown");
//! ```

mod blocking;
mod pool;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use gyre_core::errors::Cancelled;
use gyre_core::{Deferred, Failure};

pub use blocking::{CalledOnReactorThread, JobPanicked, NoAnswer, RemoteFailure, blocking_call_from_thread};
use pool::{Job, JobOutcome, Shared};

use crate::Reactor;
use crate::triggers::{Phase, SystemEvent, TriggerId};

/// The pool size when none was set (Twisted's default `maxthreads`).
pub const DEFAULT_POOL_SIZE: usize = 10;

/// A snapshot of the pool, for monitoring and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThreadPoolStats {
    /// The most worker threads at once.
    pub max_threads: usize,
    /// Worker threads alive now.
    pub workers: usize,
    /// Of those, how many wait for work.
    pub idle: usize,
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// Jobs whose outcome has not reached the reactor yet (queued, running,
    /// or finished with the result still in the remote channel).
    pub outstanding: usize,
}

type Deliver = Box<dyn FnOnce(JobOutcome)>;

/// The reactor's side of its pool. Lives in the reactor and never leaves
/// its thread.
pub(crate) struct ThreadPool {
    shared: Arc<Shared>,
    handles: RefCell<Vec<JoinHandle<()>>>,
    /// What to do with each job's outcome, by job id. Ids are never reused,
    /// so a late outcome cannot reach the wrong Deferred.
    pending: RefCell<HashMap<u64, Deliver>>,
    next_id: Cell<u64>,
    started: Cell<u64>,
    trigger: Cell<Option<TriggerId>>,
}

impl Default for ThreadPool {
    fn default() -> Self {
        ThreadPool {
            shared: Arc::new(Shared::new(DEFAULT_POOL_SIZE)),
            handles: RefCell::default(),
            pending: RefCell::default(),
            next_id: Cell::new(0),
            started: Cell::new(0),
            trigger: Cell::new(None),
        }
    }
}

impl ThreadPool {
    fn submit(&self, reactor: &Reactor, work: pool::Work, deliver: Deliver, cancelled: Arc<AtomicBool>) {
        if reactor.is_closed() {
            return deliver(JobOutcome::Dropped);
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.pending.borrow_mut().insert(id, deliver);
        let job = Job::new(id, work, cancelled, reactor.handle());
        let start_worker = {
            let mut state = self.shared.lock();
            state.jobs.push_back(job);
            if state.idle >= state.jobs.len() {
                self.shared.notify_one();
                false
            } else if state.workers < state.max {
                state.workers += 1;
                true
            } else {
                false
            }
        };
        if start_worker {
            self.start_worker(reactor);
        }
    }

    /// Starts one worker thread (already counted in `workers`).
    fn start_worker(&self, reactor: &Reactor) {
        let number = self.started.get();
        self.started.set(number + 1);
        let shared = self.shared.clone();
        let handle = reactor.handle();
        let spawned = std::thread::Builder::new()
            .name(format!("gyre-pool-{number}"))
            .spawn(move || shared.work(&handle));
        match spawned {
            Ok(join) => {
                self.reap_finished();
                self.handles.borrow_mut().push(join);
                self.install_trigger(reactor);
            }
            Err(error) => {
                tracing::error!(target: "gyre::threads", %error, "could not start a thread-pool worker");
                // With no worker at all the queue would never move: drop its
                // jobs, which fails their Deferreds instead of hanging them.
                let orphans = {
                    let mut state = self.shared.lock();
                    state.workers -= 1;
                    if state.workers == 0 {
                        std::mem::take(&mut state.jobs)
                    } else {
                        Default::default()
                    }
                };
                drop(orphans);
            }
        }
    }

    /// Installs the "during shutdown" trigger that stops the pool, once per
    /// reactor run in which the pool has threads.
    fn install_trigger(&self, reactor: &Reactor) {
        if self.trigger.get().is_some() {
            return;
        }
        let weak = reactor.downgrade();
        let id = reactor.add_trigger(Phase::During, SystemEvent::Shutdown, move || {
            if let Some(reactor) = weak.upgrade() {
                reactor.inner.thread_pool.begin_stop();
            }
        });
        self.trigger.set(Some(id));
    }

    /// Lets queued jobs finish, then has every worker exit.
    pub(crate) fn begin_stop(&self) {
        self.trigger.set(None);
        self.shared.lock().stopping = true;
        self.shared.notify_all();
    }

    /// Whether a shutdown is waiting for the pool: it was told to stop and a
    /// worker is still alive or an outcome has not been delivered yet.
    pub(crate) fn winding_down(&self) -> bool {
        let state = self.shared.lock();
        state.stopping && (state.workers > 0 || !self.pending.borrow().is_empty())
    }

    /// Called when `run` returns: joins the workers that exited and makes the
    /// pool usable again (it restarts lazily, and stops at the next shutdown).
    pub(crate) fn after_run(&self, reactor: &Reactor) {
        let alive = {
            let mut state = self.shared.lock();
            state.stopping = false;
            state.workers
        };
        self.reap_finished();
        if alive == 0 {
            for handle in self.handles.borrow_mut().drain(..) {
                join(handle);
            }
        } else {
            // After `crash()`, workers are left running for the next run.
            self.install_trigger(reactor);
        }
    }

    fn reap_finished(&self) {
        let finished: Vec<JoinHandle<()>> = {
            let mut handles = self.handles.borrow_mut();
            let (done, running) = handles.drain(..).partition(|handle| handle.is_finished());
            *handles = running;
            done
        };
        finished.into_iter().for_each(join);
    }

    /// Runs on the reactor thread with the outcome of job `id`.
    pub(crate) fn deliver(&self, id: u64, outcome: JobOutcome) {
        let deliver = self.pending.borrow_mut().remove(&id);
        if let Some(deliver) = deliver {
            deliver(outcome);
        }
    }

    /// For `Reactor::close`: discards queued jobs and undelivered outcomes
    /// (their Deferreds will never fire) and has the workers exit once their
    /// job in hand is done ([`join_all`](Self::join_all) waits for that).
    pub(crate) fn discard(&self) -> bool {
        self.trigger.set(None);
        let queued = {
            let mut state = self.shared.lock();
            state.stopping = true;
            std::mem::take(&mut state.jobs)
        };
        self.shared.notify_all();
        let had_work = !queued.is_empty();
        drop(queued);
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        had_work || !pending.is_empty()
    }
}

impl ThreadPool {
    /// Waits for every worker thread to exit (for `Reactor::close`, once
    /// nothing can reach the reactor any more, so a worker waiting in
    /// `blocking_call_from_thread` has been answered with `NoAnswer`).
    pub(crate) fn join_all(&self) {
        let handles = std::mem::take(&mut *self.handles.borrow_mut());
        handles.into_iter().for_each(join);
    }
}

impl Drop for ThreadPool {
    /// The reactor is gone: workers finish the job in hand and exit; queued
    /// jobs are dropped. Threads are not joined here (a job may be blocked on
    /// the reactor that is being dropped).
    fn drop(&mut self) {
        let queued = {
            let mut state = self.shared.lock();
            state.stopping = true;
            std::mem::take(&mut state.jobs)
        };
        self.shared.notify_all();
        drop(queued);
    }
}

fn join(handle: JoinHandle<()>) {
    if handle.join().is_err() {
        tracing::error!(target: "gyre::threads", "a thread-pool worker panicked outside a job");
    }
}

impl Reactor {
    /// Runs `f` on a thread of the pool and returns a Deferred of its result,
    /// fired on the reactor thread during a later turn.
    ///
    /// `f`'s error converts into a [`Failure`] on the reactor thread (so it
    /// only has to be `Send`). A panic in `f` fails the Deferred with
    /// [`JobPanicked`]; the reactor carries on. Cancelling the Deferred
    /// before a worker took the job keeps the job from running; a job
    /// already running cannot be interrupted, and its result is discarded.
    /// Results reach the reactor only while it turns (`run`, `run_once`).
    pub fn defer_to_thread<T, E, F>(&self, f: F) -> Deferred<T>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<Failure> + Send + 'static,
    {
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = cancelled.clone();
        let (deferred, resolver) = Deferred::with_canceller(move |_| flag.store(true, Ordering::Release));
        let deliver: Deliver = Box::new(move |outcome| {
            if resolver.is_fired() {
                return; // cancelled meanwhile
            }
            match outcome {
                JobOutcome::Finished(value) => {
                    let result = value
                        .downcast::<Result<T, E>>()
                        .expect("a job returns the type its Deferred names");
                    resolver.fire((*result).map_err(Into::into));
                }
                JobOutcome::Panicked(message) => resolver.errback(JobPanicked::new(message)),
                JobOutcome::Dropped => resolver
                    .errback(Failure::new(Cancelled::new()).context("the thread pool discarded the job")),
            }
        });
        let work: pool::Work = Box::new(move || Box::new(f()) as Box<dyn Any + Send>);
        self.inner.thread_pool.submit(self, work, deliver, cancelled);
        deferred
    }

    /// Runs `f` on a thread of the pool; nothing is reported back except a
    /// panic, which is logged (target `gyre::threads`).
    pub fn call_in_thread(&self, f: impl FnOnce() + Send + 'static) {
        let deliver: Deliver = Box::new(|outcome| {
            if let JobOutcome::Panicked(message) = outcome {
                tracing::error!(target: "gyre::threads", panic = %message, "a call_in_thread job panicked");
            }
        });
        let work: pool::Work = Box::new(move || {
            f();
            Box::new(()) as Box<dyn Any + Send>
        });
        self.inner
            .thread_pool
            .submit(self, work, deliver, Arc::new(AtomicBool::new(false)));
    }

    /// Sets the most threads the pool runs at once. Growing starts threads
    /// for queued work; shrinking lets excess threads exit when they finish
    /// their job.
    ///
    /// # Panics
    /// When `threads` is 0 (queued work would never run).
    pub fn set_thread_pool_size(&self, threads: usize) {
        assert!(threads > 0, "a thread pool needs at least one thread");
        let pool = &self.inner.thread_pool;
        let to_start = {
            let mut state = pool.shared.lock();
            state.max = threads;
            let wanted = state.jobs.len().saturating_sub(state.idle);
            let room = threads.saturating_sub(state.workers);
            let start = wanted.min(room);
            state.workers += start;
            start
        };
        pool.shared.notify_all();
        for _ in 0..to_start {
            pool.start_worker(self);
        }
    }

    /// A snapshot of the thread pool.
    pub fn thread_pool_stats(&self) -> ThreadPoolStats {
        let pool = &self.inner.thread_pool;
        let state = pool.shared.lock();
        ThreadPoolStats {
            max_threads: state.max,
            workers: state.workers,
            idle: state.idle,
            queued: state.jobs.len(),
            outstanding: pool.pending.borrow().len(),
        }
    }
}
