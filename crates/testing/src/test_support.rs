//! Helpers shared by this crate's unit tests: an event log, reading a
//! panic's message, naming the reason a connection ended, and a pull
//! producer that sends a fixed list of chunks.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use gyre_core::Failure;
use gyre_core::errors::{Cancelled, ConnectionAborted, ConnectionDone, ConnectionLost, ConnectionRefused};
use gyre_core::producer::PullProducer;
use gyre_core::transport::Transport;

/// What test protocols and factories saw, in order, shared with the test.
pub(crate) type Log = Rc<RefCell<Vec<String>>>;

/// An empty [`Log`].
pub(crate) fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

/// Runs `f`, which must panic, and returns its panic message.
pub(crate) fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

/// A short name for why a connection ended or an attempt failed, for logs
/// that tests compare.
pub(crate) fn reason_name(reason: &Failure) -> &'static str {
    if reason.is::<ConnectionDone>() {
        "done"
    } else if reason.is::<ConnectionAborted>() {
        "aborted"
    } else if reason.is::<ConnectionLost>() {
        "lost"
    } else if reason.is::<ConnectionRefused>() {
        "refused"
    } else if reason.is::<Cancelled>() {
        "cancelled"
    } else {
        "other"
    }
}

/// A pull producer that writes its chunks in order, one per request; asked
/// once more after the last, it unregisters (and, if built with
/// [`closing_when_done`](Self::closing_when_done), loses the connection).
pub(crate) struct Chunks {
    transport: Transport,
    /// What is left to send, last chunk first.
    left: RefCell<Vec<&'static [u8]>>,
    close_when_done: bool,
}

impl Chunks {
    /// Sends `chunks` on `transport`, first one first.
    pub(crate) fn new(transport: Transport, chunks: &[&'static [u8]]) -> Self {
        Chunks {
            transport,
            left: RefCell::new(chunks.iter().rev().copied().collect()),
            close_when_done: false,
        }
    }

    /// Also calls `lose_connection` after unregistering.
    pub(crate) fn closing_when_done(mut self) -> Self {
        self.close_when_done = true;
        self
    }
}

impl PullProducer for Chunks {
    fn resume_producing(&self) {
        let next = self.left.borrow_mut().pop();
        match next {
            Some(chunk) => self.transport.write(chunk),
            None => {
                self.transport.unregister_producer();
                if self.close_when_done {
                    self.transport.lose_connection();
                }
            }
        }
    }
    fn stop_producing(&self) {}
}
