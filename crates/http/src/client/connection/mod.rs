//! One client connection: a gyre [`Protocol`](gyre_core::Protocol) driving the sans-IO
//! [`ClientConnection`], with the exchange in progress (the response
//! Deferred, then the body sink), its timers, and hooks telling the pool
//! when the connection is idle again or gone.
//!
//! User code (body readers, Deferred callbacks) is never called while the
//! connection's state is borrowed, so it may start new requests, pause,
//! or abort from inside its callbacks.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use gyre_core::producer::Producer;
use gyre_core::{Clock, DelayedCall, Failure, Resolver, Transport};

use crate::client::error::{ClientError, TimeoutPhase};
use crate::client::request::{BodyParts, BodyWriter};
use crate::client::response::{BodyControl, BodySink, Response, body_channel};
use crate::proto::{ClientConnection, ClientEvent};
use crate::{HeaderMap, HttpError, RequestHead, ResponseHead};

mod protocol;
mod timers;

use protocol::ConnControl;
pub(crate) use protocol::ConnProtocol;
pub use timers::Timeouts;

/// What the pool hears from a connection.
pub(crate) trait ConnHooks {
    /// The exchange ended and the connection may carry another request.
    fn idle(&self, conn: ConnHandle);
    /// The connection is gone (reported once).
    fn closed(&self, conn: &ConnHandle);
}

struct Exchange {
    response: Option<Resolver<Response>>,
    sink: Option<BodySink>,
    url: String,
    timer: Option<DelayedCall>,
    last_activity: Instant,
}

struct State {
    proto: ClientConnection,
    transport: Option<Transport>,
    clock: Rc<dyn Clock>,
    timeouts: Timeouts,
    exchange: Option<Exchange>,
    hooks: Option<Rc<dyn ConnHooks>>,
    lost: bool,
    closed_reported: bool,
    /// Requests this connection carried, the current one included.
    requests: u64,
}

/// A shared handle to one connection.
#[derive(Clone)]
pub(crate) struct ConnHandle(Rc<RefCell<State>>);

/// Owned form of a [`ClientEvent`], so it can be handled with no borrow held.
enum Step {
    Head(ResponseHead),
    Data(Vec<u8>),
    End(HeaderMap),
    Error(HttpError),
    Closed,
}

impl ConnHandle {
    pub(crate) fn new(clock: Rc<dyn Clock>, timeouts: Timeouts, hooks: Option<Rc<dyn ConnHooks>>) -> Self {
        ConnHandle(Rc::new(RefCell::new(State {
            proto: ClientConnection::default(),
            transport: None,
            clock,
            timeouts,
            exchange: None,
            hooks,
            lost: false,
            closed_reported: false,
            requests: 0,
        })))
    }

    /// The protocol to connect.
    pub(crate) fn protocol(&self) -> ConnProtocol {
        ConnProtocol(self.clone())
    }

    pub(crate) fn ptr_eq(&self, other: &ConnHandle) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The transport, once connected.
    pub(crate) fn transport(&self) -> Option<Transport> {
        self.0.borrow().transport.clone()
    }

    /// Sends a request; `resolver` gets the response head with its body.
    pub(crate) fn start(
        &self,
        head: RequestHead,
        body: BodyParts,
        url: String,
        resolver: Resolver<Response>,
    ) {
        let sent = {
            let mut state = self.0.borrow_mut();
            if state.lost {
                Err(ClientError::ConnectionLost(
                    "connection closed before the request".into(),
                ))
            } else {
                state
                    .proto
                    .send_request(head)
                    .map_err(|error| ClientError::InvalidRequest(error.to_string()))
            }
        };
        if let Err(error) = sent {
            resolver.errback(error);
            self.abort();
            return;
        }
        let timer = self.arm(TimeoutPhase::ResponseHead);
        {
            let mut state = self.0.borrow_mut();
            state.requests += 1;
            let now = state.clock.now();
            state.exchange = Some(Exchange {
                response: Some(resolver),
                sink: None,
                url,
                timer,
                last_activity: now,
            });
        }
        match body {
            BodyParts::Empty => {
                let _ = self.send_end();
            }
            BodyParts::Bytes(data) => {
                let _ = self.send_data(&data).and_then(|()| self.send_end());
            }
            BodyParts::Stream(start) => {
                self.flush();
                start(BodyWriter { conn: self.clone() });
            }
        }
    }

    pub(crate) fn send_data(&self, data: &[u8]) -> Result<(), ClientError> {
        let sent = self.0.borrow_mut().proto.send_data(data);
        sent.map_err(|error| ClientError::InvalidRequest(error.to_string()))?;
        self.flush();
        Ok(())
    }

    pub(crate) fn send_end(&self) -> Result<(), ClientError> {
        let sent = self.0.borrow_mut().proto.send_end(&HeaderMap::new());
        sent.map_err(|error| ClientError::InvalidRequest(error.to_string()))?;
        self.flush();
        self.process();
        Ok(())
    }

    pub(crate) fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        match self.transport() {
            Some(transport) => transport.register_producer(producer),
            None => Err(Failure::new(ClientError::ConnectionLost("not connected".into()))),
        }
    }

    pub(crate) fn unregister_producer(&self) {
        if let Some(transport) = self.transport() {
            transport.unregister_producer();
        }
    }

    pub(crate) fn buffered_len(&self) -> usize {
        self.transport().map_or(0, |transport| transport.buffered_len())
    }

    fn flush(&self) {
        let (bytes, transport) = {
            let mut state = self.0.borrow_mut();
            let mut out = Vec::new();
            state.proto.take_transmit(&mut out);
            (out, state.transport.clone())
        };
        if let Some(transport) = transport
            && !bytes.is_empty()
        {
            transport.write(&bytes);
        }
    }

    /// Aborts the connection (a cancelled request, a timeout, an abandoned body).
    pub(crate) fn abort(&self) {
        let transport = self.transport();
        match transport {
            Some(transport) => transport.abort_connection(),
            None => self.lost(Failure::new(ClientError::ConnectionLost("aborted".into()))),
        }
    }

    /// Closes an idle connection politely.
    pub(crate) fn close(&self) {
        if let Some(transport) = self.transport() {
            transport.lose_connection();
        }
    }

    fn next_step(&self) -> Option<Step> {
        let mut state = self.0.borrow_mut();
        loop {
            return Some(match state.proto.poll_event()? {
                ClientEvent::Informational(_) => continue,
                ClientEvent::Response(head) => Step::Head(head),
                ClientEvent::Data(data) => Step::Data(data.to_vec()),
                ClientEvent::End(trailers) => Step::End(trailers),
                ClientEvent::Error(error) => Step::Error(error),
                ClientEvent::Closed => Step::Closed,
            });
        }
    }

    fn process(&self) {
        while let Some(step) = self.next_step() {
            match step {
                Step::Head(head) => self.got_head(head),
                Step::Data(data) => {
                    let sink = {
                        let mut state = self.0.borrow_mut();
                        let now = state.clock.now();
                        state.exchange.as_mut().and_then(|exchange| {
                            exchange.last_activity = now;
                            exchange.sink.clone()
                        })
                    };
                    if let Some(sink) = sink {
                        sink.data(&data);
                    }
                }
                Step::End(trailers) => {
                    let exchange = self.0.borrow_mut().exchange.take();
                    if let Some(mut exchange) = exchange {
                        if let Some(timer) = exchange.timer.take() {
                            timer.cancel();
                        }
                        self.after_exchange();
                        if let Some(sink) = exchange.sink {
                            sink.end(Ok(trailers));
                        }
                    }
                }
                Step::Error(error) => {
                    self.fail_exchange(Failure::new(ClientError::Protocol(error)));
                    self.abort();
                }
                Step::Closed => self.close(),
            }
        }
        let wants_close = self.0.borrow().proto.wants_close();
        if wants_close {
            self.close();
        }
    }

    fn got_head(&self, head: ResponseHead) {
        let control: Rc<dyn BodyControl> = Rc::new(ConnControl(Rc::downgrade(&self.0)));
        let (sink, body) = body_channel(Some(control));
        let resolver = {
            let mut state = self.0.borrow_mut();
            let Some(exchange) = state.exchange.as_mut() else {
                return;
            };
            if let Some(timer) = exchange.timer.take() {
                timer.cancel();
            }
            exchange.sink = Some(sink);
            exchange
                .response
                .take()
                .map(|resolver| (resolver, exchange.url.clone()))
        };
        let timer = self.arm(TimeoutPhase::BodyIdle);
        if let Some(exchange) = self.0.borrow_mut().exchange.as_mut() {
            exchange.timer = timer;
        }
        let Some((resolver, url)) = resolver else { return };
        let reason = head.reason().to_owned();
        let response = Response {
            status: head.status,
            reason,
            version: head.version,
            headers: head.headers,
            body,
            url,
        };
        if resolver.is_fired() {
            // Cancelled meanwhile: the response is dropped with its body,
            // which aborts the connection.
            return;
        }
        resolver.callback(response);
    }

    /// The exchange ended: back to the pool, or closed.
    fn after_exchange(&self) {
        let (reusable, hooks) = {
            let state = self.0.borrow();
            (state.proto.is_reusable() && !state.lost, state.hooks.clone())
        };
        match hooks {
            Some(hooks) if reusable => hooks.idle(self.clone()),
            _ => self.close(),
        }
    }

    /// Fails the current exchange, whichever side of the head it is on.
    pub(crate) fn fail_exchange(&self, failure: Failure) {
        let exchange = self.0.borrow_mut().exchange.take();
        let Some(mut exchange) = exchange else { return };
        if let Some(timer) = exchange.timer.take() {
            timer.cancel();
        }
        if let Some(resolver) = exchange.response.take() {
            if !resolver.is_fired() {
                resolver.errback(failure);
            }
        } else if let Some(sink) = exchange.sink {
            sink.end(Err(failure));
        }
    }

    pub(crate) fn lost(&self, reason: Failure) {
        {
            let mut state = self.0.borrow_mut();
            if state.lost {
                return;
            }
            state.lost = true;
            state.proto.handle_eof();
        }
        self.process();
        let detail = reason.to_string();
        self.fail_exchange(Failure::new(ClientError::ConnectionLost(detail)));
        let hooks = {
            let mut state = self.0.borrow_mut();
            let report = !std::mem::replace(&mut state.closed_reported, true);
            report.then(|| state.hooks.clone()).flatten()
        };
        if let Some(hooks) = hooks {
            hooks.closed(self);
        }
    }
}

impl ConnHandle {
    /// Forgets the current exchange without firing it (it was cancelled).
    pub(crate) fn cancel_exchange(&self) {
        let exchange = self.0.borrow_mut().exchange.take();
        if let Some(mut exchange) = exchange
            && let Some(timer) = exchange.timer.take()
        {
            timer.cancel();
        }
    }
}
