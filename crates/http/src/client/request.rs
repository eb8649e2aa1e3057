//! Request bodies: none, bytes (replayable, so a request can be retried or
//! redirected with its body), or a stream written by the caller with a
//! known length (`Content-Length`) or not (`chunked`).

use std::rc::Rc;

use gyre_core::Failure;
use gyre_core::producer::Producer;

use crate::client::connection::ConnHandle;
use crate::client::error::ClientError;

/// Starts writing a streamed body once the request head is on its way.
pub type BodyStart = Box<dyn FnOnce(BodyWriter)>;

enum Kind {
    Empty,
    Bytes(Rc<[u8]>),
    Stream { length: Option<u64>, start: BodyStart },
}

/// The body of a request.
pub struct RequestBody(Kind);

impl RequestBody {
    /// No body (no `Content-Length` either, except for methods that expect
    /// one: POST and PUT get `Content-Length: 0`).
    pub fn empty() -> Self {
        RequestBody(Kind::Empty)
    }

    /// A body held in memory: sent with `Content-Length`, and replayable.
    pub fn bytes(data: impl Into<Rc<[u8]>>) -> Self {
        RequestBody(Kind::Bytes(data.into()))
    }

    /// A body the caller writes through a [`BodyWriter`] handed to `start`
    /// when the head has been queued: `length` bytes exactly
    /// (`Content-Length`), or any number when `None` (`chunked`). Not
    /// replayable: such a request is never retried nor redirected with a body.
    pub fn stream(length: Option<u64>, start: impl FnOnce(BodyWriter) + 'static) -> Self {
        RequestBody(Kind::Stream {
            length,
            start: Box::new(start),
        })
    }

    /// A copy for a second attempt, if the body can be sent again.
    pub fn replay(&self) -> Option<RequestBody> {
        match &self.0 {
            Kind::Empty => Some(RequestBody::empty()),
            Kind::Bytes(data) => Some(RequestBody::bytes(data.clone())),
            Kind::Stream { .. } => None,
        }
    }

    /// Whether there is no body at all.
    pub fn is_empty(&self) -> bool {
        matches!(self.0, Kind::Empty)
    }

    /// The length when known.
    pub fn length(&self) -> Option<u64> {
        match &self.0 {
            Kind::Empty => Some(0),
            Kind::Bytes(data) => Some(data.len() as u64),
            Kind::Stream { length, .. } => *length,
        }
    }

    pub(crate) fn into_parts(self) -> BodyParts {
        match self.0 {
            Kind::Empty => BodyParts::Empty,
            Kind::Bytes(data) => BodyParts::Bytes(data),
            Kind::Stream { start, .. } => BodyParts::Stream(start),
        }
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Kind::Empty => f.write_str("RequestBody::Empty"),
            Kind::Bytes(data) => write!(f, "RequestBody::Bytes({} bytes)", data.len()),
            Kind::Stream { length, .. } => write!(f, "RequestBody::Stream({length:?})"),
        }
    }
}

pub(crate) enum BodyParts {
    Empty,
    Bytes(Rc<[u8]>),
    Stream(BodyStart),
}

/// Writes a streamed request body (Twisted's `IConsumer` given to an
/// `IBodyProducer`). Backpressure: register a producer, which the
/// connection's transport pauses while its send buffer is full.
pub struct BodyWriter {
    pub(crate) conn: ConnHandle,
}

impl BodyWriter {
    /// Sends body bytes. Fails once the connection is gone or when more
    /// bytes than the announced length are written.
    pub fn write(&self, data: &[u8]) -> Result<(), ClientError> {
        self.conn.send_data(data)
    }

    /// Ends the body (a chunked body gets its last chunk).
    pub fn finish(self) -> Result<(), ClientError> {
        self.conn.send_end()
    }

    /// Registers a producer with the connection's transport, so that it is
    /// paused while the socket is slow.
    pub fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        self.conn.register_producer(producer)
    }

    /// Unregisters the producer.
    pub fn unregister_producer(&self) {
        self.conn.unregister_producer();
    }

    /// Bytes written but not yet sent by the transport.
    pub fn buffered_len(&self) -> usize {
        self.conn.buffered_len()
    }
}
