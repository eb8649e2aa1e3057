//! The worker side of the thread pool: the shared job queue and the loop
//! each worker thread runs.
//!
//! Everything here is `Send`: it is what worker threads touch. The reactor
//! side (Deferreds waiting for results, the shutdown trigger) is in
//! `threads/mod.rs` and never leaves the reactor's thread.
//!
//! A job always reports back exactly once: with its value, with the panic it
//! raised, or — if it is dropped without running (the pool was discarded, or
//! its Deferred was cancelled before a worker took it) — as dropped. That is
//! what lets the reactor count outstanding jobs and wait for them at shutdown.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::remote::ReactorHandle;

/// What became of a job, sent back to the reactor thread.
pub(crate) enum JobOutcome {
    /// The job ran and returned this (a `Result<T, E>` for `defer_to_thread`).
    Finished(Box<dyn Any + Send>),
    /// The job panicked; the panic message.
    Panicked(String),
    /// The job never ran (cancelled first, or the pool was discarded).
    Dropped,
}

/// The code of a job, type-erased.
pub(crate) type Work = Box<dyn FnOnce() -> Box<dyn Any + Send> + Send>;

/// One unit of work for the pool. Reports its outcome to the reactor exactly
/// once, even when dropped unrun.
pub(crate) struct Job {
    id: u64,
    work: Option<Work>,
    cancelled: Arc<AtomicBool>,
    handle: ReactorHandle,
}

impl Job {
    pub(crate) fn new(id: u64, work: Work, cancelled: Arc<AtomicBool>, handle: ReactorHandle) -> Job {
        Job {
            id,
            work: Some(work),
            cancelled,
            handle,
        }
    }

    /// Runs the job on the current (worker) thread, catching a panic, and
    /// sends the outcome to the reactor.
    fn run(mut self) {
        let Some(work) = self.work.take() else { return };
        let outcome = if self.cancelled.load(Ordering::Acquire) {
            JobOutcome::Dropped
        } else {
            match catch_unwind(AssertUnwindSafe(work)) {
                Ok(value) => JobOutcome::Finished(value),
                Err(payload) => JobOutcome::Panicked(panic_message(payload.as_ref())),
            }
        };
        self.report(outcome);
    }

    fn report(&self, outcome: JobOutcome) {
        let id = self.id;
        self.handle
            .call_from_thread(move |reactor| reactor.inner.thread_pool.deliver(id, outcome));
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if self.work.take().is_some() {
            self.report(JobOutcome::Dropped);
        }
    }
}

/// The text of a panic payload (`panic!` with a literal or a format string).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a job panicked with a non-string payload".to_owned()
    }
}

/// The queue and the worker counts, under one lock.
pub(crate) struct State {
    pub(crate) jobs: VecDeque<Job>,
    /// The most worker threads at once.
    pub(crate) max: usize,
    /// Live worker threads (started and not yet exited).
    pub(crate) workers: usize,
    /// Workers waiting for a job.
    pub(crate) idle: usize,
    /// Set at shutdown: workers exit once the queue is empty.
    pub(crate) stopping: bool,
}

/// What the reactor and its workers share.
pub(crate) struct Shared {
    state: Mutex<State>,
    work_ready: Condvar,
}

impl Shared {
    pub(crate) fn new(max: usize) -> Shared {
        Shared {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                max,
                workers: 0,
                idle: 0,
                stopping: false,
            }),
            work_ready: Condvar::new(),
        }
    }

    /// The state, locked. A panic never happens under this lock (jobs run
    /// outside it), so a poisoned lock is still consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes one waiting worker.
    pub(crate) fn notify_one(&self) {
        self.work_ready.notify_one();
    }

    /// Wakes every waiting worker (to stop, or to shrink the pool).
    pub(crate) fn notify_all(&self) {
        self.work_ready.notify_all();
    }

    /// The loop of one worker thread: take jobs until told to stop (or the
    /// pool shrank below the number of workers), then tell the reactor it
    /// exited so that a shutdown waiting for the pool looks again.
    pub(crate) fn work(&self, handle: &ReactorHandle) {
        while let Some(job) = self.next_job() {
            job.run();
        }
        handle.call_from_thread(|_| {});
    }

    /// The next job, waiting for one; `None` when this worker should exit
    /// (which it has then already been counted out for).
    fn next_job(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if state.workers <= state.max {
                if let Some(job) = state.jobs.pop_front() {
                    return Some(job);
                }
                if !state.stopping {
                    state.idle += 1;
                    state = self
                        .work_ready
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                    state.idle -= 1;
                    continue;
                }
            }
            state.workers -= 1;
            return None;
        }
    }
}
