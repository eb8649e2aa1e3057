//! [`ReceiverHandle`]: pausing and resuming a receiver from outside its
//! callbacks, and the flags that make it possible while the handler is
//! borrowed.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Weak;

use gyre_core::producer::PushProducer;
use gyre_core::{Failure, Transport};

/// The part of a receiver reachable while its handler is borrowed.
#[derive(Default)]
pub(crate) struct Flags {
    pub(crate) paused: Cell<bool>,
    /// Whether we paused the transport's reading (and owe it a resume).
    pub(crate) reading_paused: Cell<bool>,
    /// End of file arrived while frames were held; told after them.
    pub(crate) eof_pending: Cell<bool>,
    pub(crate) lost: Cell<bool>,
    pub(crate) failure: RefCell<Option<Failure>>,
    pub(crate) transport: RefCell<Option<Transport>>,
}

impl Flags {
    pub(crate) fn transport(&self) -> Option<Transport> {
        self.transport.borrow().clone()
    }

    pub(crate) fn pause(&self) {
        if self.lost.get() || self.paused.replace(true) {
            return;
        }
        if let Some(transport) = self.transport()
            && !self.reading_paused.replace(true)
        {
            transport.pause_reading();
        }
    }

    /// Records `reason` as what `connection_lost` reports (the first one
    /// wins) and closes.
    pub(crate) fn close_with(&self, transport: &Transport, reason: Failure) {
        self.failure.borrow_mut().get_or_insert(reason);
        transport.lose_connection();
    }
}

/// What a [`ReceiverHandle`] reaches, whatever the framing.
pub(crate) trait Control {
    fn flags(&self) -> &Flags;
    fn resume(&self);
}

/// A handle to a receiver, to pause and resume it from anywhere (Twisted's
/// `pauseProducing`/`resumeProducing` on a `LineReceiver`).
///
/// While paused, a receiver delivers no frames: it pauses its transport's
/// reading and keeps the bytes already read (within its `max_buffered`
/// limit). [`resume`](Self::resume) delivers the frames kept, before it
/// returns, and then lets the transport read again. Call it from a timer
/// or a Deferred callback — typically when the work a frame started is
/// done — or from inside the receiver's own callback.
///
/// It is also a [`PushProducer`], so registering it on another transport
/// makes that transport's full buffer pause this receiver (a relay).
/// Handles are weak: once the receiver is dropped they do nothing.
#[derive(Clone)]
pub struct ReceiverHandle {
    pub(crate) core: Weak<dyn Control>,
}

impl ReceiverHandle {
    /// Stops delivering frames until [`resume`](Self::resume).
    pub fn pause(&self) {
        if let Some(core) = self.core.upgrade() {
            core.flags().pause();
        }
    }

    /// Delivers the frames kept while paused, then reads again. Does
    /// nothing unless paused or once the connection is lost.
    pub fn resume(&self) {
        if let Some(core) = self.core.upgrade() {
            core.resume();
        }
    }

    /// Whether the receiver is paused.
    pub fn is_paused(&self) -> bool {
        self.core.upgrade().is_some_and(|core| core.flags().paused.get())
    }
}

impl PushProducer for ReceiverHandle {
    fn pause_producing(&self) {
        self.pause();
    }

    fn resume_producing(&self) {
        self.resume();
    }

    /// Closes the receiver's connection, as Twisted's `stopProducing` does.
    fn stop_producing(&self) {
        if let Some(transport) = self.core.upgrade().and_then(|core| core.flags().transport()) {
            transport.lose_connection();
        }
    }
}

impl fmt::Debug for ReceiverHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverHandle")
            .field("alive", &(self.core.strong_count() > 0))
            .field("paused", &self.is_paused())
            .finish()
    }
}
