//! Waiting on several Deferreds at once: [`DeferredList`], [`gather`] and
//! [`race`].
//!
//! Each takes ownership of the Deferreds it watches. Cancelling the combined
//! Deferred cancels every one still pending.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use super::chain::{self, Chain};
use super::{Deferred, Resolver, succeed};
use crate::errors::{AllFailed, FirstError};
use crate::failure::Failure;

/// What a [`DeferredList`] fires with.
#[derive(Debug)]
pub enum ListOutcome<T> {
    /// Every Deferred finished: their results, in the order given.
    All(Vec<Result<T, Failure>>),
    /// With `fire_on_one_callback`: the first success and its position.
    First {
        /// Position of the Deferred in the list.
        index: usize,
        /// Its value.
        value: T,
    },
}

/// Twisted's `DeferredList`: fires when all the Deferreds have fired, or
/// earlier with `fire_on_one_callback` / `fire_on_one_errback`.
///
/// ```
/// use gyre_core::deferred::{DeferredList, ListOutcome, succeed, fail};
/// use gyre_core::Failure;
///
/// let list = DeferredList::new([succeed(1), fail(Failure::msg("no")), succeed(3)])
///     .consume_errors()
///     .into_deferred();
/// match gyre_testing::success_result_of(list) {
///     ListOutcome::All(results) => {
///         assert_eq!(results.len(), 3);
///         assert!(results[1].is_err());
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
pub struct DeferredList<T> {
    deferreds: Vec<Deferred<T>>,
    fire_on_one_callback: bool,
    fire_on_one_errback: bool,
    consume_errors: bool,
}

struct ListState<T> {
    results: Vec<Option<Result<T, Failure>>>,
    remaining: usize,
}

fn cancel_all(chains: &[Weak<Chain>]) {
    for chain in chains.iter().filter_map(Weak::upgrade) {
        chain::cancel(&chain);
    }
}

fn cancellable<U: 'static>(chains: &Rc<RefCell<Vec<Weak<Chain>>>>) -> (Deferred<U>, Resolver<U>) {
    let chains = chains.clone();
    Deferred::with_canceller(move |_resolver: &Resolver<U>| {
        let chains = chains.borrow().clone();
        cancel_all(&chains);
    })
}

impl<T: 'static> DeferredList<T> {
    /// Watches `deferreds`.
    pub fn new(deferreds: impl IntoIterator<Item = Deferred<T>>) -> Self {
        DeferredList {
            deferreds: deferreds.into_iter().collect(),
            fire_on_one_callback: false,
            fire_on_one_errback: false,
            consume_errors: false,
        }
    }

    /// Fire with the first success instead of waiting for all.
    pub fn fire_on_one_callback(mut self) -> Self {
        self.fire_on_one_callback = true;
        self
    }

    /// Fail with [`FirstError`] on the first failure instead of waiting for all.
    pub fn fire_on_one_errback(mut self) -> Self {
        self.fire_on_one_errback = true;
        self
    }

    /// Treat failures as handled. Without this, a failure is also left in
    /// its own Deferred, which reports it as unhandled (as in Twisted).
    pub fn consume_errors(mut self) -> Self {
        self.consume_errors = true;
        self
    }

    /// Starts watching; the returned Deferred fires as configured.
    pub fn into_deferred(self) -> Deferred<ListOutcome<T>> {
        let count = self.deferreds.len();
        if count == 0 {
            return succeed(ListOutcome::All(Vec::new()));
        }
        let chains = Rc::new(RefCell::new(Vec::with_capacity(count)));
        let (deferred, resolver) = cancellable::<ListOutcome<T>>(&chains);
        let state = Rc::new(RefCell::new(ListState {
            results: (0..count).map(|_| None).collect(),
            remaining: count,
        }));
        let (on_one_callback, on_one_errback, consume) = (
            self.fire_on_one_callback,
            self.fire_on_one_errback,
            self.consume_errors,
        );
        for (index, item) in self.deferreds.into_iter().enumerate() {
            chains.borrow_mut().push(Rc::downgrade(item.chain_rc()));
            let state = state.clone();
            let resolver = resolver.clone();
            drop(
                item.then(move |result: Result<T, Failure>| -> Result<(), Failure> {
                    let leftover = match &result {
                        Err(failure) if !consume => Err(failure.clone()),
                        _ => Ok(()),
                    };
                    if resolver.is_fired() {
                        return leftover;
                    }
                    match result {
                        Ok(value) if on_one_callback => {
                            resolver.callback(ListOutcome::First { index, value })
                        }
                        Err(failure) if on_one_errback => resolver.errback(FirstError::new(index, failure)),
                        result => {
                            let finished = {
                                let mut state = state.borrow_mut();
                                state.results[index] = Some(result);
                                state.remaining -= 1;
                                state.remaining == 0
                            };
                            if finished {
                                let results = std::mem::take(&mut state.borrow_mut().results);
                                let results = results
                                    .into_iter()
                                    .map(|r| r.expect("every slot filled"))
                                    .collect();
                                resolver.callback(ListOutcome::All(results));
                            }
                        }
                    }
                    leftover
                }),
            );
        }
        deferred
    }
}

/// Twisted's `gatherResults`: all the values in order, or the first failure.
/// Later failures are dropped as handled.
pub fn gather<T: 'static>(deferreds: impl IntoIterator<Item = Deferred<T>>) -> Deferred<Vec<T>> {
    DeferredList::new(deferreds)
        .fire_on_one_errback()
        .consume_errors()
        .into_deferred()
        .then(|outcome| match outcome {
            Ok(ListOutcome::All(results)) => results.into_iter().collect(),
            Ok(ListOutcome::First { .. }) => unreachable!("gather does not fire on one callback"),
            Err(failure) => match failure.downcast_ref::<FirstError>() {
                Some(first) => Err(first.failure.clone()),
                None => Err(failure),
            },
        })
}

/// Twisted's `race`: the first success and its position; the other
/// Deferreds are cancelled. Fails with [`AllFailed`] if every one fails.
pub fn race<T: 'static>(deferreds: impl IntoIterator<Item = Deferred<T>>) -> Deferred<(usize, T)> {
    let deferreds: Vec<Deferred<T>> = deferreds.into_iter().collect();
    let count = deferreds.len();
    if count == 0 {
        return super::fail(AllFailed::new(Vec::new()));
    }
    let chains = Rc::new(RefCell::new(Vec::with_capacity(count)));
    let (deferred, resolver) = cancellable::<(usize, T)>(&chains);
    let failures: Rc<RefCell<Vec<Option<Failure>>>> = Rc::new(RefCell::new(vec![None; count]));
    for (index, item) in deferreds.into_iter().enumerate() {
        chains.borrow_mut().push(Rc::downgrade(item.chain_rc()));
        let resolver = resolver.clone();
        let failures = failures.clone();
        let chains = chains.clone();
        drop(item.then(move |result: Result<T, Failure>| {
            if resolver.is_fired() {
                return;
            }
            match result {
                Ok(value) => {
                    resolver.callback((index, value));
                    let losers = chains.borrow().clone();
                    cancel_all(&losers);
                }
                Err(failure) => {
                    let all_failed = {
                        let mut failures = failures.borrow_mut();
                        failures[index] = Some(failure);
                        failures.iter().all(Option::is_some)
                    };
                    if all_failed {
                        let failures = failures.borrow_mut().drain(..).flatten().collect();
                        resolver.errback(AllFailed::new(failures));
                    }
                }
            }
        }));
    }
    deferred
}
