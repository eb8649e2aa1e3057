//! [`StreamProtocol`]: the protocol that feeds an [`AsyncStream`], and the
//! producer through which the transport tells the stream to wait.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gyre_core::producer::{Producer, PushProducer};
use gyre_core::{Failure, Protocol, Transport};

use super::stream::{AsyncStream, Shared, State, Wakers, wake};

/// The protocol behind an [`AsyncStream`]: run it over any transport (TCP,
/// Unix, a process's pipes) and it hands over the stream once connected.
pub struct StreamProtocol {
    shared: Shared,
    on_connect: Option<Box<dyn FnOnce(AsyncStream)>>,
}

impl StreamProtocol {
    /// A protocol that calls `on_connect` with the stream in
    /// `connection_made` (for example to fire a Resolver or spawn a task).
    pub fn new(on_connect: impl FnOnce(AsyncStream) + 'static) -> StreamProtocol {
        let state = State::new();
        StreamProtocol {
            shared: Rc::new(RefCell::new(state)),
            on_connect: Some(Box::new(on_connect)),
        }
    }
}

impl Protocol for StreamProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        self.shared.borrow_mut().transport = Some(transport.clone());
        let gate = Gate {
            shared: Rc::downgrade(&self.shared),
        };
        if let Err(failure) = transport.register_producer(Producer::Push(Rc::new(gate))) {
            tracing::debug!(target: "gyre::async_io", %failure, "no write flow control on this transport");
        }
        if let Some(on_connect) = self.on_connect.take() {
            on_connect(AsyncStream::new(
                self.shared.clone(),
                transport.peer(),
                transport.host(),
            ));
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        let (reader, pause) = {
            let mut state = self.shared.borrow_mut();
            state.buffer.extend_from_slice(data);
            let pause = !state.reading_paused && state.available() > state.limit.max(state.wanted);
            state.reading_paused |= pause;
            (state.reader.take(), pause)
        };
        if pause {
            transport.pause_reading();
        }
        wake(reader);
    }

    fn read_connection_lost(&mut self, _transport: &Transport) {
        let reader = {
            let mut state = self.shared.borrow_mut();
            state.read_eof = true;
            state.reader.take()
        };
        wake(reader);
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        let (wakers, transport) = {
            let mut state = self.shared.borrow_mut();
            state.read_eof = true;
            state.lost = Some(reason);
            // Dropping the transport here breaks the cycle stream → transport → protocol → stream.
            (
                [state.reader.take(), state.writer.take(), state.closer.take()],
                state.transport.take(),
            )
        };
        drop(transport);
        wakers.into_iter().for_each(wake);
    }
}

/// Flow control for writes: the transport pauses it above the high-water
/// mark and resumes it below the low one.
struct Gate {
    shared: Weak<RefCell<State>>,
}

impl Gate {
    fn set_paused(&self, paused: bool) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let writer = {
            let mut state = shared.borrow_mut();
            state.write_paused = paused;
            if paused {
                Wakers::default()
            } else {
                state.writer.take()
            }
        };
        wake(writer);
    }
}

impl PushProducer for Gate {
    fn pause_producing(&self) {
        self.set_paused(true);
    }

    fn resume_producing(&self) {
        self.set_paused(false);
    }

    fn stop_producing(&self) {
        self.set_paused(false);
    }
}
