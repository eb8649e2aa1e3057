//! [`ServerConnection`]: every state transition of the server side of one
//! HTTP/1.1 connection, in this one file.
//!
//! Two halves move independently. The read half goes
//! `Idle → (head) → Body → Done` for each request; the write half goes
//! `Idle → Awaiting → Body → Done` for its response. One request is in
//! flight at a time: the bytes of pipelined requests stay unparsed in the
//! buffer until the current response is complete, so responses come out in
//! order without the machine holding more than one request. When both
//! halves are `Done` the exchange ends: the connection goes back to `Idle`
//! if both sides wanted to keep it, else it asks to be closed. A response
//! that completes before its request body drains the rest of that body
//! (up to [`ServerConfig::max_drain`]) so the connection stays usable.

use crate::body::{BodyDecoder, BodyEncoder, BodyLimits};
use crate::error::{ErrorKind, HttpError, SendError};
use crate::proto::buffer::{self, BodyStep, ReadBuffer, Transmit};
use crate::proto::framing::{Answering, prepare_response, request_framing, wants_keep_alive};
use crate::wire::{
    HeadLimits, HeaderMap, Method, RequestHead, ResponseHead, StatusCode, Version,
    check_partial_request_line, parse_request_head,
};

/// Limits and policies of a server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Limits on request heads.
    pub head: HeadLimits,
    /// Limits on request bodies.
    pub body: BodyLimits,
    /// Above this many buffered unread bytes, [`ServerConnection::wants_input`]
    /// turns false so the transport can stop reading. Default 64 KiB.
    pub max_buffered: usize,
    /// How much of an unread request body is read and dropped after the
    /// response completed, to keep the connection; past it the connection
    /// is closed instead. Default 256 KiB.
    pub max_drain: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            head: HeadLimits::default(),
            body: BodyLimits::default(),
            max_buffered: 64 * 1024,
            max_drain: 256 * 1024,
        }
    }
}

/// What the peer's bytes amounted to; see [`ServerConnection::poll_event`].
#[derive(Debug, PartialEq, Eq)]
pub enum ServerEvent<'a> {
    /// A request head. Its body follows as `Data` events and one `End`
    /// (at once for a request without a body).
    Request(RequestHead),
    /// Request body bytes.
    Data(&'a [u8]),
    /// The request body ended, with its trailer fields (usually none).
    End(HeaderMap),
    /// The peer's input was refused. If [`HttpError::status`] is set and
    /// [`ServerConnection::can_send_response`] holds, answer with
    /// [`ServerConnection::send_error_response`]; the connection then closes.
    Error(HttpError),
    /// The peer closed the connection between requests: close it.
    Closed,
}

/// Where the read half is, for the adapter's timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPhase {
    /// Waiting for the start of a request (keep-alive idle time).
    Idle,
    /// In the middle of a request head (the request-read timeout runs).
    Head,
    /// Reading a request body.
    Body,
    /// The request was read; the response is being produced.
    Handling,
    /// Reading and dropping the rest of a body after its response.
    Draining,
    /// Nothing more will be read (closed, failed, or upgraded).
    Stopped,
}

#[derive(Debug)]
enum Read {
    Idle,
    Body(BodyDecoder),
    Done,
    Drain(BodyDecoder, u64),
    Stopped,
}

#[derive(Debug)]
enum Write {
    Idle,
    Awaiting,
    Body(BodyEncoder),
    Done,
    Stopped,
}

#[derive(Debug)]
struct Exchange {
    method: Method,
    version: Version,
    keep_alive: bool,
    /// `Expect: 100-continue` and neither a 100, body bytes nor a final response yet.
    expect_continue: bool,
    upgrade_requested: bool,
}

/// The sans-IO server side of one connection.
///
/// Feed bytes with [`handle_input`](Self::handle_input) and the end of the
/// stream with [`handle_eof`](Self::handle_eof); drain
/// [`poll_event`](Self::poll_event) until `None`; answer with
/// [`send_response`](Self::send_response), [`send_data`](Self::send_data),
/// [`send_end`](Self::send_end); write out
/// [`poll_transmit`](Self::poll_transmit); close when
/// [`wants_close`](Self::wants_close). Errors are sticky: once the peer's
/// input was refused, nothing more is read.
///
/// ```
/// use gyre_http::proto::{ServerConnection, ServerEvent};
/// use gyre_http::{HeaderMap, ResponseHead, StatusCode};
///
/// let mut conn = ServerConnection::default();
/// conn.handle_input(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
/// let Some(ServerEvent::Request(head)) = conn.poll_event() else { panic!() };
/// assert_eq!(head.target.as_str(), "/a");
/// assert_eq!(conn.poll_event(), Some(ServerEvent::End(HeaderMap::new())));
/// assert_eq!(conn.poll_event(), None, "/b waits until /a is answered");
///
/// let mut ok = ResponseHead::new(StatusCode::OK);
/// ok.headers.append("Content-Length", "2").unwrap();
/// conn.send_response(ok).unwrap();
/// conn.send_data(b"hi").unwrap();
/// conn.send_end(&HeaderMap::new()).unwrap();
/// assert_eq!(&*conn.poll_transmit().unwrap(), b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
/// let Some(ServerEvent::Request(head)) = conn.poll_event() else { panic!() };
/// assert_eq!(head.target.as_str(), "/b");
/// ```
#[derive(Debug)]
pub struct ServerConnection {
    config: ServerConfig,
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
    shutting_down: bool,
}

impl Default for ServerConnection {
    fn default() -> Self {
        Self::new(ServerConfig::default())
    }
}

impl ServerConnection {
    /// A connection waiting for its first request.
    pub fn new(config: ServerConfig) -> Self {
        ServerConnection {
            config,
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
            shutting_down: false,
        }
    }

    /// Bytes from the peer. Ignored once reading stopped (error, close, upgrade).
    pub fn handle_input(&mut self, data: &[u8]) {
        let reading = !matches!(self.read, Read::Stopped) && !self.eof;
        // After an upgrade, bytes are kept for the next protocol until taken.
        if reading || (self.upgraded && self.exchange.is_some()) {
            self.buf.push(data);
        }
    }

    /// The peer closed its side (end of file).
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// The next thing the peer's bytes amount to, or `None` until more
    /// arrive (or until the current response completes, for pipelined
    /// requests).
    pub fn poll_event(&mut self) -> Option<ServerEvent<'_>> {
        loop {
            if let Some(error) = &self.error {
                if self.error_reported {
                    return None;
                }
                self.error_reported = true;
                return Some(ServerEvent::Error(error.clone()));
            }
            match &mut self.read {
                Read::Stopped => {
                    if self.eof && !self.upgraded && !self.closed_reported && self.exchange.is_none() {
                        self.closed_reported = true;
                        self.closing = true;
                        return Some(ServerEvent::Closed);
                    }
                    return None;
                }
                Read::Done => return None,
                Read::Idle if self.exchange.is_some() => return None,
                Read::Idle => match self.read_head() {
                    Some(head) => return Some(ServerEvent::Request(head)),
                    // Refused, or the peer closed: report it.
                    None if self.error.is_some() || matches!(self.read, Read::Stopped) => {}
                    None => return None,
                },
                Read::Body(decoder) => match self.buf.decode_body(decoder, self.eof) {
                    BodyStep::Data(len) => {
                        if let Some(exchange) = &mut self.exchange {
                            exchange.expect_continue = false;
                        }
                        return Some(ServerEvent::Data(self.buf.just_consumed(len)));
                    }
                    BodyStep::End(trailers) => return Some(self.request_ended(trailers)),
                    BodyStep::Wait => return None,
                    BodyStep::Failed(error) => self.fail(error),
                },
                Read::Drain(decoder, drained) => match self.buf.decode_body(decoder, self.eof) {
                    BodyStep::Data(len) => {
                        *drained += len as u64;
                        if *drained > self.config.max_drain {
                            self.stop_reading();
                        }
                    }
                    BodyStep::End(_) => {
                        self.read = Read::Done;
                        self.finish_exchange();
                    }
                    BodyStep::Wait => return None,
                    BodyStep::Failed(_) => self.stop_reading(),
                },
            }
        }
    }

    /// Parses the next request head, if it has arrived.
    fn read_head(&mut self) -> Option<RequestHead> {
        self.buf.skip_empty_lines();
        if self.buf.bytes() == b"\r" && !self.eof {
            return None; // The CR of an empty line; its LF is on the way.
        }
        if self.buf.is_empty() {
            if self.eof {
                self.read = Read::Stopped;
            }
            return None;
        }
        let limits = &self.config.head;
        let end = match self
            .buf
            .find_head(|bytes, line_end| check_partial_request_line(bytes, line_end, limits))
        {
            Ok(Some(end)) => end,
            Ok(None) if !self.eof => return None,
            Ok(None) => {
                self.fail(ErrorKind::IncompleteHead.into());
                return None;
            }
            Err(error) => {
                self.fail(error);
                return None;
            }
        };
        let parsed = parse_request_head(&self.buf.bytes()[..end], &self.config.head)
            .and_then(|head| request_framing(&head, &self.config.body).map(|framing| (head, framing)));
        self.buf.consume(end);
        let (head, framing) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                self.fail(error);
                return None;
            }
        };
        let continue_asked =
            head.version == Version::HTTP_11 && head.headers.has_token("expect", "100-continue");
        self.exchange = Some(Exchange {
            method: head.method.clone(),
            version: head.version,
            keep_alive: wants_keep_alive(head.version, &head.headers) && !self.shutting_down,
            expect_continue: continue_asked && framing != crate::body::BodyFraming::Empty,
            upgrade_requested: head.headers.contains("upgrade"),
        });
        self.read = Read::Body(BodyDecoder::new(framing, self.config.body));
        self.write = Write::Awaiting;
        Some(head)
    }

    fn request_ended(&mut self, trailers: HeaderMap) -> ServerEvent<'_> {
        self.read = Read::Done;
        self.finish_exchange();
        ServerEvent::End(trailers)
    }

    fn fail(&mut self, error: HttpError) {
        tracing::debug!(target: "gyre::http", %error, "refusing the peer's input");
        self.error = Some(error);
        self.stop_reading();
    }

    fn stop_reading(&mut self) {
        self.read = Read::Stopped;
        self.closing = true;
        if let Some(exchange) = &mut self.exchange {
            exchange.keep_alive = false;
        }
    }

    /// The server is shutting down gracefully: the request being answered
    /// (or whose head is still arriving) gets its response, which says
    /// `Connection: close` unless its head was already sent, and then the
    /// connection closes; a connection idle between requests closes now
    /// (see [`wants_close`](Self::wants_close)). Nothing is cut short.
    pub fn handle_shutdown(&mut self) {
        self.shutting_down = true;
        let idle = self.read_phase() == ReadPhase::Idle;
        match &mut self.exchange {
            Some(exchange) => exchange.keep_alive = false,
            None if idle => self.stop_reading(),
            None => {}
        }
    }

    /// The adapter's read timeout expired (request head or body too slow):
    /// reading stops with an [`ErrorKind::Timeout`] error, reported by the
    /// next [`poll_event`](Self::poll_event) and answered with `408` if no
    /// response was started.
    pub fn handle_timeout(&mut self) {
        if !matches!(self.read, Read::Stopped) && self.error.is_none() {
            self.fail(ErrorKind::Timeout.into());
        }
    }

    /// Sends an interim response (1xx other than 101): `103 Early Hints`,
    /// or `100 Continue` (which [`accept_body`](Self::accept_body) sends for you).
    pub fn send_informational(&mut self, mut head: ResponseHead) -> Result<(), SendError> {
        if !head.status.is_informational() || head.status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(SendError::InvalidHead(
                "send_informational takes a 1xx status other than 101",
            ));
        }
        let exchange = match (&self.write, &mut self.exchange) {
            (Write::Awaiting, Some(exchange)) => exchange,
            _ => {
                return Err(SendError::WrongState(
                    "an interim response needs a request awaiting its response",
                ));
            }
        };
        if exchange.version == Version::HTTP_10 {
            return Ok(()); // HTTP/1.0 clients do not expect interim responses.
        }
        if head.status == StatusCode::CONTINUE {
            exchange.expect_continue = false;
        }
        head.version = Version::HTTP_11;
        head.write_to(&mut self.out);
        Ok(())
    }

    /// The handler wants the request body: sends `100 Continue` if the
    /// client is waiting for it (and nothing else was sent yet).
    pub fn accept_body(&mut self) {
        if let (Write::Awaiting, Some(exchange)) = (&self.write, &mut self.exchange)
            && exchange.expect_continue
        {
            exchange.expect_continue = false;
            self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
    }

    /// Whether the client asked for `100 Continue` and has not had it yet.
    pub fn expects_continue(&self) -> bool {
        self.exchange
            .as_ref()
            .is_some_and(|exchange| exchange.expect_continue)
    }

    /// Sends the final response head (see the framing rules in
    /// [`crate::proto`]). A `101` to a request with `Upgrade`, or a 2xx to
    /// `CONNECT`, hands the connection over: see [`take_upgraded`](Self::take_upgraded).
    pub fn send_response(&mut self, mut head: ResponseHead) -> Result<(), SendError> {
        let exchange = match (&self.write, &mut self.exchange) {
            (Write::Awaiting, Some(exchange)) => exchange,
            (Write::Stopped, _) => return Err(SendError::Closed),
            _ => {
                return Err(SendError::WrongState(
                    "a final response needs a request awaiting its response",
                ));
            }
        };
        let body_unread = matches!(&self.read, Read::Body(decoder) if !decoder.is_done());
        if self.eof || (exchange.expect_continue && body_unread) {
            // The client may never send the body it was waiting to send.
            exchange.keep_alive = false;
        }
        let prepared = prepare_response(
            &mut head,
            Answering {
                method: &exchange.method,
                version: exchange.version,
                keep_alive: exchange.keep_alive,
                upgrade_requested: exchange.upgrade_requested,
            },
        )?;
        if prepared.upgrade {
            match &self.read {
                Read::Done => {}
                Read::Body(decoder) if decoder.is_done() => self.read = Read::Done,
                _ => {
                    return Err(SendError::WrongState(
                        "upgrading before the request body was read",
                    ));
                }
            }
        }
        exchange.keep_alive = prepared.keep_alive;
        exchange.expect_continue = false;
        head.write_to(&mut self.out);
        if prepared.upgrade {
            self.upgraded = true;
            self.read = Read::Stopped;
            self.write = Write::Stopped;
        } else {
            self.write = Write::Body(prepared.encoder);
        }
        Ok(())
    }

    /// Sends response body bytes.
    pub fn send_data(&mut self, data: &[u8]) -> Result<(), SendError> {
        match &mut self.write {
            Write::Body(encoder) => encoder.encode(data, &mut self.out),
            Write::Stopped => Err(SendError::Closed),
            _ => Err(SendError::WrongState("body data needs a response head first")),
        }
    }

    /// Ends the response, with trailer fields if it is chunked.
    pub fn send_end(&mut self, trailers: &HeaderMap) -> Result<(), SendError> {
        let Write::Body(encoder) = &mut self.write else {
            return Err(match self.write {
                Write::Stopped => SendError::Closed,
                _ => SendError::WrongState("ending a response that was not started"),
            });
        };
        encoder.finish(trailers, &mut self.out)?;
        if encoder.is_close_delimited()
            && let Some(exchange) = &mut self.exchange
        {
            exchange.keep_alive = false;
        }
        self.write = Write::Done;
        self.finish_exchange();
        Ok(())
    }

    /// Answers a refused request with a short plain-text response and
    /// `Connection: close`, if no final response head was sent yet.
    pub fn send_error_response(&mut self, status: StatusCode) -> Result<(), SendError> {
        if !self.can_send_response() {
            return Err(SendError::WrongState("a response head was already sent"));
        }
        let reason = status.canonical_reason().unwrap_or("Error");
        let body = format!("{status} {reason}\n");
        let mut head = ResponseHead::new(status);
        head.headers
            .push_unchecked(b"Content-Type", b"text/plain; charset=utf-8");
        head.headers
            .push_unchecked(b"Content-Length", body.len().to_string().as_bytes());
        head.headers.push_unchecked(b"Connection", b"close");
        head.write_to(&mut self.out);
        self.out.extend_from_slice(body.as_bytes());
        self.write = Write::Stopped;
        self.stop_reading();
        Ok(())
    }

    /// Whether a final response head can still be sent: a request awaits
    /// its response, or the peer's input was refused before any response.
    pub fn can_send_response(&self) -> bool {
        match self.write {
            Write::Awaiting => true,
            Write::Idle => self.error.is_some(),
            _ => false,
        }
    }

    /// Both halves done: next request, drain, or close.
    fn finish_exchange(&mut self) {
        if !matches!(self.write, Write::Done) {
            return;
        }
        // A half-closed peer still gets its answer, then the close.
        let keep_alive = !self.eof && self.exchange.as_ref().is_some_and(|exchange| exchange.keep_alive);
        match std::mem::replace(&mut self.read, Read::Stopped) {
            _ if !keep_alive => self.stop_reading(),
            Read::Done => {
                self.exchange = None;
                self.read = Read::Idle;
                self.write = Write::Idle;
            }
            Read::Body(decoder) => self.read = Read::Drain(decoder, 0),
            other => self.read = other,
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

    /// Whether the connection should be closed once the transmitted bytes
    /// are flushed.
    pub fn wants_close(&self) -> bool {
        self.closing && !matches!(self.write, Write::Awaiting | Write::Body(_)) && !self.upgraded
    }

    /// Whether more input is welcome: false while the buffer holds more
    /// than [`ServerConfig::max_buffered`] unread bytes (pause reading) or
    /// once nothing more will be read.
    pub fn wants_input(&self) -> bool {
        !matches!(self.read, Read::Stopped) && self.buf.len() < self.config.max_buffered
    }

    /// How many received bytes are not yet used.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Where the read half is (what the adapter's timeouts key on).
    pub fn read_phase(&self) -> ReadPhase {
        match self.read {
            Read::Idle if self.exchange.is_some() => ReadPhase::Handling,
            Read::Idle if self.buf.bytes().iter().all(|&b| b == b'\r' || b == b'\n') => ReadPhase::Idle,
            Read::Idle => ReadPhase::Head,
            Read::Body(_) => ReadPhase::Body,
            Read::Done => ReadPhase::Handling,
            Read::Drain(..) => ReadPhase::Draining,
            Read::Stopped => ReadPhase::Stopped,
        }
    }

    /// Whether the current request's body has been read to its end (or
    /// the request had none), so that only its `End` event is left.
    pub fn request_body_complete(&self) -> bool {
        match &self.read {
            Read::Body(decoder) => decoder.is_done(),
            _ => true,
        }
    }

    /// Whether a response head is sent and its body not yet ended.
    pub fn is_responding(&self) -> bool {
        matches!(self.write, Write::Body(_))
    }

    /// After a `101` or a 2xx to `CONNECT`: the bytes that arrived after
    /// the request, which belong to the new protocol. `None` before an
    /// upgrade or when taken already.
    pub fn take_upgraded(&mut self) -> Option<Vec<u8>> {
        if !self.upgraded || self.exchange.is_none() {
            return None;
        }
        self.exchange = None;
        Some(self.buf.take())
    }

    /// Right after a [`ServerEvent::Data`] of `len` bytes: moves them into
    /// `into` (swapping buffers when nothing else is buffered, else
    /// copying) and says where they lie there, so the adapter can hand
    /// them to user code with the machine not borrowed.
    pub(crate) fn take_data(&mut self, len: usize, into: &mut Vec<u8>) -> std::ops::Range<usize> {
        self.buf.take_consumed(len, into)
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
