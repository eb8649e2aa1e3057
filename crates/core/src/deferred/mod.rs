//! [`Deferred`]: a result that is not there yet, with Twisted's semantics and
//! Rust types.
//!
//! A `Deferred<T>` will fire once with `Result<T, Failure>`. Callbacks added
//! to it run synchronously, in order, as soon as the result is there (at once
//! if it already is); each one's output feeds the next. A failure skips
//! success callbacks until an error callback recovers it; a callback that
//! returns another Deferred pauses the chain until that one fires.
//!
//! The firing side is a separate [`Resolver<T>`], so the type that starts a
//! chain and the type at its end can differ:
//!
//! ```
//! use gyre_core::prelude::*;
//! use gyre_core::errors::TimedOut;
//!
//! let (deferred, resolver) = Deferred::<&str>::new();
//! let length = deferred
//!     .map(|text| text.len())                       // &str -> usize
//!     .and_then(|n| if n > 3 { Ok(n * 2) } else { Err(Failure::msg("too short")) })
//!     .or_else(|failure| {
//!         failure.trap::<TimedOut>()?;              // re-raise anything else
//!         Ok(0)
//!     });
//! resolver.callback("hello");
//! assert_eq!(gyre_testing::success_result_of(length), 10);
//! ```
//!
//! Differences from Twisted, by design:
//! * `Deferred<T>` is not `Clone`; combinators that change the type consume it
//!   (the `add_*` methods that keep the type take `&self`). This is what makes
//!   the typed chain sound.
//! * Firing twice is reported through `tracing` (target `gyre::deferred`)
//!   rather than raised; [`Resolver::try_fire`] returns it as an error.
//! * Chains of any length, and Deferreds waiting on Deferreds to any depth,
//!   run in constant stack space.
//! * Panics in callbacks are not caught: they are bugs, not failures.

mod chain;
mod cooperator;
mod future;
mod list;
mod outcome;
mod queue;
mod semaphore;
mod timing;
mod waiters;

use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::Duration;

use chain::{Chain, Erased, Step};

pub use chain::DeferredState;
pub use cooperator::{CooperativeTask, Cooperator, TaskState};
pub use future::{DeferredFuture, Spawn};
pub use list::{DeferredList, ListOutcome, gather, race};
pub use outcome::{Continuation, Outcome};
pub use queue::DeferredQueue;
pub use semaphore::{DeferredLock, DeferredSemaphore, SemaphorePermit};
pub use timing::{LoopingCall, defer_later};

use crate::clock::Clock;
use crate::errors::AlreadyFired;
use crate::failure::Failure;

/// A result that will arrive later: add callbacks, or `.await` it.
pub struct Deferred<T> {
    chain: Rc<Chain>,
    _value: PhantomData<fn() -> T>,
}

/// The firing side of a [`Deferred`]: cheap to clone, fires it once.
pub struct Resolver<T> {
    chain: Rc<Chain>,
    _value: PhantomData<fn(T)>,
}

/// A Deferred that has already succeeded with `value`.
pub fn succeed<T: 'static>(value: T) -> Deferred<T> {
    Deferred::from_chain(Chain::fired(Ok(Box::new(value))))
}

/// A Deferred that has already failed with `failure`.
pub fn fail<T: 'static>(failure: impl Into<Failure>) -> Deferred<T> {
    Deferred::from_chain(Chain::fired(Err(failure.into())))
}

/// Twisted's `maybeDeferred`: calls `f` now and wraps whatever it returns
/// (a value, a failure or a Deferred) in a Deferred.
pub fn maybe<R: Outcome>(f: impl FnOnce() -> R) -> Deferred<R::Value> {
    match f().into_continuation().0 {
        Step::Ready(result) => Deferred::from_chain(Chain::fired(result)),
        Step::Wait(chain) => Deferred::from_chain(chain),
    }
}

fn downcast<T: 'static>(value: chain::Value) -> T {
    match value.downcast::<T>() {
        Ok(value) => *value,
        Err(_) => unreachable!("Deferred chain carried a value of the wrong type"),
    }
}

fn typed<T: 'static>(result: Erased) -> Result<T, Failure> {
    result.map(downcast::<T>)
}

impl<T: 'static> Deferred<T> {
    /// A new unfired Deferred and the resolver that fires it.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> (Deferred<T>, Resolver<T>) {
        let chain = Chain::new_rc(None);
        (Deferred::from_chain(chain.clone()), Resolver::from_chain(chain))
    }

    /// Like [`new`](Self::new), with a canceller: [`cancel`](Self::cancel) on
    /// the unfired Deferred calls it, so the operation can be stopped (a
    /// connection attempt aborted, a timer cancelled). If the canceller does
    /// not fire the Deferred itself, it fails with `Cancelled`.
    pub fn with_canceller(canceller: impl FnOnce(&Resolver<T>) + 'static) -> (Deferred<T>, Resolver<T>) {
        let chain = Chain::new_rc(Some(Box::new(move |chain: &Rc<Chain>| {
            canceller(&Resolver::from_chain(chain.clone()));
        })));
        (Deferred::from_chain(chain.clone()), Resolver::from_chain(chain))
    }

    /// An already successful Deferred (same as [`succeed`]).
    pub fn succeed(value: T) -> Self {
        succeed(value)
    }

    /// An already failed Deferred (same as [`fail`]).
    pub fn fail(failure: impl Into<Failure>) -> Self {
        fail(failure)
    }

    pub(crate) fn from_chain(chain: Rc<Chain>) -> Self {
        Deferred {
            chain,
            _value: PhantomData,
        }
    }

    pub(crate) fn into_chain(self) -> Rc<Chain> {
        self.chain
    }

    fn push<U: 'static>(self, callback: impl FnOnce(Erased) -> Step + 'static) -> Deferred<U> {
        chain::push(&self.chain, Box::new(callback));
        Deferred::from_chain(self.chain)
    }

    /// Adds a callback that sees success and failure alike (Twisted's `addBoth`)
    /// and may change the value's type.
    pub fn then<R: Outcome>(self, f: impl FnOnce(Result<T, Failure>) -> R + 'static) -> Deferred<R::Value> {
        self.push(move |result| f(typed::<T>(result)).into_continuation().0)
    }

    /// Transforms a successful value; failures pass through.
    pub fn map<U: 'static>(self, f: impl FnOnce(T) -> U + 'static) -> Deferred<U> {
        self.push(move |result| Step::Ready(result.map(|v| Box::new(f(downcast::<T>(v))) as chain::Value)))
    }

    /// Adds a success callback (Twisted's `addCallback`) that may fail or
    /// return a Deferred to wait on; failures pass through.
    pub fn and_then<R: Outcome>(self, f: impl FnOnce(T) -> R + 'static) -> Deferred<R::Value> {
        self.push(move |result| match result {
            Ok(value) => f(downcast::<T>(value)).into_continuation().0,
            Err(failure) => Step::Ready(Err(failure)),
        })
    }

    /// Adds an error callback (Twisted's `addErrback`): it may recover with a
    /// value, re-raise (`failure.trap::<E>()?`), or return a Deferred.
    pub fn or_else<R: Outcome<Value = T>>(self, f: impl FnOnce(Failure) -> R + 'static) -> Deferred<T> {
        self.push(move |result| match result {
            Ok(value) => Step::Ready(Ok(value)),
            Err(failure) => f(failure).into_continuation().0,
        })
    }

    /// Transforms a failure, for example to add context.
    pub fn map_err(self, f: impl FnOnce(Failure) -> Failure + 'static) -> Deferred<T> {
        self.push(move |result| Step::Ready(result.map_err(f)))
    }

    /// Twisted's `addCallbacks`: exactly one of the two runs, and a failure
    /// from `on_success` does not reach `on_failure`.
    pub fn add_callbacks<R: Outcome>(
        self,
        on_success: impl FnOnce(T) -> R + 'static,
        on_failure: impl FnOnce(Failure) -> R + 'static,
    ) -> Deferred<R::Value> {
        self.push(move |result| match result {
            Ok(value) => on_success(downcast::<T>(value)).into_continuation().0,
            Err(failure) => on_failure(failure).into_continuation().0,
        })
    }

    /// Looks at the result without changing it.
    pub fn inspect(self, f: impl FnOnce(&Result<T, Failure>) + 'static) -> Deferred<T> {
        self.then(move |result| {
            f(&result);
            result
        })
    }

    /// Adds a success callback that keeps the type, without consuming the
    /// handle (so a callback can add further callbacks to its own Deferred).
    pub fn add_callback<R: Outcome<Value = T>>(&self, f: impl FnOnce(T) -> R + 'static) {
        chain::push(
            &self.chain,
            Box::new(move |result: Erased| match result {
                Ok(value) => f(downcast::<T>(value)).into_continuation().0,
                Err(failure) => Step::Ready(Err(failure)),
            }),
        );
    }

    /// Adds an error callback that keeps the type, without consuming the handle.
    pub fn add_errback<R: Outcome<Value = T>>(&self, f: impl FnOnce(Failure) -> R + 'static) {
        chain::push(
            &self.chain,
            Box::new(move |result: Erased| match result {
                Ok(value) => Step::Ready(Ok(value)),
                Err(failure) => f(failure).into_continuation().0,
            }),
        );
    }

    /// Adds a callback for both outcomes that keeps the type, without
    /// consuming the handle.
    pub fn add_both<R: Outcome<Value = T>>(&self, f: impl FnOnce(Result<T, Failure>) -> R + 'static) {
        chain::push(
            &self.chain,
            Box::new(move |result: Erased| f(typed::<T>(result)).into_continuation().0),
        );
    }

    /// Hands this Deferred's result to another Deferred (Twisted's
    /// `chainDeferred`). The target then goes on with its own callbacks; a
    /// target that was already fired is reported.
    pub fn chain(self, target: Resolver<T>) {
        chain::push_chain(&self.chain, target.chain);
    }

    /// Cancels: an unfired Deferred calls its canceller and then, unless the
    /// canceller fired it, fails with `Cancelled`. A Deferred waiting on
    /// another (a callback returned one) cancels that one. A fired Deferred
    /// is left alone.
    pub fn cancel(&self) {
        chain::cancel(&self.chain);
    }

    /// Stops running callbacks until as many `unpause` calls.
    pub fn pause(&self) {
        self.chain.pause();
    }

    /// Undoes one `pause`; runs waiting callbacks when none remains.
    pub fn unpause(&self) {
        chain::unpause(&self.chain);
    }

    /// Where the chain is.
    pub fn state(&self) -> DeferredState {
        self.chain.state()
    }

    /// Whether it has been fired (even if a callback now waits on something else).
    pub fn is_fired(&self) -> bool {
        self.chain.is_called()
    }

    /// Whether a result sits at the end of the chain right now.
    pub fn has_result(&self) -> bool {
        matches!(self.state(), DeferredState::Succeeded | DeferredState::Failed)
    }

    /// Fails with `TimedOut` unless a result arrives within `timeout` on
    /// `clock` (Twisted's `addTimeout`): the Deferred is cancelled at the
    /// deadline, so its canceller stops the operation.
    pub fn add_timeout(self, clock: &dyn Clock, timeout: Duration) -> Deferred<T> {
        timing::add_timeout(self, clock, timeout)
    }

    pub(crate) fn chain_rc(&self) -> &Rc<Chain> {
        &self.chain
    }
}

impl<T> fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred")
            .field("state", &self.chain.state())
            .finish()
    }
}

impl<T: 'static> Resolver<T> {
    pub(crate) fn from_chain(chain: Rc<Chain>) -> Self {
        Resolver {
            chain,
            _value: PhantomData,
        }
    }

    /// Fires with a success.
    pub fn callback(&self, value: T) {
        self.fire(Ok(value));
    }

    /// Fires with a failure.
    pub fn errback(&self, failure: impl Into<Failure>) {
        self.fire(Err(failure.into()));
    }

    /// Fires with `result`. A second fire is reported through `tracing` and
    /// otherwise ignored; use [`try_fire`](Self::try_fire) to handle it.
    pub fn fire(&self, result: Result<T, Failure>) {
        if let Err(already) = self.try_fire(result) {
            chain::report_already_fired(&already, "resolver");
        }
    }

    /// Fires with `result`, or says that it was already fired.
    pub fn try_fire(&self, result: Result<T, Failure>) -> Result<(), AlreadyFired> {
        chain::fire(&self.chain, result.map(|value| Box::new(value) as chain::Value))
    }

    /// Whether the Deferred has been fired (or cancelled).
    pub fn is_fired(&self) -> bool {
        self.chain.is_called()
    }

    /// Whether two resolvers fire the same Deferred.
    pub fn ptr_eq(&self, other: &Resolver<T>) -> bool {
        Rc::ptr_eq(&self.chain, &other.chain)
    }
}

impl<T> Clone for Resolver<T> {
    fn clone(&self) -> Self {
        Resolver {
            chain: self.chain.clone(),
            _value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Resolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("state", &self.chain.state())
            .finish()
    }
}
