//! [`HttpError`]: what went wrong with a peer's message, and the status a
//! server answers it with; [`SendError`]: a misuse of the sending API.
//!
//! Peer errors are data, not panics: every parser and machine in this crate
//! turns malformed, oversized or truncated input into an `HttpError` whose
//! [`kind`](HttpError::kind) says exactly what was wrong (so tests and logs
//! can tell a smuggling attempt from a slow client) and whose
//! [`status`](HttpError::status) is the response a server should send before
//! closing, when one can still be sent.

use std::fmt;

use crate::wire::StatusCode;

/// The precise reason a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request line is longer than the limit (414).
    RequestLineTooLong,
    /// The head (start line and header fields) is larger than the limit (431).
    HeadTooLarge,
    /// More header fields than the limit (431).
    TooManyHeaders,
    /// The method is not a token (400).
    InvalidMethod,
    /// The request target is malformed or not allowed with this method (400).
    InvalidTarget,
    /// The request or status line is malformed (400).
    InvalidStartLine,
    /// The version is not `HTTP/1.0` or `HTTP/1.1` and not even `HTTP/d.d` (400).
    InvalidVersion,
    /// A well-formed version this crate does not speak, such as `HTTP/2.0` (505).
    UnsupportedVersion,
    /// A field name is not a token, or is empty (400).
    InvalidHeaderName,
    /// Whitespace between a field name and its colon (400, RFC 9112 §5.1).
    WhitespaceBeforeColon,
    /// A field value holds a control character (400).
    InvalidHeaderValue,
    /// A line folded with obs-fold (400, RFC 9112 §5.2).
    ObsFold,
    /// A carriage return not followed by a line feed (400).
    BareCr,
    /// An HTTP/1.1 request without `Host` (400, RFC 9112 §3.2).
    MissingHost,
    /// More than one `Host` field, or an invalid one (400).
    InvalidHost,
    /// More than one `Content-Length`, or a list of lengths (400).
    DuplicateContentLength,
    /// A `Content-Length` that is not a decimal number that fits in 64 bits (400).
    InvalidContentLength,
    /// A request with both `Transfer-Encoding` and `Content-Length` (400).
    TransferEncodingWithContentLength,
    /// A request whose final transfer coding is not `chunked`, or that
    /// applies `chunked` twice (400).
    ChunkedNotFinal,
    /// `Transfer-Encoding` in an HTTP/1.0 request (400): its framing cannot be trusted.
    TransferEncodingInHttp10,
    /// A transfer coding other than `chunked` (501).
    UnsupportedTransferCoding,
    /// The body is larger than the limit (413).
    BodyTooLarge,
    /// A chunk size that is not hexadecimal (400).
    InvalidChunkSize,
    /// A chunk size that does not fit in 64 bits (400).
    ChunkSizeOverflow,
    /// A chunk-size line (with its extensions) longer than the limit (400).
    ChunkLineTooLong,
    /// A chunk or chunk-size line not ended by CRLF (400).
    InvalidChunkDelimiter,
    /// The trailer section is malformed or larger than the limits (400).
    InvalidTrailers,
    /// The peer closed the connection in the middle of a head.
    IncompleteHead,
    /// The peer closed the connection before the body was complete.
    IncompleteBody,
    /// A status code outside 100–999, or a malformed status line.
    InvalidStatus,
    /// Bytes arrived from the server when no request was outstanding.
    UnexpectedResponse,
    /// The server closed the connection before sending any byte of the response
    /// (on a reused connection: the request may be retried if idempotent).
    ClosedBeforeResponse,
    /// The peer did not send a complete request in time (408).
    Timeout,
}

impl ErrorKind {
    /// The status a server answers this error with.
    pub fn status(self) -> Option<StatusCode> {
        use ErrorKind::*;
        Some(match self {
            RequestLineTooLong => StatusCode::URI_TOO_LONG,
            HeadTooLarge | TooManyHeaders => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            BodyTooLarge => StatusCode::CONTENT_TOO_LARGE,
            Timeout => StatusCode::REQUEST_TIMEOUT,
            IncompleteHead | UnexpectedResponse | ClosedBeforeResponse | InvalidStatus => return None,
            _ => StatusCode::BAD_REQUEST,
        })
    }

    fn describe(self) -> &'static str {
        use ErrorKind::*;
        match self {
            RequestLineTooLong => "request line too long",
            HeadTooLarge => "message head too large",
            TooManyHeaders => "too many header fields",
            InvalidMethod => "invalid method",
            InvalidTarget => "invalid request target",
            InvalidStartLine => "malformed start line",
            InvalidVersion => "invalid HTTP version",
            UnsupportedVersion => "unsupported HTTP version",
            InvalidHeaderName => "invalid header field name",
            WhitespaceBeforeColon => "whitespace between a header field name and its colon",
            InvalidHeaderValue => "invalid header field value",
            ObsFold => "obsolete line folding in a header field",
            BareCr => "carriage return without line feed",
            MissingHost => "HTTP/1.1 request without Host",
            InvalidHost => "duplicate or invalid Host",
            DuplicateContentLength => "duplicate Content-Length",
            InvalidContentLength => "invalid Content-Length",
            TransferEncodingWithContentLength => "Transfer-Encoding together with Content-Length",
            ChunkedNotFinal => "chunked is not the final transfer coding, or is applied twice",
            TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            UnsupportedTransferCoding => "unsupported transfer coding",
            BodyTooLarge => "body larger than the limit",
            InvalidChunkSize => "invalid chunk size",
            ChunkSizeOverflow => "chunk size overflows 64 bits",
            ChunkLineTooLong => "chunk size line too long",
            InvalidChunkDelimiter => "chunk not ended by CRLF",
            InvalidTrailers => "invalid trailer section",
            IncompleteHead => "connection closed in the middle of a message head",
            IncompleteBody => "connection closed before the body was complete",
            InvalidStatus => "invalid status code or status line",
            UnexpectedResponse => "response bytes without an outstanding request",
            ClosedBeforeResponse => "connection closed before any response",
            Timeout => "the request was not received in time",
        }
    }
}

/// A peer's message was refused.
///
/// ```
/// use gyre_http::{ErrorKind, HttpError, StatusCode};
///
/// let error = HttpError::new(ErrorKind::DuplicateContentLength);
/// assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
/// assert_eq!(error.to_string(), "duplicate Content-Length");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    kind: ErrorKind,
}

impl HttpError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind) -> Self {
        HttpError { kind }
    }

    /// What was wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status a server answers with before closing, or `None` when no
    /// answer makes sense (the peer is gone, or we are the client).
    pub fn status(&self) -> Option<StatusCode> {
        self.kind.status()
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())
    }
}

impl std::error::Error for HttpError {}

impl From<ErrorKind> for HttpError {
    fn from(kind: ErrorKind) -> Self {
        HttpError::new(kind)
    }
}

/// A call to a sending method that the connection's state does not allow:
/// a bug in the code driving the connection, reported instead of producing
/// a broken message on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The call does not fit the exchange's state (a body before the head,
    /// a second final response, a request while one is outstanding, ...).
    WrongState(&'static str),
    /// More body bytes than the declared `Content-Length`.
    BodyTooLong {
        /// The declared length.
        declared: u64,
    },
    /// The body ended before reaching the declared `Content-Length`.
    BodyTooShort {
        /// The bytes still owed.
        missing: u64,
    },
    /// Body bytes for a response that cannot have one (1xx, 204, 304).
    BodyNotAllowed,
    /// The head itself is inconsistent (both `Content-Length` and
    /// `Transfer-Encoding`, a transfer coding other than chunked, an
    /// invalid `Content-Length`, a 101 without an `Upgrade` request, ...).
    InvalidHead(&'static str),
    /// The connection failed or was closed; nothing more can be sent.
    Closed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::WrongState(what) => write!(f, "not allowed now: {what}"),
            SendError::BodyTooLong { declared } => {
                write!(f, "body longer than the declared Content-Length of {declared}")
            }
            SendError::BodyTooShort { missing } => {
                write!(f, "body ended {missing} bytes short of its Content-Length")
            }
            SendError::BodyNotAllowed => f.write_str("this response cannot have a body"),
            SendError::InvalidHead(what) => write!(f, "invalid message head: {what}"),
            SendError::Closed => f.write_str("the connection is closed"),
        }
    }
}

impl std::error::Error for SendError {}
