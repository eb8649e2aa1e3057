//! [`DeferredSemaphore`] and [`DeferredLock`]: limiting how many operations
//! run at once, without threads.
//!
//! `acquire` returns a Deferred that fires with a [`SemaphorePermit`] once a
//! token is free; dropping the permit returns the token and hands it to the
//! next waiter, in arrival order. Cancelling a waiting acquire removes it
//! from the queue. [`DeferredSemaphore::run`] wraps an operation that returns
//! a Deferred and releases the token when that Deferred finishes.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use super::waiters::Waiters;
use super::{Deferred, Outcome, maybe, succeed};

struct SemaphoreState {
    tokens: Cell<usize>,
    limit: Cell<usize>,
    waiting: Waiters<SemaphorePermit>,
}

/// Twisted's `DeferredSemaphore`: at most `tokens` holders at once.
#[derive(Clone)]
pub struct DeferredSemaphore {
    state: Rc<SemaphoreState>,
}

/// A held token; dropping it releases the token.
pub struct SemaphorePermit {
    state: Option<Rc<SemaphoreState>>,
}

impl DeferredSemaphore {
    /// A semaphore with `tokens` tokens.
    ///
    /// # Panics
    /// If `tokens` is 0: nobody could ever acquire it.
    pub fn new(tokens: usize) -> Self {
        assert!(tokens > 0, "a DeferredSemaphore needs at least one token");
        DeferredSemaphore {
            state: Rc::new(SemaphoreState {
                tokens: Cell::new(tokens),
                limit: Cell::new(tokens),
                waiting: Waiters::new(),
            }),
        }
    }

    /// Waits for a token. Fires at once when one is free.
    pub fn acquire(&self) -> Deferred<SemaphorePermit> {
        if let Some(permit) = self.try_acquire() {
            return succeed(permit);
        }
        self.state.waiting.join()
    }

    /// A token now, if one is free and nobody is waiting for one.
    pub fn try_acquire(&self) -> Option<SemaphorePermit> {
        let tokens = self.state.tokens.get();
        if tokens == 0 || !self.state.waiting.is_empty() {
            return None;
        }
        self.state.tokens.set(tokens - 1);
        Some(SemaphorePermit {
            state: Some(self.state.clone()),
        })
    }

    /// Runs `operation` once a token is free and releases the token when the
    /// Deferred it returns finishes, whatever the outcome.
    pub fn run<R: Outcome>(&self, operation: impl FnOnce() -> R + 'static) -> Deferred<R::Value> {
        self.acquire().and_then(move |permit| {
            maybe(operation).then(move |result| {
                drop(permit);
                result
            })
        })
    }

    /// Free tokens.
    pub fn available(&self) -> usize {
        self.state.tokens.get()
    }

    /// The number of tokens the semaphore was made with.
    pub fn limit(&self) -> usize {
        self.state.limit.get()
    }

    /// Callers waiting for a token.
    pub fn waiting(&self) -> usize {
        self.state.waiting.len()
    }
}

impl fmt::Debug for DeferredSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferredSemaphore")
            .field("available", &self.available())
            .field("limit", &self.limit())
            .field("waiting", &self.waiting())
            .finish()
    }
}

impl SemaphorePermit {
    /// Returns the token now (same as dropping the permit).
    pub fn release(mut self) {
        self.release_token();
    }

    fn release_token(&mut self) {
        let Some(state) = self.state.take() else { return };
        // Hand the token straight to the next waiter that is still waiting.
        match state.waiting.pop() {
            Some(waiter) => waiter.callback(SemaphorePermit {
                state: Some(state.clone()),
            }),
            None => state.tokens.set(state.tokens.get() + 1),
        }
    }
}

impl Drop for SemaphorePermit {
    fn drop(&mut self) {
        self.release_token();
    }
}

impl fmt::Debug for SemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SemaphorePermit")
    }
}

/// Twisted's `DeferredLock`: a semaphore with one token.
///
/// ```
/// use gyre_core::deferred::DeferredLock;
///
/// let lock = DeferredLock::new();
/// let first = gyre_testing::success_result_of(lock.acquire());
/// let second = lock.acquire();
/// assert!(lock.locked());
/// gyre_testing::assert_no_result(&second);
/// drop(first);
/// let _guard = gyre_testing::success_result_of(second);
/// ```
#[derive(Clone, Debug)]
pub struct DeferredLock {
    semaphore: DeferredSemaphore,
}

impl DeferredLock {
    /// An unlocked lock.
    pub fn new() -> Self {
        DeferredLock {
            semaphore: DeferredSemaphore::new(1),
        }
    }

    /// Waits for the lock; dropping the permit unlocks it.
    pub fn acquire(&self) -> Deferred<SemaphorePermit> {
        self.semaphore.acquire()
    }

    /// Runs `operation` under the lock, unlocking when its Deferred finishes.
    pub fn run<R: Outcome>(&self, operation: impl FnOnce() -> R + 'static) -> Deferred<R::Value> {
        self.semaphore.run(operation)
    }

    /// Whether someone holds the lock.
    pub fn locked(&self) -> bool {
        self.semaphore.available() == 0
    }
}

impl Default for DeferredLock {
    fn default() -> Self {
        Self::new()
    }
}
