//! [`Waiters`]: a first-come, first-served line of callers waiting for
//! something (a semaphore token, a queue item). Shared by
//! `DeferredSemaphore` and `DeferredQueue`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::{Deferred, Resolver};

pub(crate) struct Waiters<T> {
    line: Rc<RefCell<VecDeque<Resolver<T>>>>,
}

impl<T: 'static> Waiters<T> {
    pub(crate) fn new() -> Self {
        Waiters { line: Rc::default() }
    }

    /// Joins the line. Cancelling the returned Deferred leaves it; the
    /// canceller holds the line weakly, so a waiter does not keep its
    /// semaphore or queue alive.
    pub(crate) fn join(&self) -> Deferred<T> {
        let line = Rc::downgrade(&self.line);
        let (deferred, resolver) = Deferred::with_canceller(move |resolver: &Resolver<T>| {
            if let Some(line) = line.upgrade() {
                line.borrow_mut().retain(|waiter| !waiter.ptr_eq(resolver));
            }
        });
        self.line.borrow_mut().push_back(resolver);
        deferred
    }

    /// The first waiter still waiting, taken out of the line.
    pub(crate) fn pop(&self) -> Option<Resolver<T>> {
        loop {
            let waiter = self.line.borrow_mut().pop_front()?;
            if !waiter.is_fired() {
                return Some(waiter);
            }
        }
    }

    /// How many are still waiting.
    pub(crate) fn len(&self) -> usize {
        self.line
            .borrow()
            .iter()
            .filter(|waiter| !waiter.is_fired())
            .count()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
