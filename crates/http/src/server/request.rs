//! [`Request`] and its streaming [`RequestBody`].

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gyre_core::errors::ConnectionLost;
use gyre_core::producer::PushProducer;
use gyre_core::{Address, Deferred, Failure, Resolver};

use crate::error::{ErrorKind, HttpError};
use crate::server::connection::{Shared, upgrade};
use crate::wire::{HeaderMap, Method, RequestHead};

/// One received request: its head, its body (still arriving), and the
/// connection's addresses.
pub struct Request {
    head: RequestHead,
    body: RequestBody,
    peer: Address,
    host: Address,
}

impl Request {
    pub(crate) fn new(head: RequestHead, body: RequestBody, peer: Address, host: Address) -> Self {
        Request {
            head,
            body,
            peer,
            host,
        }
    }

    /// The request line and header fields.
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// The request body, to be read as it arrives.
    pub fn body(&self) -> &RequestBody {
        &self.body
    }

    /// The client's address.
    pub fn peer(&self) -> &Address {
        &self.peer
    }

    /// The address the client connected to.
    pub fn host(&self) -> &Address {
        &self.host
    }

    /// The head and the body, to keep them apart.
    pub fn into_parts(self) -> (RequestHead, RequestBody) {
        (self.head, self.body)
    }
}

/// One event of a request body, given to the reader set with
/// [`RequestBody::stream`].
#[derive(Debug)]
pub enum BodyEvent<'a> {
    /// The next bytes of the body.
    Data(&'a [u8]),
    /// The body is complete; its trailer fields (usually none).
    End(&'a HeaderMap),
    /// The body will not complete: malformed, over the limit, timed out,
    /// or the connection was lost.
    Failed(&'a Failure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyState {
    /// Nobody asked for the body yet.
    Unread,
    Streaming,
    Paused,
    Ended,
    Failed,
}

type Sink = Box<dyn FnMut(BodyEvent<'_>)>;

/// One request/response exchange, shared by its handles and the connection.
pub(crate) struct Exchange {
    pub(crate) method: Method,
    state: Cell<BodyState>,
    sink: RefCell<Option<Sink>>,
    /// What arrived before anyone read: the end's trailers or the failure.
    ended: RefCell<Option<HeaderMap>>,
    failure: RefCell<Option<Failure>>,
    pub(crate) finished: Cell<bool>,
    pub(crate) abandoned: Cell<bool>,
    pub(crate) waiters: RefCell<Vec<Resolver<()>>>,
    pub(crate) producer_registered: Cell<bool>,
    /// The status of the final response head, once sent (for access logs).
    pub(crate) status: Cell<Option<crate::wire::StatusCode>>,
    /// Body bytes handed to `Response::write` (for access logs).
    pub(crate) body_bytes: Cell<u64>,
}

impl Exchange {
    pub(crate) fn new(method: Method) -> Self {
        Exchange {
            method,
            state: Cell::new(BodyState::Unread),
            sink: RefCell::new(None),
            ended: RefCell::new(None),
            failure: RefCell::new(None),
            finished: Cell::new(false),
            abandoned: Cell::new(false),
            waiters: RefCell::new(Vec::new()),
            producer_registered: Cell::new(false),
            status: Cell::new(None),
            body_bytes: Cell::new(0),
        }
    }

    /// Whether the body reader takes data now.
    pub(crate) fn wants_data(&self) -> bool {
        self.state.get() == BodyState::Streaming
    }

    /// Calls the reader with no borrow held; it may replace itself or stop.
    fn call_sink(&self, event: BodyEvent<'_>) {
        let Some(mut sink) = self.sink.borrow_mut().take() else {
            return;
        };
        sink(event);
        let mut slot = self.sink.borrow_mut();
        if slot.is_none() && !matches!(self.state.get(), BodyState::Ended | BodyState::Failed) {
            *slot = Some(sink);
        }
    }

    pub(crate) fn deliver(&self, data: &[u8]) {
        self.call_sink(BodyEvent::Data(data));
    }

    pub(crate) fn end(&self, trailers: HeaderMap) {
        let previous = self.state.replace(BodyState::Ended);
        if previous == BodyState::Unread || self.sink.borrow().is_none() {
            *self.ended.borrow_mut() = Some(trailers);
            return;
        }
        self.call_sink(BodyEvent::End(&trailers));
        self.sink.borrow_mut().take();
    }

    pub(crate) fn fail(&self, failure: Failure) {
        if matches!(self.state.get(), BodyState::Ended | BodyState::Failed) {
            return;
        }
        self.state.set(BodyState::Failed);
        if self.sink.borrow().is_none() {
            *self.failure.borrow_mut() = Some(failure);
            return;
        }
        self.call_sink(BodyEvent::Failed(&failure));
        self.sink.borrow_mut().take();
    }

    /// The exchange ends without its response finishing (error or lost
    /// connection): `notify_finish` waiters hear why.
    pub(crate) fn abandon(&self) {
        if self.finished.get() || self.abandoned.replace(true) {
            return;
        }
        self.sink.borrow_mut().take();
        for waiter in self.waiters.take() {
            waiter.errback(Failure::new(ConnectionLost::new()).context("the response was not completed"));
        }
    }

    /// The response finished: the reader is released, waiters hear it.
    pub(crate) fn complete(&self) {
        self.finished.set(true);
        self.sink.borrow_mut().take();
        for waiter in self.waiters.take() {
            waiter.callback(());
        }
    }
}

/// The body of a request, delivered while it arrives.
///
/// Nothing is read until [`stream`](Self::stream) (or
/// [`collect`](Self::collect)) is called: a client that sent
/// `Expect: 100-continue` gets its `100 Continue` at that moment, and a
/// handler that answers without reading (a 401, a 413) never makes the
/// server read an upload it does not want. A body left unread when the
/// response finishes is read and dropped (up to a limit) so the connection
/// can be reused.
///
/// A `RequestBody` is a [`PushProducer`]: register it (`Producer::Push`)
/// on the transport the body is copied to and a slow consumer pauses the
/// client's connection.
#[derive(Clone)]
pub struct RequestBody {
    shared: Weak<Shared>,
    exchange: Rc<Exchange>,
}

impl RequestBody {
    pub(crate) fn new(shared: Weak<Shared>, exchange: Rc<Exchange>) -> Self {
        RequestBody { shared, exchange }
    }

    /// Starts delivering the body to `reader`: `Data` events as bytes
    /// arrive, then `End` (or `Failed`). The reader may be called before
    /// `stream` returns, with what already arrived.
    pub fn stream(&self, reader: impl FnMut(BodyEvent<'_>) + 'static) {
        let exchange = &self.exchange;
        *exchange.sink.borrow_mut() = Some(Box::new(reader));
        match exchange.state.get() {
            BodyState::Ended => {
                let trailers = exchange.ended.borrow_mut().take().unwrap_or_default();
                exchange.call_sink(BodyEvent::End(&trailers));
                exchange.sink.borrow_mut().take();
                return;
            }
            BodyState::Failed => {
                let failure = exchange.failure.borrow_mut().take();
                let failure = failure.unwrap_or_else(|| Failure::new(ConnectionLost::new()));
                exchange.call_sink(BodyEvent::Failed(&failure));
                exchange.sink.borrow_mut().take();
                return;
            }
            _ => exchange.state.set(BodyState::Streaming),
        }
        if let Some(shared) = upgrade(&self.shared)
            && shared.is_current(exchange)
        {
            shared.conn.borrow_mut().accept_body();
            shared.flush();
            shared.drive();
        }
    }

    /// Reads the whole body into memory, failing with
    /// [`ErrorKind::BodyTooLarge`] past `limit` bytes. For small bodies
    /// (forms, JSON); stream anything large.
    pub fn collect(&self, limit: usize) -> Deferred<Vec<u8>> {
        let (body, resolver) = Deferred::new();
        let mut buffer = Vec::new();
        let mut resolver = Some(resolver);
        self.stream(move |event| {
            let Some(done) = &resolver else {
                return;
            };
            match event {
                BodyEvent::Data(data) if buffer.len() + data.len() > limit => {
                    done.errback(Failure::new(HttpError::new(ErrorKind::BodyTooLarge)));
                    resolver = None;
                }
                BodyEvent::Data(data) => buffer.extend_from_slice(data),
                BodyEvent::End(_) => {
                    done.callback(std::mem::take(&mut buffer));
                    resolver = None;
                }
                BodyEvent::Failed(failure) => {
                    done.errback(failure.clone());
                    resolver = None;
                }
            }
        });
        body
    }

    /// Stops delivery (and, once the buffer fills, reading from the client).
    pub fn pause(&self) {
        if self.exchange.state.get() == BodyState::Streaming {
            self.exchange.state.set(BodyState::Paused);
            if let Some(shared) = upgrade(&self.shared) {
                shared.drive();
            }
        }
    }

    /// Resumes delivery after [`pause`](Self::pause).
    pub fn resume(&self) {
        if self.exchange.state.get() == BodyState::Paused {
            self.exchange.state.set(BodyState::Streaming);
            if let Some(shared) = upgrade(&self.shared) {
                shared.drive();
            }
        }
    }

    /// Whether the whole body arrived (or there was none).
    pub fn is_complete(&self) -> bool {
        self.exchange.state.get() == BodyState::Ended
    }
}

impl PushProducer for RequestBody {
    fn pause_producing(&self) {
        self.pause();
    }

    fn resume_producing(&self) {
        self.resume();
    }

    /// The consumer is gone for good: the client's connection is closed.
    fn stop_producing(&self) {
        if let Some(shared) = upgrade(&self.shared) {
            shared.close();
        }
    }
}
