//! [`Response`]: the handle a handler answers through, now or later.

use std::rc::{Rc, Weak};

use gyre_core::errors::ConnectionLost;
use gyre_core::producer::Producer;
use gyre_core::{Deferred, Failure, Protocol, Transport};

use crate::error::SendError;
use crate::proto::ServerConnection;
use crate::server::connection::{Shared, hand_over, upgrade};
use crate::server::request::Exchange;
use crate::wire::{HeaderMap, Method, ResponseHead, StatusCode};

/// Writes the response to one request.
///
/// Cheap to clone and keep: a handler may answer from a Deferred callback,
/// a timer or a producer long after `handle` returned. Every call fails
/// with [`SendError::Closed`] once the connection is gone or the exchange
/// was abandoned (the request was refused, the client hung up), so late
/// writers find out instead of writing into the next exchange.
///
/// The order is: optional [`send_informational`](Self::send_informational),
/// one [`send_head`](Self::send_head), any number of
/// [`write`](Self::write), one [`finish`](Self::finish). Framing follows
/// the head: with `Content-Length` the body must be exactly that long;
/// without it HTTP/1.1 clients get chunked encoding and HTTP/1.0 clients a
/// body ended by closing the connection.
#[derive(Clone)]
pub struct Response {
    shared: Weak<Shared>,
    exchange: Rc<Exchange>,
}

impl Response {
    pub(crate) fn new(shared: Weak<Shared>, exchange: Rc<Exchange>) -> Self {
        Response { shared, exchange }
    }

    fn with_conn<R>(
        &self,
        f: impl FnOnce(&mut ServerConnection) -> Result<R, SendError>,
    ) -> Result<(Rc<Shared>, R), SendError> {
        let shared = upgrade(&self.shared).ok_or(SendError::Closed)?;
        if self.exchange.abandoned.get() || !shared.is_current(&self.exchange) {
            return Err(if self.exchange.finished.get() {
                SendError::WrongState("the response is finished")
            } else {
                SendError::Closed
            });
        }
        let result = f(&mut shared.conn.borrow_mut());
        shared.flush();
        result.map(|value| (shared, value))
    }

    /// Sends an interim response such as `103 Early Hints`.
    pub fn send_informational(&self, head: ResponseHead) -> Result<(), SendError> {
        self.with_conn(|conn| conn.send_informational(head)).map(drop)
    }

    /// Sends the response head. `101` and 2xx answers to `CONNECT` go
    /// through [`upgrade`](Self::upgrade) instead.
    pub fn send_head(&self, head: ResponseHead) -> Result<(), SendError> {
        if self.is_upgrade(&head) {
            return Err(SendError::InvalidHead(
                "this answer hands the connection over: use Response::upgrade",
            ));
        }
        let status = head.status;
        self.with_conn(|conn| conn.send_response(head))?;
        self.exchange.status.set(Some(status));
        Ok(())
    }

    fn is_upgrade(&self, head: &ResponseHead) -> bool {
        head.status == StatusCode::SWITCHING_PROTOCOLS
            || (self.exchange.method == Method::CONNECT && head.status.is_success())
    }

    /// Sends body bytes (after the head).
    pub fn write(&self, data: &[u8]) -> Result<(), SendError> {
        self.with_conn(|conn| conn.send_data(data))?;
        if self.exchange.method != Method::HEAD {
            let sent = &self.exchange.body_bytes;
            sent.set(sent.get().saturating_add(data.len() as u64));
        }
        Ok(())
    }

    /// Ends the response; the next pipelined request is read after it.
    pub fn finish(&self) -> Result<(), SendError> {
        self.finish_with_trailers(&HeaderMap::new())
    }

    /// Ends a chunked response with trailer fields.
    pub fn finish_with_trailers(&self, trailers: &HeaderMap) -> Result<(), SendError> {
        let (shared, ()) = self.with_conn(|conn| conn.send_end(trailers))?;
        if self.exchange.producer_registered.replace(false) {
            shared.transport.unregister_producer();
        }
        self.exchange.complete();
        shared.drive();
        Ok(())
    }

    /// The whole response at once: `status`, `Content-Type`,
    /// `Content-Length` and `body`.
    pub fn send(&self, status: StatusCode, content_type: &str, body: &[u8]) -> Result<(), SendError> {
        let mut head = ResponseHead::new(status);
        head.headers.append("Content-Type", content_type)?;
        head.headers.append("Content-Length", body.len().to_string())?;
        self.send_head(head)?;
        self.write(body)?;
        self.finish()
    }

    /// Sends `head` (a `101 Switching Protocols` to a request with
    /// `Upgrade`, or a 2xx to `CONNECT`) and hands the connection to
    /// `protocol`: it hears `connection_made` on the same transport, then
    /// the bytes that already followed the request, then everything else.
    /// The request body must have been read (upgrade requests have none).
    pub fn upgrade(&self, head: ResponseHead, protocol: impl Protocol) -> Result<(), SendError> {
        if !self.is_upgrade(&head) {
            return Err(SendError::InvalidHead(
                "only 101, or a 2xx to CONNECT, hands the connection over",
            ));
        }
        let status = head.status;
        let (shared, rest) = self.with_conn(|conn| {
            conn.send_response(head)?;
            conn.take_upgraded()
                .ok_or(SendError::WrongState("the connection was not upgraded"))
        })?;
        self.exchange.status.set(Some(status));
        self.exchange.complete();
        shared.current.borrow_mut().take();
        hand_over(&shared, Box::new(protocol), rest);
        Ok(())
    }

    /// Registers a producer of the response body on the connection, which
    /// pauses and resumes it (push) or asks it for more (pull) as the
    /// client reads. It is unregistered when the response finishes.
    pub fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        let (shared, ()) = self.with_conn(|_| Ok(())).map_err(Failure::new)?;
        // Marked first: a pull producer is asked for its first chunk inside
        // `register_producer` and may finish the response right there, and
        // `finish` must then unregister it.
        let before = self.exchange.producer_registered.replace(true);
        if let Err(failure) = shared.transport.register_producer(producer) {
            self.exchange.producer_registered.set(before);
            return Err(failure);
        }
        Ok(())
    }

    /// Removes the producer registered with [`register_producer`](Self::register_producer).
    pub fn unregister_producer(&self) {
        if self.exchange.producer_registered.replace(false)
            && let Some(shared) = upgrade(&self.shared)
        {
            shared.transport.unregister_producer();
        }
    }

    /// Fires when the response was finished (and handed to the transport),
    /// or fails with `ConnectionLost` when it never will be: the client
    /// hung up, or the request was refused (Twisted's `notifyFinish`).
    pub fn notify_finish(&self) -> Deferred<()> {
        if self.exchange.finished.get() {
            return Deferred::succeed(());
        }
        if self.exchange.abandoned.get() || upgrade(&self.shared).is_none() {
            return Deferred::fail(Failure::new(ConnectionLost::new()));
        }
        let (finished, resolver) = Deferred::new();
        self.exchange.waiters.borrow_mut().push(resolver);
        finished
    }

    /// The status of the response head sent so far (not counting
    /// interim `1xx` answers), for access logs and metrics; `None` before
    /// [`send_head`](Self::send_head).
    pub fn status(&self) -> Option<StatusCode> {
        self.exchange.status.get()
    }

    /// How many body bytes were handed to [`write`](Self::write) (before
    /// transfer coding; none for `HEAD`, whose body is discarded), for
    /// access logs.
    pub fn body_bytes(&self) -> u64 {
        self.exchange.body_bytes.get()
    }

    /// Whether [`finish`](Self::finish) (or an upgrade) completed this response.
    pub fn is_finished(&self) -> bool {
        self.exchange.finished.get()
    }

    /// Whether writing can still reach the client.
    pub fn is_connected(&self) -> bool {
        !self.exchange.abandoned.get() && upgrade(&self.shared).is_some()
    }

    /// The connection's transport (addresses, capabilities such as the TLS
    /// session), while it exists.
    pub fn transport(&self) -> Option<Transport> {
        upgrade(&self.shared).map(|shared| shared.transport.clone())
    }
}
