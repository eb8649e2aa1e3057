//! Calls into the reactor from other threads: [`ReactorHandle`].
//!
//! Other threads cannot touch the reactor's state (it is `!Send` by design),
//! so they send closures down a channel and wake the poller with a
//! `mio::Waker` (an eventfd on Linux). The loop drains the channel every
//! turn. The same channel carries the executor's task wake-ups, so a future
//! woken from a worker thread is polled on the reactor thread.

use std::sync::{Arc, PoisonError, RwLock};
use std::thread::ThreadId;

use crossbeam_channel::{Receiver, Sender};
use mio::Waker;

use crate::Reactor;

pub(crate) enum RemoteCall {
    /// A closure from `call_from_thread`.
    Call(Box<dyn FnOnce(&Reactor) + Send>),
    /// A task of the executor to poll.
    Task(async_task::Runnable),
}

/// A handle to a reactor that other threads can use: `Send`, `Sync`, `Clone`.
///
/// ```
/// let reactor = gyre_reactor::Reactor::new().unwrap();
/// let handle = reactor.handle();
/// std::thread::spawn(move || {
///     // Runs on the reactor's thread, during its next turn.
///     handle.call_from_thread(|reactor| reactor.stop().unwrap());
/// });
/// reactor.run().unwrap();
/// ```
#[derive(Clone)]
pub struct ReactorHandle {
    pub(crate) sender: Sender<RemoteCall>,
    pub(crate) waker: Arc<Waker>,
    /// The reactor's thread: calls from it need no wake-up, since the loop
    /// drains the channel before it next waits.
    pub(crate) owner: ThreadId,
    /// Set by `Reactor::close`: calls are refused from then on, so nothing
    /// new (a closure or a task holding a clone of the reactor) lands in a
    /// channel nobody will drain. A sender holds the read lock from its
    /// check until its call is in the channel and `close` takes the write
    /// lock to set it, so a call is either refused or queued before `close`
    /// drains (and drops) what is queued, never queued after: a worker
    /// waiting in `blocking_call_from_thread` always gets its answer.
    pub(crate) closed: Arc<RwLock<bool>>,
}

impl ReactorHandle {
    /// Runs `f` on the reactor's thread during its next turn, waking the loop
    /// if it is waiting. Calls from one thread run in the order they were made.
    /// Calls made after the reactor was dropped or closed are discarded.
    pub fn call_from_thread(&self, f: impl FnOnce(&Reactor) + Send + 'static) {
        self.send(RemoteCall::Call(Box::new(f)));
    }

    /// Whether the current thread is the reactor's.
    pub fn is_reactor_thread(&self) -> bool {
        std::thread::current().id() == self.owner
    }

    pub(crate) fn schedule_task(&self, runnable: async_task::Runnable) {
        self.send(RemoteCall::Task(runnable));
    }

    /// Refuses every later call (`Reactor::close`). Once this returns, every
    /// call that was not refused is in the channel.
    pub(crate) fn refuse_calls(&self) {
        *self.closed.write().unwrap_or_else(PoisonError::into_inner) = true;
    }

    fn send(&self, call: RemoteCall) {
        let refused = {
            let closed = self.closed.read().unwrap_or_else(PoisonError::into_inner);
            if *closed {
                Some(call)
            } else {
                self.sender.send(call).err().map(|error| error.into_inner())
            }
        };
        // The lock is released before a refused call is dropped: its drop
        // may run code that calls in again.
        let Some(refused) = refused else {
            return self.wake();
        };
        // A task of the executor is `!Send` inside: dropping it on another
        // thread panics (async-task checks), so a refused task woken from
        // a foreign thread is leaked instead. That only happens when a
        // waker outlives its reactor.
        if let RemoteCall::Task(runnable) = refused
            && !self.is_reactor_thread()
        {
            std::mem::forget(runnable);
        }
    }

    fn wake(&self) {
        if self.is_reactor_thread() {
            return;
        }
        if let Err(error) = self.waker.wake() {
            tracing::error!(target: "gyre::reactor", %error, "could not wake the reactor");
        }
    }
}

impl std::fmt::Debug for ReactorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReactorHandle")
            .field("queued", &self.sender.len())
            .finish()
    }
}

pub(crate) fn channel() -> (Sender<RemoteCall>, Receiver<RemoteCall>) {
    crossbeam_channel::unbounded()
}
