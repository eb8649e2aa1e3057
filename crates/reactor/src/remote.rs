//! Calls into the reactor from other threads: [`ReactorHandle`].
//!
//! Other threads cannot touch the reactor's state (it is `!Send` by design),
//! so they send closures down a channel and wake the poller with a
//! `mio::Waker` (an eventfd on Linux). The loop drains the channel every
//! turn. The same channel carries the executor's task wake-ups, so a future
//! woken from a worker thread is polled on the reactor thread.
//!
//! Wake-ups are coalesced: a sender writes the eventfd only when it sets the
//! "wake pending" flag, and the loop clears that flag just before it drains
//! the channel. A call queued while the flag was already set is either seen
//! by that drain or queued after the flag was cleared, and then its sender
//! sets the flag and wakes the loop itself; so a burst of calls costs one
//! `write(2)`, and no call waits for a wake-up that does not come.

use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Set by the sender that wakes the loop, cleared by the loop before it
    /// drains the channel: while it is set, a wake-up is on its way and
    /// other senders need not write the eventfd again.
    pub(crate) wake_pending: Arc<AtomicBool>,
    /// Set by a host loop's run ([`HostedRun`](crate::HostedRun)) after each
    /// turn, while the host may sleep on the descriptor with a timer armed
    /// for the deadline it saw: the first work queued on the reactor's own
    /// thread outside a turn clears it and wakes the descriptor.
    pub(crate) host_waiting: Arc<AtomicBool>,
}

impl ReactorHandle {
    /// Runs `f` on the reactor's thread during its next turn, waking the loop
    /// if it is waiting. Calls from one thread run in the order they were made.
    /// Calls made after the reactor was dropped or closed are discarded.
    ///
    /// A call made on the reactor's own thread does not write the wake-up
    /// eventfd (the loop drains the channel before it next waits). A host
    /// loop driving the reactor with [`Reactor::run_once`] must therefore
    /// check [`Reactor::has_pending_work`] after each step that runs
    /// callbacks, and turn again at once when it is true, rather than wait
    /// for [`Reactor::poll_fd`] to become readable.
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

    /// Clears the "wake pending" flag; the loop calls this just before it
    /// drains the channel, so a sender that queues after the drain began
    /// writes the eventfd again.
    pub(crate) fn take_wake(&self) {
        self.wake_pending.swap(false, Ordering::AcqRel);
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

    /// Wakes a host loop that may sleep with an out-of-date view of the
    /// reactor (work queued, or a timer added, by host code between turns):
    /// the descriptor becomes readable, the host turns and re-arms. Only the
    /// first such call after a turn writes the eventfd. Reactor thread only.
    pub(crate) fn kick_host(&self) {
        if self.host_waiting.load(Ordering::Relaxed)
            && self.host_waiting.swap(false, Ordering::AcqRel)
            && let Err(error) = self.waker.wake()
        {
            tracing::error!(target: "gyre::reactor", %error, "could not wake the host loop");
        }
    }

    fn wake(&self) {
        if self.is_reactor_thread() {
            return self.kick_host();
        }
        // Only the sender that sets the flag writes the eventfd. The swap
        // is a release after our call went into the channel, and the loop's
        // acquiring swap in `take_wake` sees it, so a drain that follows the
        // loop clearing a flag we found set sees our call.
        if self.wake_pending.swap(true, Ordering::AcqRel) {
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
