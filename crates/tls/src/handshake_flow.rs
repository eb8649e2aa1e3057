//! Flow control while the handshake is in progress.
//!
//! Until the handshake completes, plaintext the wrapped protocol writes
//! waits inside rustls (its buffer limit is lifted so nothing written is
//! ever refused), invisible to the underlying transport's water marks. A
//! producer registered on the underlying transport then would never be
//! paused, and a streaming producer (a file sender, a relay) could pile up
//! unbounded memory before the first record is sent. So a producer
//! registered during the handshake is held here instead: a push producer
//! is paused at once, a pull producer is not asked for anything, and both
//! are handed to the underlying transport (resumed or asked) when the
//! handshake completes — or stopped if the connection ends first.

use std::cell::{Cell, RefCell};

use gyre_core::Failure;
use gyre_core::errors::ProducerAlreadyRegistered;
use gyre_core::producer::{Producer, WaterMarks};
use gyre_core::transport::Transport;

/// The handshake-time half of a session's flow control.
#[derive(Default)]
pub(crate) struct HandshakeFlow {
    /// The producer held back; a push one was paused by [`hold`](Self::hold).
    held: RefCell<Option<Producer>>,
    /// The marks last set on the transport, to decide whether a held push
    /// producer may resume once the underlying transport takes it over.
    marks: Cell<WaterMarks>,
    /// Plaintext written during the handshake and still inside rustls.
    plaintext: Cell<usize>,
}

impl HandshakeFlow {
    /// Holds `producer` until [`release`](Self::release); pauses a push producer.
    pub(crate) fn hold(&self, producer: Producer) -> Result<(), Failure> {
        if self.held.borrow().is_some() {
            return Err(Failure::new(ProducerAlreadyRegistered::new()));
        }
        if let Producer::Push(push) = &producer {
            push.pause_producing();
        }
        *self.held.borrow_mut() = Some(producer);
        Ok(())
    }

    /// Whether a producer is held (so registering another must fail).
    pub(crate) fn is_holding(&self) -> bool {
        self.held.borrow().is_some()
    }

    /// Forgets a held producer; false when none was held.
    pub(crate) fn unregister(&self) -> bool {
        self.held.borrow_mut().take().is_some()
    }

    /// Hands a held producer to `inner` now that records flow: a pull
    /// producer is asked for its first chunk by the registration, a push
    /// producer we paused is resumed unless `inner` is already above its
    /// high-water mark (then `inner` resumes it when it drains).
    pub(crate) fn release(&self, inner: &Transport) {
        self.plaintext.set(0);
        let Some(producer) = self.held.borrow_mut().take() else {
            return;
        };
        // Registration fails only when the transport below closed meanwhile
        // (or someone registered there directly): either way this producer
        // has no consumer left.
        if inner.register_producer(producer.clone()).is_err() {
            producer.stop_producing();
            return;
        }
        if let Producer::Push(push) = producer
            && inner.buffered_len() <= self.marks.get().high
        {
            push.resume_producing();
        }
    }

    /// The connection ended before the handshake completed.
    pub(crate) fn stop(&self) {
        let held = self.held.borrow_mut().take();
        if let Some(producer) = held {
            producer.stop_producing();
        }
    }

    /// `len` plaintext bytes were written during the handshake.
    pub(crate) fn note_plaintext(&self, len: usize) {
        self.plaintext.set(self.plaintext.get().saturating_add(len));
    }

    /// Plaintext bytes waiting for the handshake.
    pub(crate) fn plaintext(&self) -> usize {
        self.plaintext.get()
    }

    /// Remembers the water marks set on the transport.
    pub(crate) fn set_water_marks(&self, marks: WaterMarks) {
        self.marks.set(marks);
    }
}
