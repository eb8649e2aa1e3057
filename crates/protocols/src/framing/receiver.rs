//! The runtime every receiver shares: a sans-IO decoder and a handler
//! behind one `Protocol`, with pausing, closing with a reason, and the
//! [`ReceiverHandle`] that resumes a paused receiver from outside its
//! callbacks.
//!
//! A receiver is `Rc`-shared state: the decoder and the handler in one
//! `RefCell` (borrowed while frames are delivered), and the flags its
//! handles reach (paused, the transport, the failure to report) in cells
//! next to it. A handler asks for mode switches through its context; they
//! are applied between two frames, with the read's remaining bytes, so
//! bytes after a switch reach the new mode in order.

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::rc::{Rc, Weak};

use gyre_core::transport::ConnectionState;
use gyre_core::{Failure, Transport};

use super::error::BufferLimitExceeded;
use super::handle::{Control, Flags, ReceiverHandle};
use super::input::Input;

/// A mode switch a line handler asked for, applied after its callback.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ModeRequest {
    Raw,
    RawFor(u64),
    Line,
    LineAfter(usize),
}

/// What a handler asked of its decoder during one callback.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    pub(crate) mode: Option<ModeRequest>,
    pub(crate) clear: bool,
}

/// A sans-IO decoder, as the runtime drives it.
pub(crate) trait Decode: 'static {
    /// What one step hands out.
    type Frame<'a>
    where
        Self: 'a;
    /// What a frame is called, for messages.
    const WHAT: &'static str;
    /// The next frame from held bytes, then `input`.
    fn next<'s, 'd: 's>(&'s mut self, input: &mut Input<'d>) -> Result<Option<Self::Frame<'s>>, Failure>;
    /// Keeps `input` for later (the receiver is paused).
    fn hold(&mut self, input: &mut Input<'_>) -> Result<(), BufferLimitExceeded>;
    /// Whether a frame has begun and not ended.
    fn mid_frame(&self) -> bool;
    /// Applies mode switches; only line decoders have any.
    fn apply(&mut self, requests: &mut Requests, input: &mut Input<'_>) {
        let _ = input;
        *requests = Requests::default();
    }
}

/// A handler wrapped for one framing: turns frames into handler calls with
/// the framing's context.
pub(crate) trait Deliver<D: Decode>: 'static {
    fn connection_made(&mut self, cx: Common<'_>);
    fn frame(&mut self, cx: Common<'_>, frame: D::Frame<'_>);
    fn read_connection_lost(&mut self, cx: Common<'_>);
    fn connection_lost(&mut self, transport: &Transport, reason: Failure);
}

/// What every context holds: the transport, the request slot, the flags.
pub(crate) struct Common<'a> {
    pub(crate) transport: &'a Transport,
    pub(crate) requests: &'a mut Requests,
    pub(crate) flags: &'a Flags,
    pub(crate) me: &'a Weak<dyn Control>,
}

impl Common<'_> {
    pub(crate) fn close_with(&self, reason: Failure) {
        self.flags.close_with(self.transport, reason);
    }

    pub(crate) fn pause(&self) -> ReceiverHandle {
        self.flags.pause();
        self.handle()
    }

    pub(crate) fn handle(&self) -> ReceiverHandle {
        ReceiverHandle {
            core: self.me.clone(),
        }
    }
}

/// The shared state of one receiver.
pub(crate) struct Core<D: Decode, W: Deliver<D>> {
    me: Weak<dyn Control>,
    flags: Flags,
    state: RefCell<State<D, W>>,
    /// Whether the runtime itself has `state` borrowed (and will deliver
    /// what a resume from inside a callback released).
    delivering: Cell<bool>,
}

pub(crate) struct State<D, W> {
    decoder: D,
    pub(crate) wrapper: W,
    requests: Requests,
}

impl<D: Decode, W: Deliver<D>> Core<D, W> {
    pub(crate) fn new(decoder: D, wrapper: W) -> Rc<Self> {
        Rc::new_cyclic(|me: &Weak<Self>| Core {
            me: me.clone(),
            flags: Flags::default(),
            state: RefCell::new(State {
                decoder,
                wrapper,
                requests: Requests::default(),
            }),
            delivering: Cell::new(false),
        })
    }

    /// Borrows the decoder and handler for delivering, marking it so that a
    /// resume from inside a callback knows delivery goes on.
    fn deliver(&self, f: impl FnOnce(&mut State<D, W>)) {
        let mut state = self.state.borrow_mut();
        let outer = self.delivering.replace(true);
        f(&mut state);
        self.delivering.set(outer);
    }

    pub(crate) fn wrapper(&self) -> Ref<'_, W> {
        Ref::map(self.state.borrow(), |state| &state.wrapper)
    }

    pub(crate) fn wrapper_mut(&self) -> RefMut<'_, W> {
        RefMut::map(self.state.borrow_mut(), |state| &mut state.wrapper)
    }

    pub(crate) fn handle(&self) -> ReceiverHandle {
        ReceiverHandle {
            core: self.me.clone(),
        }
    }

    fn common<'a>(&'a self, transport: &'a Transport, requests: &'a mut Requests) -> Common<'a> {
        Common {
            transport,
            requests,
            flags: &self.flags,
            me: &self.me,
        }
    }

    pub(crate) fn connection_made(&self, transport: &Transport) {
        *self.flags.transport.borrow_mut() = Some(transport.clone());
        if self.flags.paused.get() && !self.flags.reading_paused.replace(true) {
            transport.pause_reading();
        }
        self.deliver(|state| {
            state
                .wrapper
                .connection_made(self.common(transport, &mut state.requests));
            self.run(state, transport, &mut Input::new(&[]));
        });
    }

    pub(crate) fn data_received(&self, transport: &Transport, data: &[u8]) {
        self.deliver(|state| self.run(state, transport, &mut Input::new(data)));
    }

    pub(crate) fn read_connection_lost(&self, transport: &Transport) {
        if self.flags.paused.get() {
            // Frames held while paused came before the end of file.
            self.flags.eof_pending.set(true);
            return;
        }
        self.deliver(|state| self.end_of_file(state, transport));
    }

    pub(crate) fn connection_lost(&self, transport: &Transport, reason: Failure) {
        self.flags.lost.set(true);
        let reason = self.flags.failure.borrow_mut().take().unwrap_or(reason);
        let mut state = self.state.borrow_mut();
        let reason = if state.decoder.mid_frame() {
            reason.context(format!("the connection ended in the middle of a {}", D::WHAT))
        } else {
            reason
        };
        // The transport's backend may own this protocol: drop the cycle.
        self.flags.transport.borrow_mut().take();
        state.wrapper.connection_lost(transport, reason);
    }

    fn end_of_file(&self, state: &mut State<D, W>, transport: &Transport) {
        self.flags.eof_pending.set(false);
        state
            .wrapper
            .read_connection_lost(self.common(transport, &mut state.requests));
        self.run(state, transport, &mut Input::new(&[]));
    }

    /// Delivers frames until `input` is used up, the receiver is paused or
    /// the connection is closing.
    fn run(&self, state: &mut State<D, W>, transport: &Transport, input: &mut Input<'_>) {
        loop {
            Self::settle(state, input);
            if self.flags.lost.get() || transport.state() != ConnectionState::Open {
                return;
            }
            if self.flags.paused.get() {
                if let Err(error) = state.decoder.hold(input) {
                    self.flags.close_with(transport, Failure::new(error));
                }
                return;
            }
            let State {
                decoder,
                wrapper,
                requests,
            } = state;
            match decoder.next(input) {
                Ok(Some(frame)) => wrapper.frame(self.common(transport, requests), frame),
                Ok(None) => break,
                Err(failure) => return self.flags.close_with(transport, failure),
            }
        }
        if self.flags.reading_paused.replace(false) {
            transport.resume_reading();
        }
        if self.flags.eof_pending.get() {
            self.end_of_file(state, transport);
        }
    }

    fn settle(state: &mut State<D, W>, input: &mut Input<'_>) {
        if state.requests.mode.is_some() || state.requests.clear {
            state.decoder.apply(&mut state.requests, input);
        }
    }
}

impl<D: Decode, W: Deliver<D>> Control for Core<D, W> {
    fn flags(&self) -> &Flags {
        &self.flags
    }

    fn resume(&self) {
        if self.flags.lost.get() || !self.flags.paused.replace(false) {
            return;
        }
        let Some(transport) = self.flags.transport() else {
            return;
        };
        // While delivering, this receiver's own callback resumed it: the
        // delivery loop goes on with the held bytes once the callback returns.
        if self.delivering.get() {
            return;
        }
        assert!(
            self.state.try_borrow_mut().is_ok(),
            "ReceiverHandle::resume called while the receiver's handler is borrowed through \
             handler()/handler_mut(): drop that guard first"
        );
        self.deliver(|state| self.run(state, &transport, &mut Input::new(&[])));
    }
}
