//! [`ClientConnection`]: every state transition of the client side of one
//! HTTP/1.1 connection, in this one file.
//!
//! One request at a time (a pool of connections gives concurrency; HTTP/1.1
//! pipelining from clients is fragile and unused by browsers). The write
//! half goes `Idle → Body → Done` for the request, the read half
//! `Idle → Body → Done` for its response, interim 1xx responses reported on
//! the way. The response may arrive before the request body is finished (a
//! server refusing an upload early); the exchange ends when both are done,
//! and the connection is reusable when both sides wanted to keep it.

use crate::body::{BodyDecoder, BodyEncoder, BodyLimits};
use crate::error::{ErrorKind, HttpError, SendError};
use crate::proto::buffer::{self, BodyStep, ReadBuffer, Transmit};
use crate::proto::framing::{prepare_request, response_framing, wants_keep_alive};
use crate::wire::{
    HeadLimits, HeaderMap, Method, RequestHead, ResponseHead, StatusCode, check_partial_response_line,
    parse_response_head,
};

/// What the server's bytes amounted to; see [`ClientConnection::poll_event`].
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEvent<'a> {
    /// An interim response (`100 Continue`, `103 Early Hints`); the final one follows.
    Informational(ResponseHead),
    /// The final response head. Its body follows as `Data` events and one
    /// `End`, except after a `101` or a 2xx to `CONNECT`, which hand the
    /// connection over ([`ClientConnection::take_upgraded`]).
    Response(ResponseHead),
    /// Response body bytes.
    Data(&'a [u8]),
    /// The response body ended, with its trailer fields.
    End(HeaderMap),
    /// The server's bytes were refused, or it closed mid-response; the
    /// connection is finished. [`ErrorKind::ClosedBeforeResponse`] means
    /// no byte of a response arrived (a stale pooled connection: an
    /// idempotent request may be retried).
    Error(HttpError),
    /// The server closed the connection while no request was outstanding.
    Closed,
}

#[derive(Debug)]
enum Read {
    Idle,
    Body(BodyDecoder),
    Done,
    Stopped,
}

#[derive(Debug)]
enum Write {
    Idle,
    Body(BodyEncoder),
    Done,
}

#[derive(Debug)]
struct Exchange {
    method: Method,
    keep_alive: bool,
    upgrade_requested: bool,
}

/// The sans-IO client side of one connection.
///
/// ```
/// use gyre_http::proto::{ClientConnection, ClientEvent};
/// use gyre_http::{HeaderMap, Method, RequestHead, StatusCode};
///
/// let mut conn = ClientConnection::default();
/// let mut head = RequestHead::new(Method::GET, "/").unwrap();
/// head.headers.append("Host", "example.com").unwrap();
/// conn.send_request(head).unwrap();
/// conn.send_end(&HeaderMap::new()).unwrap();
/// assert_eq!(&*conn.poll_transmit().unwrap(), b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
///
/// conn.handle_input(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
/// let Some(ClientEvent::Response(head)) = conn.poll_event() else { panic!() };
/// assert_eq!(head.status, StatusCode::OK);
/// assert_eq!(conn.poll_event(), Some(ClientEvent::Data(b"hello")));
/// assert_eq!(conn.poll_event(), Some(ClientEvent::End(HeaderMap::new())));
/// assert!(conn.is_reusable());
/// ```
#[derive(Debug)]
pub struct ClientConnection {
    head_limits: HeadLimits,
    body_limits: BodyLimits,
    buf: ReadBuffer,
    out: Vec<u8>,
    read: Read,
    write: Write,
    exchange: Option<Exchange>,
    eof: bool,
    closing: bool,
    error: Option<HttpError>,
    error_reported: bool,
    closed_reported: bool,
    upgraded: bool,
}

impl Default for ClientConnection {
    fn default() -> Self {
        Self::new(
            HeadLimits::default(),
            BodyLimits {
                max_body: None,
                ..BodyLimits::default()
            },
        )
    }
}

impl ClientConnection {
    /// A fresh connection with limits on the responses it accepts.
    pub fn new(head_limits: HeadLimits, body_limits: BodyLimits) -> Self {
        ClientConnection {
            head_limits,
            body_limits,
            buf: ReadBuffer::default(),
            out: Vec::new(),
            read: Read::Idle,
            write: Write::Idle,
            exchange: None,
            eof: false,
            closing: false,
            error: None,
            error_reported: false,
            closed_reported: false,
            upgraded: false,
        }
    }

    /// Sends a request head. Its body framing comes from its headers:
    /// `Content-Length`, or `Transfer-Encoding: chunked` for a body of
    /// unknown length, or no body at all. Always follow with
    /// [`send_end`](Self::send_end) (after any [`send_data`](Self::send_data)).
    pub fn send_request(&mut self, mut head: RequestHead) -> Result<(), SendError> {
        if self.closing || self.error.is_some() || matches!(self.read, Read::Stopped) {
            return Err(SendError::Closed);
        }
        if self.exchange.is_some() {
            return Err(SendError::WrongState("a request is already outstanding"));
        }
        let (encoder, keep_alive) = prepare_request(&mut head)?;
        head.write_to(&mut self.out);
        self.exchange = Some(Exchange {
            method: head.method.clone(),
            keep_alive,
            upgrade_requested: head.headers.contains("upgrade"),
        });
        self.write = Write::Body(encoder);
        Ok(())
    }

    /// Sends request body bytes.
    pub fn send_data(&mut self, data: &[u8]) -> Result<(), SendError> {
        match &mut self.write {
            Write::Body(encoder) => encoder.encode(data, &mut self.out),
            _ if self.closing => Err(SendError::Closed),
            _ => Err(SendError::WrongState("body data needs a request head first")),
        }
    }

    /// Ends the request, with trailer fields if it is chunked.
    pub fn send_end(&mut self, trailers: &HeaderMap) -> Result<(), SendError> {
        let Write::Body(encoder) = &mut self.write else {
            return Err(SendError::WrongState("ending a request that was not started"));
        };
        encoder.finish(trailers, &mut self.out)?;
        self.write = Write::Done;
        self.finish_exchange();
        Ok(())
    }

    /// Bytes from the server.
    pub fn handle_input(&mut self, data: &[u8]) {
        let reading = !matches!(self.read, Read::Stopped) && !self.eof;
        // After an upgrade, bytes are kept for the next protocol until taken.
        if reading || (self.upgraded && self.exchange.is_some()) {
            self.buf.push(data);
        }
    }

    /// The server closed its side (end of file).
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// The next thing the server's bytes amount to, or `None` until more arrive.
    pub fn poll_event(&mut self) -> Option<ClientEvent<'_>> {
        loop {
            if let Some(error) = &self.error {
                if self.error_reported {
                    return None;
                }
                self.error_reported = true;
                return Some(ClientEvent::Error(error.clone()));
            }
            match &mut self.read {
                Read::Stopped => return None,
                // The response is complete and the request is still being
                // sent: nothing may follow, so do not keep more than a head's worth.
                Read::Done if self.buf.len() > self.head_limits.max_head => {
                    self.fail(ErrorKind::UnexpectedResponse.into());
                }
                Read::Done => return None,
                Read::Idle => return self.read_head(),
                Read::Body(decoder) => match self.buf.decode_body(decoder, self.eof) {
                    BodyStep::Data(len) => return Some(ClientEvent::Data(self.buf.just_consumed(len))),
                    BodyStep::End(trailers) => return Some(self.response_ended(trailers)),
                    BodyStep::Wait => return None,
                    BodyStep::Failed(error) => self.fail(error),
                },
            }
        }
    }

    fn read_head(&mut self) -> Option<ClientEvent<'_>> {
        let Some(exchange) = &mut self.exchange else {
            if !self.buf.is_empty() {
                self.fail(ErrorKind::UnexpectedResponse.into());
                return self.poll_event();
            }
            if self.eof && !self.closed_reported {
                self.closed_reported = true;
                self.read = Read::Stopped;
                self.closing = true;
                return Some(ClientEvent::Closed);
            }
            return None;
        };
        let limits = &self.head_limits;
        let found = self
            .buf
            .find_head(|bytes, line_end| check_partial_response_line(bytes, line_end, limits));
        let end = match found {
            Ok(Some(end)) => end,
            Ok(None) if !self.eof => return None,
            Ok(None) if self.buf.is_empty() => {
                self.fail(ErrorKind::ClosedBeforeResponse.into());
                return self.poll_event();
            }
            Ok(None) => {
                self.fail(ErrorKind::IncompleteHead.into());
                return self.poll_event();
            }
            Err(error) => {
                self.fail(error);
                return self.poll_event();
            }
        };
        let parsed = parse_response_head(&self.buf.bytes()[..end], &self.head_limits);
        self.buf.consume(end);
        let head = match parsed {
            Ok(head) => head,
            Err(error) => {
                self.fail(error);
                return self.poll_event();
            }
        };
        let status = head.status;
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            return Some(ClientEvent::Informational(head));
        }
        let tunnel = exchange.method == Method::CONNECT && status.is_success();
        if status == StatusCode::SWITCHING_PROTOCOLS && !exchange.upgrade_requested {
            self.fail(ErrorKind::InvalidStatus.into());
            return self.poll_event();
        }
        if tunnel || status == StatusCode::SWITCHING_PROTOCOLS {
            self.upgraded = true;
            self.read = Read::Stopped;
            return Some(ClientEvent::Response(head));
        }
        match response_framing(&exchange.method, &head) {
            Ok((framing, must_close)) => {
                exchange.keep_alive &= !must_close && wants_keep_alive(head.version, &head.headers);
                self.read = Read::Body(BodyDecoder::new(framing, self.body_limits));
                Some(ClientEvent::Response(head))
            }
            Err(error) => {
                self.fail(error);
                self.poll_event()
            }
        }
    }

    fn response_ended(&mut self, trailers: HeaderMap) -> ClientEvent<'_> {
        self.read = Read::Done;
        self.finish_exchange();
        ClientEvent::End(trailers)
    }

    fn fail(&mut self, error: HttpError) {
        tracing::debug!(target: "gyre::http", %error, "refusing the server's input");
        self.error = Some(error);
        self.read = Read::Stopped;
        self.closing = true;
    }

    fn finish_exchange(&mut self) {
        if !matches!((&self.read, &self.write), (Read::Done, Write::Done)) {
            return;
        }
        let keep_alive = !self.eof && self.exchange.take().is_some_and(|exchange| exchange.keep_alive);
        if keep_alive {
            self.read = Read::Idle;
            self.write = Write::Idle;
        } else {
            self.read = Read::Stopped;
            self.closing = true;
        }
    }

    /// Moves the bytes to send into `into` (emptied first) without copying
    /// them: the two buffers are swapped, so pass the same `Vec` each time
    /// and both allocations are reused.
    pub fn take_transmit(&mut self, into: &mut Vec<u8>) {
        buffer::take_transmit(&mut self.out, into);
    }

    /// Bytes to send, if any; dropping the [`Transmit`] marks them sent.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        Transmit::new(&mut self.out)
    }

    /// Whether a new request may be sent on this connection now.
    pub fn is_reusable(&self) -> bool {
        self.exchange.is_none() && !self.closing && matches!(self.read, Read::Idle) && self.buf.is_empty()
    }

    /// Whether the connection should be closed once transmitted bytes are flushed.
    pub fn wants_close(&self) -> bool {
        self.closing && !matches!(self.write, Write::Body(_))
    }

    /// After a `101` or a 2xx to `CONNECT`: the bytes that arrived after
    /// the response head, which belong to the new protocol.
    pub fn take_upgraded(&mut self) -> Option<Vec<u8>> {
        if !self.upgraded || self.exchange.is_none() {
            return None;
        }
        self.exchange = None;
        Some(self.buf.take())
    }

    /// Whether the connection was handed to another protocol.
    pub fn is_upgraded(&self) -> bool {
        self.upgraded
    }

    /// The error that stopped reading, if any.
    pub fn error(&self) -> Option<&HttpError> {
        self.error.as_ref()
    }
}
