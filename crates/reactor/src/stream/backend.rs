//! The [`TransportBackend`] side of [`StreamConnection`]: what a protocol's
//! `Transport` calls. None of these methods calls back into the protocol;
//! anything the protocol must hear about is queued for the end of the turn.

use std::io::IoSlice;

use gyre_core::Failure;
use gyre_core::address::Address;
use gyre_core::capability::CapabilityRequest;
use gyre_core::errors::ConnectionAborted;
use gyre_core::producer::{Producer, WaterMarks};
use gyre_core::transport::{ConnectionState, TransportBackend};

use super::{StreamConnection, StreamSocket, WriteSide};

impl<S: StreamSocket> StreamConnection<S> {
    /// Whether a write now would be sent: not after the close, and not after
    /// the write side was shut down (or asked to be).
    fn accepts_writes(&self) -> bool {
        self.state.get() != ConnectionState::Closed && self.write_side.get() == WriteSide::Open
    }

    /// Bookkeeping after bytes were appended: one flush per turn, and the
    /// producer paused above the high-water mark.
    fn buffered(&self, buffered: usize) {
        self.schedule_flush();
        self.flow.after_write(buffered);
    }
}

impl<S: StreamSocket> TransportBackend for StreamConnection<S> {
    fn write(&self, data: &[u8]) {
        if data.is_empty() || !self.accepts_writes() {
            return;
        }
        let buffered = {
            let mut buffer = self.buffer.borrow_mut();
            buffer.extend(data);
            buffer.len()
        };
        self.buffered(buffered);
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) {
        if !self.accepts_writes() || bufs.iter().all(|buf| buf.is_empty()) {
            return;
        }
        let buffered = {
            let mut buffer = self.buffer.borrow_mut();
            for buf in bufs {
                buffer.extend(buf);
            }
            buffer.len()
        };
        self.buffered(buffered);
    }

    fn lose_connection(&self) {
        if self.state.get() != ConnectionState::Open {
            return;
        }
        self.state.set(ConnectionState::Closing);
        self.schedule_flush();
    }

    fn abort_connection(&self) {
        self.close(Failure::new(ConnectionAborted::new()), true);
    }

    fn lose_write_connection(&self) {
        if !self.accepts_writes() {
            return;
        }
        self.write_side.set(WriteSide::ShutdownRequested);
        self.schedule_flush();
    }

    fn peer(&self) -> Address {
        self.peer.clone()
    }

    fn host(&self) -> Address {
        self.host.clone()
    }

    fn pause_reading(&self) {
        self.reading_paused.set(true);
    }

    fn resume_reading(&self) {
        if !self.reading_paused.replace(false) {
            return;
        }
        // Readiness that arrived while paused produces no new event (edge
        // triggered): read it on this turn's queue instead.
        if self.read_pending.get()
            && self.is_open_for_reading()
            && let Some(reactor) = self.reactor.upgrade()
        {
            self.schedule_read(&reactor);
        }
    }

    fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        if self.state.get() == ConnectionState::Closed {
            producer.stop_producing();
            return Ok(());
        }
        let buffered = self.buffer.borrow().len();
        self.flow.register(producer, buffered)
    }

    fn unregister_producer(&self) {
        self.flow.unregister();
    }

    fn set_water_marks(&self, marks: WaterMarks) {
        self.flow.set_water_marks(marks);
    }

    fn buffered_len(&self) -> usize {
        self.buffer.borrow().len()
    }

    fn state(&self) -> ConnectionState {
        self.state.get()
    }

    fn kind(&self) -> &'static str {
        match self.socket.borrow().as_ref() {
            Some(socket) => socket.kind(),
            None => "closed stream",
        }
    }

    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        if let Some(socket) = self.socket.borrow().as_ref() {
            socket.capability(request);
        }
    }
}
