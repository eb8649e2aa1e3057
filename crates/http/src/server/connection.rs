//! [`HttpServerProtocol`]: one connection's adapter between a transport,
//! the [`ServerConnection`] machine and the handler.
//!
//! The machine lives in a `RefCell` shared with the [`Request`] and
//! [`Response`] handles; no borrow is ever held while user code runs
//! (handler, body sink, producers), so user code may call back in at any
//! moment. [`Shared::drive`] is the one loop that polls the machine: a call
//! that arrives while it runs only asks it to go round once more.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::rc::{Rc, Weak};
use std::time::Instant;

use gyre_core::{Clock, ClockExt, DelayedCall, Failure, Protocol, Transport};

use crate::error::HttpError;
use crate::proto::{ReadPhase, ServerConnection, ServerEvent};
use crate::server::request::{Exchange, Request, RequestBody};
use crate::server::response::Response;
use crate::server::{Handler, ServerOptions};
use crate::wire::{HeaderMap, RequestHead};

/// What one poll of the machine produced, owned so no borrow outlives it.
enum Step {
    Request(RequestHead),
    /// Body bytes, moved into `Shared::scratch` at this range.
    Data(Range<usize>),
    End(HeaderMap),
    Error(HttpError),
    Closed,
}

/// The state of one connection, shared with its request and response handles.
pub(crate) struct Shared {
    pub(crate) conn: RefCell<ServerConnection>,
    pub(crate) transport: Transport,
    handler: Rc<dyn Handler>,
    clock: Rc<dyn Clock>,
    options: Rc<ServerOptions>,
    pub(crate) current: RefCell<Option<Rc<Exchange>>>,
    driving: Cell<bool>,
    again: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    closing: Cell<bool>,
    scratch: RefCell<Vec<u8>>,
    outgoing: RefCell<Vec<u8>>,
    phase: Cell<(ReadPhase, Instant)>,
    last_progress: Cell<Instant>,
    timer: RefCell<Option<DelayedCall>>,
    pub(crate) upgraded: RefCell<Option<Box<dyn Protocol>>>,
    connections: Rc<Connections>,
}

impl Shared {
    /// Sends whatever the machine has queued.
    pub(crate) fn flush(&self) {
        let mut outgoing = std::mem::take(&mut *self.outgoing.borrow_mut());
        self.conn.borrow_mut().take_transmit(&mut outgoing);
        if !outgoing.is_empty() {
            self.transport.write(&outgoing);
        }
        *self.outgoing.borrow_mut() = outgoing;
    }

    /// Whether `exchange` is the one in progress (handles of finished
    /// exchanges must not touch the next one).
    pub(crate) fn is_current(&self, exchange: &Rc<Exchange>) -> bool {
        self.current
            .borrow()
            .as_ref()
            .is_some_and(|current| Rc::ptr_eq(current, exchange))
    }

    /// Polls the machine and acts on what it says until it has nothing more.
    pub(crate) fn drive(self: &Rc<Self>) {
        if self.closed.get() || self.upgraded.borrow().is_some() {
            return;
        }
        if self.driving.replace(true) {
            self.again.set(true);
            return;
        }
        loop {
            self.again.set(false);
            while let Some(step) = self.next_step() {
                self.act(step);
            }
            self.flush();
            if !self.again.get() {
                break;
            }
        }
        self.driving.set(false);
        self.settle();
    }

    fn next_step(&self) -> Option<Step> {
        if self.closed.get() || self.upgraded.borrow().is_some() {
            return None;
        }
        let mut conn = self.conn.borrow_mut();
        let waiting_for_consumer = self
            .current
            .borrow()
            .as_ref()
            .is_some_and(|exchange| !exchange.wants_data());
        if waiting_for_consumer && conn.read_phase() == ReadPhase::Body && !conn.request_body_complete() {
            return None;
        }
        let len = match conn.poll_event()? {
            ServerEvent::Request(head) => return Some(Step::Request(head)),
            ServerEvent::Data(data) => data.len(),
            ServerEvent::End(trailers) => return Some(Step::End(trailers)),
            ServerEvent::Error(error) => return Some(Step::Error(error)),
            ServerEvent::Closed => return Some(Step::Closed),
        };
        Some(Step::Data(conn.take_data(len, &mut self.scratch.borrow_mut())))
    }

    fn act(self: &Rc<Self>, step: Step) {
        match step {
            Step::Request(head) => {
                if self.connections.shutting_down.get() {
                    // Accepted while the server was shutting down: this
                    // request is answered, then the connection closes.
                    self.conn.borrow_mut().handle_shutdown();
                }
                let exchange = Rc::new(Exchange::new(head.method.clone()));
                *self.current.borrow_mut() = Some(exchange.clone());
                let weak = Rc::downgrade(self);
                let body = RequestBody::new(weak.clone(), exchange.clone());
                let request = Request::new(head, body, self.transport.peer(), self.transport.host());
                let response = Response::new(weak, exchange);
                self.handler.handle(request, response);
            }
            Step::Data(range) => {
                self.last_progress.set(self.clock.now());
                let scratch = self.scratch.borrow();
                if let Some(exchange) = self.current.borrow().clone() {
                    exchange.deliver(&scratch[range]);
                }
            }
            Step::End(trailers) => {
                if let Some(exchange) = self.current.borrow().clone() {
                    exchange.end(trailers);
                }
            }
            Step::Error(error) => self.refuse(error),
            Step::Closed => self.close(),
        }
    }

    /// The peer's input was refused: tell the body reader, answer with the
    /// error's status if no response was started, and close.
    fn refuse(self: &Rc<Self>, error: HttpError) {
        tracing::debug!(target: "gyre::http", %error, peer = %self.transport.peer(), "bad request");
        let exchange = self.current.borrow().clone();
        if let Some(exchange) = &exchange {
            exchange.fail(Failure::new(error.clone()));
        }
        if let Some(status) = error.status()
            && self.conn.borrow().can_send_response()
        {
            let sent = self.conn.borrow_mut().send_error_response(status).is_ok();
            if sent && let Some(exchange) = &exchange {
                exchange.status.set(Some(status)); // for access logs
            }
        }
        if let Some(exchange) = exchange {
            exchange.abandon();
        }
        self.flush();
        self.close();
    }

    /// Closes once what was written is sent.
    pub(crate) fn close(&self) {
        if !self.closing.replace(true) {
            self.transport.lose_connection();
        }
    }

    /// After a drive: close if the machine is done, pause or resume
    /// reading, and arm the timeout of the phase the connection is in.
    pub(crate) fn settle(self: &Rc<Self>) {
        if self.closed.get() || self.closing.get() || self.upgraded.borrow().is_some() {
            self.cancel_timer();
            return;
        }
        let (wants_close, wants_input, phase, buffered, body_complete) = {
            let conn = self.conn.borrow();
            (
                conn.wants_close(),
                conn.wants_input(),
                conn.read_phase(),
                conn.buffered_len(),
                conn.request_body_complete(),
            )
        };
        if wants_close {
            self.cancel_timer();
            self.close();
            return;
        }
        let consumer_blocked = self
            .current
            .borrow()
            .as_ref()
            .is_some_and(|exchange| !exchange.wants_data());
        let body_blocked = phase == ReadPhase::Body && consumer_blocked && !body_complete;
        if !wants_input || (body_blocked && buffered > 0) {
            self.transport.pause_reading();
        } else {
            self.transport.resume_reading();
        }
        let now = self.clock.now();
        if self.phase.get().0 != phase {
            self.phase.set((phase, now));
            self.last_progress.set(now);
        }
        self.arm_timer(self.deadline(body_blocked));
    }

    /// When the current phase times out, if it can.
    fn deadline(&self, body_blocked: bool) -> Option<Instant> {
        let (phase, since) = self.phase.get();
        let options = &self.options;
        match phase {
            ReadPhase::Idle => Some(since + options.idle_timeout),
            ReadPhase::Head => Some(since + options.head_timeout),
            ReadPhase::Body if !body_blocked => Some(self.last_progress.get() + options.body_timeout),
            ReadPhase::Draining => Some(self.last_progress.get() + options.body_timeout),
            _ => None,
        }
    }

    /// Keeps one timer no later than `deadline`; a timer that fires early
    /// re-checks and re-arms, so progress never reschedules it.
    fn arm_timer(self: &Rc<Self>, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            self.cancel_timer();
            return;
        };
        let mut timer = self.timer.borrow_mut();
        if let Some(call) = timer.as_ref().filter(|call| call.active()) {
            if call.time() > deadline {
                call.reset_at(deadline);
            }
            return;
        }
        let weak = Rc::downgrade(self);
        let delay = deadline.saturating_duration_since(self.clock.now());
        *timer = Some(self.clock.call_later(delay, move || {
            if let Some(shared) = weak.upgrade() {
                shared.on_timer();
            }
        }));
    }

    pub(crate) fn cancel_timer(&self) {
        if let Some(call) = self.timer.borrow_mut().take() {
            call.cancel();
        }
    }

    fn on_timer(self: &Rc<Self>) {
        *self.timer.borrow_mut() = None;
        if self.closed.get() || self.closing.get() {
            return;
        }
        let body_blocked = self
            .current
            .borrow()
            .as_ref()
            .is_some_and(|exchange| !exchange.wants_data());
        let Some(deadline) = self.deadline(body_blocked) else {
            return;
        };
        if self.clock.now() < deadline {
            self.arm_timer(Some(deadline));
            return;
        }
        let phase = self.phase.get().0;
        tracing::debug!(target: "gyre::http", ?phase, peer = %self.transport.peer(), "timed out");
        if matches!(phase, ReadPhase::Head | ReadPhase::Body) {
            self.conn.borrow_mut().handle_timeout();
            self.drive();
        } else {
            self.close();
        }
    }

    /// A graceful shutdown: finish the request in progress, then close (an
    /// idle connection closes now). An upgraded connection is no longer
    /// HTTP's to close.
    fn shut_down(self: &Rc<Self>) {
        if self.closed.get() || self.upgraded.borrow().is_some() {
            return;
        }
        self.conn.borrow_mut().handle_shutdown();
        self.drive();
    }

    /// The connection is gone: tell the exchange, stop the timer.
    fn lost(&self, reason: &Failure) {
        self.closed.set(true);
        self.cancel_timer();
        if let Some(exchange) = self.current.borrow_mut().take() {
            exchange.fail(reason.clone());
            exchange.abandon();
        }
    }
}

/// The protocol of one HTTP server connection (built by
/// [`HttpServer`](crate::server::HttpServer)).
pub struct HttpServerProtocol {
    shared: Option<Rc<Shared>>,
    setup: Option<Setup>,
}

/// What a connection needs from its server until it is made.
type Setup = (Rc<dyn Handler>, Rc<dyn Clock>, Rc<ServerOptions>, Rc<Connections>);

/// The connections of one server, so that a graceful shutdown reaches
/// them all; a connection made after the shutdown began closes after its
/// first request.
#[derive(Default)]
pub(crate) struct Connections {
    shutting_down: Cell<bool>,
    live: RefCell<Vec<Weak<Shared>>>,
}

impl Connections {
    fn add(&self, shared: &Rc<Shared>) {
        let mut live = self.live.borrow_mut();
        // Forget closed connections now and then: amortized O(1) per connection.
        if live.len() >= 64 && live.len().is_power_of_two() {
            live.retain(|weak| upgrade(weak).is_some());
        }
        live.push(Rc::downgrade(shared));
    }

    /// Starts the shutdown on every open connection.
    pub(crate) fn shut_down(&self) {
        self.shutting_down.set(true);
        let live: Vec<Rc<Shared>> = self.live.borrow().iter().filter_map(upgrade).collect();
        for shared in live {
            shared.shut_down();
        }
        self.live.borrow_mut().retain(|weak| upgrade(weak).is_some());
    }

    /// How many connections are open (upgraded ones included).
    pub(crate) fn open(&self) -> usize {
        self.live
            .borrow()
            .iter()
            .filter(|weak| upgrade(weak).is_some())
            .count()
    }
}

impl HttpServerProtocol {
    pub(crate) fn new(
        handler: Rc<dyn Handler>,
        clock: Rc<dyn Clock>,
        options: Rc<ServerOptions>,
        connections: Rc<Connections>,
    ) -> Self {
        HttpServerProtocol {
            shared: None,
            setup: Some((handler, clock, options, connections)),
        }
    }

    /// Runs `f` on the protocol the connection was upgraded to, with no borrow held.
    fn with_upgraded(shared: &Shared, f: impl FnOnce(&mut dyn Protocol)) -> bool {
        let Some(mut protocol) = shared.upgraded.borrow_mut().take() else {
            return false;
        };
        f(&mut *protocol);
        *shared.upgraded.borrow_mut() = Some(protocol);
        true
    }
}

impl Protocol for HttpServerProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        let Some((handler, clock, options, connections)) = self.setup.take() else {
            return;
        };
        let now = clock.now();
        let shared = Rc::new(Shared {
            conn: RefCell::new(ServerConnection::new(options.connection)),
            transport: transport.clone(),
            handler,
            clock,
            options,
            current: RefCell::new(None),
            driving: Cell::new(false),
            again: Cell::new(false),
            closed: Cell::new(false),
            closing: Cell::new(false),
            scratch: RefCell::new(Vec::new()),
            outgoing: RefCell::new(Vec::new()),
            phase: Cell::new((ReadPhase::Idle, now)),
            last_progress: Cell::new(now),
            timer: RefCell::new(None),
            upgraded: RefCell::new(None),
            connections: connections.clone(),
        });
        connections.add(&shared);
        shared.settle();
        self.shared = Some(shared);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        let Some(shared) = &self.shared else {
            return;
        };
        if Self::with_upgraded(shared, |protocol| protocol.data_received(transport, data)) {
            return;
        }
        if matches!(shared.phase.get().0, ReadPhase::Body | ReadPhase::Draining) {
            shared.last_progress.set(shared.clock.now());
        }
        shared.conn.borrow_mut().handle_input(data);
        shared.drive();
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        let Some(shared) = &self.shared else {
            return;
        };
        if Self::with_upgraded(shared, |protocol| protocol.read_connection_lost(transport)) {
            return;
        }
        shared.conn.borrow_mut().handle_eof();
        shared.drive();
    }

    fn write_connection_lost(&mut self, transport: &Transport) {
        if let Some(shared) = &self.shared {
            Self::with_upgraded(shared, |protocol| protocol.write_connection_lost(transport));
        }
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        shared.lost(&reason);
        let upgraded = shared.upgraded.borrow_mut().take();
        if let Some(mut protocol) = upgraded {
            protocol.connection_lost(transport, reason);
        }
    }
}

impl Drop for HttpServerProtocol {
    fn drop(&mut self) {
        // Dropped without connection_lost (a reactor closing): stop the timer.
        if let Some(shared) = self.shared.take() {
            shared.cancel_timer();
            shared.current.borrow_mut().take();
        }
    }
}

/// Hands the connection to `protocol` after an upgrade response was sent.
pub(crate) fn hand_over(shared: &Rc<Shared>, mut protocol: Box<dyn Protocol>, rest: Vec<u8>) {
    shared.cancel_timer();
    shared.transport.resume_reading();
    let transport = shared.transport.clone();
    protocol.connection_made(&transport);
    if !rest.is_empty() {
        protocol.data_received(&transport, &rest);
    }
    *shared.upgraded.borrow_mut() = Some(protocol);
}

/// The shared state behind a handle, if the connection still exists.
pub(crate) fn upgrade(weak: &Weak<Shared>) -> Option<Rc<Shared>> {
    weak.upgrade().filter(|shared| !shared.closed.get())
}
