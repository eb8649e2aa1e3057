//! The untyped engine under [`Deferred`](super::Deferred).
//!
//! A chain holds one result slot and a queue of links. Values travel as
//! `Box<dyn Any>` so that one chain can change its value's type from link to
//! link; the typed wrappers guarantee that every downcast matches, because a
//! `Deferred<T>` handle is unique (not `Clone`) and moves on every
//! type-changing combinator.
//!
//! # No recursion between chains
//! When a link returns another Deferred, this chain waits on it: the inner
//! chain records this one as its `parent`. When the inner chain runs out of
//! links, [`run`] hands its result to the parent and carries on with the
//! parent *in the same loop*, and `chain()` links likewise continue with their
//! target. A chain of 100,000 Deferreds therefore fires in constant stack
//! depth, and dropping such a chain unlinks it iteratively (see `Drop`).
//!
//! # Who keeps what alive
//! A waiting chain holds its inner chain only weakly (to cancel it); the inner
//! chain holds its parent strongly. The source of a result (a `Resolver`,
//! usually kept by a transport or a timer) thus keeps the whole chain alive,
//! and a chain whose source is gone is freed, as in Twisted.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use crate::errors::{AlreadyFired, Cancelled};
use crate::failure::Failure;

/// A value of the chain's current (erased) type.
pub(crate) type Value = Box<dyn Any>;
/// A result as it travels along a chain.
pub(crate) type Erased = Result<Value, Failure>;

/// What a link produced.
pub(crate) enum Step {
    /// A result for the next link.
    Ready(Erased),
    /// Wait for this chain, then continue with its result.
    Wait(Rc<Chain>),
}

pub(crate) type Callback = Box<dyn FnOnce(Erased) -> Step>;
pub(crate) type Canceller = Box<dyn FnOnce(&Rc<Chain>)>;

enum Link {
    Call(Callback),
    /// Hand the result to another chain and continue with it.
    Chain(Rc<Chain>),
}

#[derive(Default)]
pub(crate) struct ChainState {
    /// Fired (by a resolver, a chain link or cancellation).
    called: bool,
    result: Option<Erased>,
    links: VecDeque<Link>,
    /// `pause()` count.
    paused: u32,
    /// A link of this chain is executing further up the stack.
    running: bool,
    /// Set while this chain waits on an inner chain.
    waiting_on: Option<Weak<Chain>>,
    /// The chain waiting on this one.
    parent: Option<Rc<Chain>>,
    canceller: Option<Canceller>,
    /// Cancelled with no canceller: the source's late fire is ignored once.
    suppress_already_fired: bool,
}

/// One Deferred's shared state.
#[derive(Default)]
pub(crate) struct Chain {
    state: RefCell<ChainState>,
}

/// What a chain holds now, for `Deferred::state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferredState {
    /// Not fired yet.
    Pending,
    /// Fired, but waiting on another Deferred or paused.
    Waiting,
    /// Holds a successful result.
    Succeeded,
    /// Holds a failure.
    Failed,
    /// Its result was handed on to another Deferred (by `chain` or by being
    /// returned from a callback).
    HandedOn,
}

impl Chain {
    pub(crate) fn new_rc(canceller: Option<Canceller>) -> Rc<Chain> {
        let chain = Chain::default();
        chain.state.borrow_mut().canceller = canceller;
        Rc::new(chain)
    }

    pub(crate) fn fired(result: Erased) -> Rc<Chain> {
        let chain = Chain::default();
        {
            let mut state = chain.state.borrow_mut();
            state.called = true;
            state.result = Some(result);
        }
        Rc::new(chain)
    }

    pub(crate) fn state(&self) -> DeferredState {
        let state = self.state.borrow();
        if !state.called {
            DeferredState::Pending
        } else if state.waiting_on.is_some() || state.paused > 0 {
            DeferredState::Waiting
        } else {
            match &state.result {
                Some(Ok(_)) => DeferredState::Succeeded,
                Some(Err(_)) => DeferredState::Failed,
                None if state.running => DeferredState::Waiting,
                None => DeferredState::HandedOn,
            }
        }
    }

    pub(crate) fn is_called(&self) -> bool {
        self.state.borrow().called
    }

    pub(crate) fn pause(&self) {
        self.state.borrow_mut().paused += 1;
    }
}

/// Appends a callback and runs the chain if it already has a result.
pub(crate) fn push(chain: &Rc<Chain>, callback: Callback) {
    chain.state.borrow_mut().links.push_back(Link::Call(callback));
    run(chain.clone());
}

/// Appends a link handing the result to `target`.
pub(crate) fn push_chain(chain: &Rc<Chain>, target: Rc<Chain>) {
    chain.state.borrow_mut().links.push_back(Link::Chain(target));
    run(chain.clone());
}

/// Fires `chain` with `result`. A second fire is an error, except the single
/// late fire of the source after a cancellation with no canceller.
pub(crate) fn fire(chain: &Rc<Chain>, result: Erased) -> Result<(), AlreadyFired> {
    if deliver(chain, result)? {
        run(chain.clone());
    }
    Ok(())
}

/// Stores a result. `Ok(false)` means it was silently dropped (the suppressed
/// late fire after cancellation).
fn deliver(chain: &Rc<Chain>, result: Erased) -> Result<bool, AlreadyFired> {
    let mut state = chain.state.borrow_mut();
    if state.called {
        if state.suppress_already_fired {
            state.suppress_already_fired = false;
            return Ok(false);
        }
        return Err(AlreadyFired::new());
    }
    state.called = true;
    state.canceller = None;
    state.result = Some(result);
    Ok(true)
}

pub(crate) fn unpause(chain: &Rc<Chain>) {
    {
        let mut state = chain.state.borrow_mut();
        state.paused = state.paused.saturating_sub(1);
    }
    run(chain.clone());
}

/// Twisted's `cancel`: an unfired chain calls its canceller and, if that did
/// not fire it, fails with `Cancelled`; a chain waiting on another cancels
/// that one instead.
pub(crate) fn cancel(chain: &Rc<Chain>) {
    let waiting_on = {
        let mut state = chain.state.borrow_mut();
        if !state.called {
            let canceller = state.canceller.take();
            if canceller.is_none() {
                state.suppress_already_fired = true;
            }
            drop(state);
            if let Some(canceller) = canceller {
                canceller(chain);
            }
            if !chain.is_called() {
                let _ = fire(chain, Err(Failure::new(Cancelled::new())));
            }
            return;
        }
        match state.waiting_on.as_ref().map(Weak::upgrade) {
            Some(Some(inner)) => inner,
            // The Deferred we wait on is gone: nothing can fire it any more,
            // so go on as if cancelling it had failed it with `Cancelled`.
            Some(None) => {
                state.waiting_on = None;
                state.result = Some(Err(Failure::new(Cancelled::new())));
                drop(state);
                run(chain.clone());
                return;
            }
            None => return,
        }
    };
    cancel(&waiting_on);
}

/// Resets `running` if a callback panics, so the chain is not wedged.
struct RunningGuard<'a>(&'a Chain);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.try_borrow_mut() {
            state.running = false;
        }
    }
}

enum Next {
    Stop,
    Continue(Rc<Chain>),
}

/// Runs links for as long as results are available, following waits and
/// chains iteratively.
pub(crate) fn run(mut current: Rc<Chain>) {
    loop {
        match run_links(&current) {
            Next::Stop => return,
            Next::Continue(next) => current = next,
        }
    }
}

/// Runs the links of one chain; returns the chain to continue with.
fn run_links(chain: &Rc<Chain>) -> Next {
    loop {
        let link = {
            let mut state = chain.state.borrow_mut();
            if state.running || state.paused > 0 || state.waiting_on.is_some() || state.result.is_none() {
                return Next::Stop;
            }
            match state.links.pop_front() {
                Some(link) => link,
                None => return hand_to_parent(&mut state),
            }
        };
        match link {
            Link::Call(callback) => {
                let result = {
                    let mut state = chain.state.borrow_mut();
                    state.running = true;
                    state.result.take().expect("checked above")
                };
                let step = {
                    let _guard = RunningGuard(chain);
                    callback(result)
                };
                match step {
                    Step::Ready(result) => chain.state.borrow_mut().result = Some(result),
                    Step::Wait(inner) => {
                        if let Some(result) = take_settled(&inner) {
                            chain.state.borrow_mut().result = Some(result);
                        } else {
                            wait_on(chain, &inner);
                            return Next::Stop;
                        }
                    }
                }
            }
            Link::Chain(target) => {
                let result = chain.state.borrow_mut().result.take().expect("checked above");
                return match deliver(&target, result) {
                    Ok(true) => Next::Continue(target),
                    Ok(false) => Next::Stop,
                    Err(already) => {
                        report_already_fired(&already, "chain");
                        Next::Stop
                    }
                };
            }
        }
    }
}

/// The links ran out: pass the result to a waiting parent, if any.
fn hand_to_parent(state: &mut ChainState) -> Next {
    let Some(parent) = state.parent.take() else {
        return Next::Stop;
    };
    let result = state.result.take();
    {
        let mut parent_state = parent.state.borrow_mut();
        parent_state.waiting_on = None;
        parent_state.result = result;
    }
    Next::Continue(parent)
}

/// The result of a chain that has finished all its links, taken out of it.
fn take_settled(inner: &Rc<Chain>) -> Option<Erased> {
    let mut state = inner.state.borrow_mut();
    let settled = state.called
        && !state.running
        && state.paused == 0
        && state.waiting_on.is_none()
        && state.links.is_empty()
        && state.parent.is_none();
    if settled { state.result.take() } else { None }
}

fn wait_on(chain: &Rc<Chain>, inner: &Rc<Chain>) {
    chain.state.borrow_mut().waiting_on = Some(Rc::downgrade(inner));
    let mut inner_state = inner.state.borrow_mut();
    assert!(
        inner_state.parent.is_none(),
        "a Deferred can be waited on by only one other Deferred"
    );
    // The inner chain is unfired, paused, waiting itself, or running further
    // up the stack; whichever it is, it continues with its parent once it
    // runs out of links (see `hand_to_parent`).
    inner_state.parent = Some(chain.clone());
}

pub(crate) fn report_already_fired(error: &AlreadyFired, how: &str) {
    tracing::error!(target: "gyre::deferred", "Deferred fired twice ({how}): {error}");
}

fn report_unhandled(failure: &Failure) {
    tracing::error!(
        target: "gyre::deferred",
        failure = %failure,
        detail = ?failure,
        "unhandled error in Deferred"
    );
}

impl Drop for Chain {
    /// Reports a failure nobody handled, then unlinks parents and chain
    /// targets one by one so that dropping a very long chain does not recurse.
    fn drop(&mut self) {
        let mut pending = Vec::new();
        take_links(self.state.get_mut(), &mut pending);
        while let Some(next) = pending.pop() {
            if let Ok(chain) = Rc::try_unwrap(next) {
                let mut chain = chain;
                take_links(chain.state.get_mut(), &mut pending);
                // `chain` drops here with nothing left to recurse into.
            }
        }
    }
}

fn take_links(state: &mut ChainState, pending: &mut Vec<Rc<Chain>>) {
    if let Some(Err(failure)) = state.result.take() {
        report_unhandled(&failure);
    }
    pending.extend(state.parent.take());
    for link in state.links.drain(..) {
        if let Link::Chain(target) = link {
            pending.push(target);
        }
    }
}
