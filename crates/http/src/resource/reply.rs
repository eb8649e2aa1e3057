//! [`Reply`]: the response handle resources answer through.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gyre_core::producer::Producer;
use gyre_core::{Deferred, Failure};

use crate::error::SendError;
use crate::server::Response;
use crate::wire::{HeaderMap, ResponseHead, StatusCode};

use super::cookie::SetCookie;

/// Where a [`Reply`] writes: the connection's [`Response`], or a wrapper
/// that transforms the response on its way (the gzip encoder).
///
/// A trait rather than the concrete `Response` so that wrapping resources
/// can stream-transform a body without buffering it.
pub trait ReplySink {
    /// Sends the response head.
    fn send_head(&self, head: ResponseHead) -> Result<(), SendError>;
    /// Sends body bytes.
    fn write(&self, data: &[u8]) -> Result<(), SendError>;
    /// Ends the response.
    fn finish(&self) -> Result<(), SendError>;
    /// Registers a producer of the body on the connection (backpressure
    /// goes through wrappers to the producer).
    fn register_producer(&self, producer: Producer) -> Result<(), Failure>;
    /// Removes the registered producer.
    fn unregister_producer(&self);
    /// Fires when the response was finished, fails when it never will be.
    fn notify_finish(&self) -> Deferred<()>;
    /// Cuts the connection: the body the head promised cannot be completed
    /// (a file that shrank mid-send), and finishing short would let the
    /// client take a truncated body for a whole one.
    fn abort(&self);
}

impl ReplySink for Response {
    fn send_head(&self, head: ResponseHead) -> Result<(), SendError> {
        Response::send_head(self, head)
    }
    fn write(&self, data: &[u8]) -> Result<(), SendError> {
        Response::write(self, data)
    }
    fn finish(&self) -> Result<(), SendError> {
        Response::finish(self)
    }
    fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        Response::register_producer(self, producer)
    }
    fn unregister_producer(&self) {
        Response::unregister_producer(self);
    }
    fn notify_finish(&self) -> Deferred<()> {
        Response::notify_finish(self)
    }
    fn abort(&self) {
        if let Some(transport) = self.transport() {
            transport.abort_connection();
        }
    }
}

struct ReplyState {
    sink: Rc<dyn ReplySink>,
    extra: RefCell<HeaderMap>,
    head_sent: Cell<bool>,
}

/// The answer to one request, now or later: cheap to clone, so a resource
/// may keep it and finish from a Deferred callback or a timer.
///
/// Headers added before the head goes out ([`add_header`](Self::add_header),
/// [`add_cookie`](Self::add_cookie), used by sessions) are merged into the
/// head whichever resource eventually sends it (Twisted's
/// `request.setHeader`/`addCookie` before `write`).
#[derive(Clone)]
pub struct Reply {
    state: Rc<ReplyState>,
}

impl Reply {
    /// A reply writing to `sink`.
    pub fn new(sink: Rc<dyn ReplySink>) -> Reply {
        Reply {
            state: Rc::new(ReplyState {
                sink,
                extra: RefCell::new(HeaderMap::new()),
                head_sent: Cell::new(false),
            }),
        }
    }

    /// A reply writing to a connection's response.
    pub fn from_response(response: Response) -> Reply {
        Reply::new(Rc::new(response))
    }

    /// Adds a header field to the head that will be sent.
    pub fn add_header(&self, name: &str, value: &str) -> Result<(), SendError> {
        if self.state.head_sent.get() {
            return Err(SendError::WrongState("the head was already sent"));
        }
        self.state.extra.borrow_mut().append(name, value)?;
        Ok(())
    }

    /// Adds a `Set-Cookie` field to the head that will be sent.
    pub fn add_cookie(&self, cookie: &SetCookie) -> Result<(), SendError> {
        self.add_header("Set-Cookie", &cookie.to_string())
    }

    /// Whether the head was sent.
    pub fn is_head_sent(&self) -> bool {
        self.state.head_sent.get()
    }

    /// Sends `head`, with the fields added earlier appended.
    pub fn send_head(&self, mut head: ResponseHead) -> Result<(), SendError> {
        if self.state.head_sent.replace(true) {
            return Err(SendError::WrongState("the head was already sent"));
        }
        for (name, value) in self.state.extra.take().iter() {
            head.headers.append(name, value)?;
        }
        self.state.sink.send_head(head)
    }

    /// Sends body bytes.
    pub fn write(&self, data: &[u8]) -> Result<(), SendError> {
        self.state.sink.write(data)
    }

    /// Ends the response.
    pub fn finish(&self) -> Result<(), SendError> {
        self.state.sink.finish()
    }

    /// Registers a producer of the body (see
    /// [`Response::register_producer`]); it is unregistered when the
    /// response finishes.
    pub fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        self.state.sink.register_producer(producer)
    }

    /// Removes the producer registered with [`register_producer`](Self::register_producer).
    pub fn unregister_producer(&self) {
        self.state.sink.unregister_producer();
    }

    /// Fires when the response was finished, or fails with
    /// `ConnectionLost` when it never will be (Twisted's `notifyFinish`).
    pub fn notify_finish(&self) -> Deferred<()> {
        self.state.sink.notify_finish()
    }

    /// The whole response at once, with `Content-Type` and `Content-Length`.
    pub fn send(&self, status: StatusCode, content_type: &str, body: &[u8]) -> Result<(), SendError> {
        let mut head = ResponseHead::new(status);
        head.headers.append("Content-Type", content_type)?;
        head.headers.append("Content-Length", body.len().to_string())?;
        self.send_head(head)?;
        self.write(body)?;
        self.finish()
    }
}

impl ReplySink for Reply {
    fn send_head(&self, head: ResponseHead) -> Result<(), SendError> {
        Reply::send_head(self, head)
    }
    fn write(&self, data: &[u8]) -> Result<(), SendError> {
        Reply::write(self, data)
    }
    fn finish(&self) -> Result<(), SendError> {
        Reply::finish(self)
    }
    fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        Reply::register_producer(self, producer)
    }
    fn unregister_producer(&self) {
        Reply::unregister_producer(self);
    }
    fn notify_finish(&self) -> Deferred<()> {
        Reply::notify_finish(self)
    }
    fn abort(&self) {
        self.state.sink.abort();
    }
}
