//! The framing and persistence rules both machines share (RFC 9112 §6, §9.3).
//!
//! Receiving: [`request_framing`] and [`response_framing`] decide where a
//! body ends and refuse the heads that smuggling attacks rely on.
//! Sending: `prepare_response` and `prepare_request` (used by the machines) fix up a head we
//! are about to send (framing headers, `Connection`) and pick its encoder.

use crate::body::{BodyEncoder, BodyFraming, BodyLimits};
use crate::error::{ErrorKind, HttpError, SendError};
use crate::wire::token::list_elements;
use crate::wire::{HeaderMap, Method, RequestHead, ResponseHead, StatusCode, Version};

/// The `Content-Length` of a head: `None` when absent; an error when it is
/// repeated (even with equal values), a list, or not a decimal number that
/// fits in 64 bits.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, HttpError> {
    let mut values = headers.get_all("content-length");
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() || value.contains(&b',') {
        return Err(ErrorKind::DuplicateContentLength.into());
    }
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(ErrorKind::InvalidContentLength.into());
    }
    let length = value
        .iter()
        .fold(0u64, |length, &digit| length * 10 + u64::from(digit - b'0'));
    Ok(Some(length))
}

/// What the `Transfer-Encoding` fields say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferCoding {
    /// No `Transfer-Encoding` field.
    Absent,
    /// Exactly `chunked`.
    Chunked,
    /// Other codings, the last of which is `chunked`.
    OtherThenChunked,
    /// A last coding that is not `chunked` (a response body then runs to
    /// the close; a request is refused).
    NotChunkedLast,
    /// `chunked` more than once, or an empty field.
    Invalid,
}

/// Reads the `Transfer-Encoding` fields (all of them, as one list).
pub fn transfer_coding(headers: &HeaderMap) -> TransferCoding {
    if !headers.contains("transfer-encoding") {
        return TransferCoding::Absent;
    }
    let (mut count, mut chunked, mut last_chunked) = (0, 0, false);
    for value in headers.get_all("transfer-encoding") {
        for coding in list_elements(value) {
            count += 1;
            last_chunked = coding.eq_ignore_ascii_case(b"chunked");
            chunked += usize::from(last_chunked);
        }
    }
    match (count, chunked, last_chunked) {
        (0, _, _) => TransferCoding::Invalid,
        (_, 2.., _) => TransferCoding::Invalid,
        (1, 1, true) => TransferCoding::Chunked,
        (_, 1, true) => TransferCoding::OtherThenChunked,
        (_, 1, false) => TransferCoding::Invalid,
        _ => TransferCoding::NotChunkedLast,
    }
}

/// Where a received request's body ends (RFC 9112 §6.3), refusing
/// `Transfer-Encoding` with `Content-Length`, `Transfer-Encoding` in
/// HTTP/1.0, a final coding other than chunked, codings we cannot decode,
/// bad or repeated lengths, and a declared length over the body limit.
pub fn request_framing(head: &RequestHead, limits: &BodyLimits) -> Result<BodyFraming, HttpError> {
    let length = content_length(&head.headers);
    match transfer_coding(&head.headers) {
        TransferCoding::Absent => {}
        _ if head.version == Version::HTTP_10 => return Err(ErrorKind::TransferEncodingInHttp10.into()),
        _ if head.headers.contains("content-length") => {
            return Err(ErrorKind::TransferEncodingWithContentLength.into());
        }
        TransferCoding::Chunked => return Ok(BodyFraming::Chunked),
        TransferCoding::OtherThenChunked => return Err(ErrorKind::UnsupportedTransferCoding.into()),
        TransferCoding::NotChunkedLast | TransferCoding::Invalid => {
            return Err(ErrorKind::ChunkedNotFinal.into());
        }
    }
    match length? {
        None | Some(0) => Ok(BodyFraming::Empty),
        Some(length) if limits.max_body.is_some_and(|max| length > max) => {
            Err(ErrorKind::BodyTooLarge.into())
        }
        Some(length) => Ok(BodyFraming::Length(length)),
    }
}

/// Where a received response's body ends, given the method of its
/// request; also whether the connection must close afterwards (a body
/// delimited by the close, or the suspicious `Transfer-Encoding` together
/// with `Content-Length`, where `Transfer-Encoding` wins).
pub fn response_framing(method: &Method, head: &ResponseHead) -> Result<(BodyFraming, bool), HttpError> {
    if head.status.has_no_body()
        || *method == Method::HEAD
        || (*method == Method::CONNECT && head.status.is_success())
    {
        return Ok((BodyFraming::Empty, false));
    }
    match transfer_coding(&head.headers) {
        TransferCoding::Absent => {}
        TransferCoding::Chunked => {
            return Ok((BodyFraming::Chunked, head.headers.contains("content-length")));
        }
        TransferCoding::OtherThenChunked => return Err(ErrorKind::UnsupportedTransferCoding.into()),
        TransferCoding::NotChunkedLast => return Ok((BodyFraming::UntilClose, true)),
        TransferCoding::Invalid => return Err(ErrorKind::ChunkedNotFinal.into()),
    }
    match content_length(&head.headers)? {
        Some(0) => Ok((BodyFraming::Empty, false)),
        Some(length) => Ok((BodyFraming::Length(length), false)),
        None => Ok((BodyFraming::UntilClose, true)),
    }
}

/// Whether a message asks to keep the connection: HTTP/1.1 unless
/// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
pub fn wants_keep_alive(version: Version, headers: &HeaderMap) -> bool {
    if headers.has_token("connection", "close") {
        return false;
    }
    version >= Version::HTTP_11 || headers.has_token("connection", "keep-alive")
}

/// What the server machine knows about the request a response answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answering<'a> {
    pub method: &'a Method,
    pub version: Version,
    pub keep_alive: bool,
    pub upgrade_requested: bool,
}

/// How a final response will be sent.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub encoder: BodyEncoder,
    pub keep_alive: bool,
    /// A 101 to an upgrade request or a 2xx to CONNECT: the connection
    /// belongs to another protocol once the head is sent.
    pub upgrade: bool,
}

/// Fixes up a final response head and picks its encoder: the framing the
/// handler chose (`Content-Length` or `Transfer-Encoding: chunked`), else
/// chunked for HTTP/1.1 and close-delimited for HTTP/1.0; framing headers
/// removed where the status forbids a body; `Connection: close` or
/// `keep-alive` as the outcome needs. A HEAD response keeps the headers a
/// GET would get, but its body is dropped.
pub(crate) fn prepare_response(
    head: &mut ResponseHead,
    request: Answering<'_>,
) -> Result<Prepared, SendError> {
    let status = head.status;
    if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
        return Err(SendError::InvalidHead(
            "an interim (1xx) status is not a final response",
        ));
    }
    head.version = Version::HTTP_11;
    let mut keep_alive = request.keep_alive && !head.headers.has_token("connection", "close");
    let tunnel = *request.method == Method::CONNECT && status.is_success();
    let switching = status == StatusCode::SWITCHING_PROTOCOLS;
    if switching && !request.upgrade_requested {
        return Err(SendError::InvalidHead(
            "101 Switching Protocols answers only a request with Upgrade",
        ));
    }
    let length =
        content_length(&head.headers).map_err(|_| SendError::InvalidHead("invalid Content-Length"))?;
    let coding = transfer_coding(&head.headers);
    if length.is_some() && coding != TransferCoding::Absent {
        return Err(SendError::InvalidHead(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    if !matches!(coding, TransferCoding::Absent | TransferCoding::Chunked) {
        return Err(SendError::InvalidHead("the only transfer coding sent is chunked"));
    }
    let encoder = if switching || tunnel || status == StatusCode::NO_CONTENT {
        head.headers.remove("content-length");
        head.headers.remove("transfer-encoding");
        BodyEncoder::new(BodyFraming::Empty)
    } else if status == StatusCode::NOT_MODIFIED {
        head.headers.remove("transfer-encoding");
        BodyEncoder::new(BodyFraming::Empty)
    } else {
        let framing = match (length, coding, request.version) {
            (Some(length), _, _) => BodyFraming::Length(length),
            (None, _, Version::HTTP_11) => {
                if coding == TransferCoding::Absent {
                    head.headers.push_unchecked(b"Transfer-Encoding", b"chunked");
                }
                BodyFraming::Chunked
            }
            (None, _, _) => {
                head.headers.remove("transfer-encoding");
                if *request.method != Method::HEAD {
                    keep_alive = false;
                }
                BodyFraming::UntilClose
            }
        };
        if *request.method == Method::HEAD {
            BodyEncoder::discard()
        } else {
            BodyEncoder::new(framing)
        }
    };
    let upgrade = switching || tunnel;
    if !upgrade {
        set_connection(&mut head.headers, keep_alive, request.version);
    }
    Ok(Prepared {
        encoder,
        keep_alive,
        upgrade,
    })
}

/// Picks a request's encoder from its head: `Content-Length`, or
/// `Transfer-Encoding: chunked` for a body of unknown length, or no body.
/// Returns it with whether the request lets the connection be reused.
pub(crate) fn prepare_request(head: &mut RequestHead) -> Result<(BodyEncoder, bool), SendError> {
    let length =
        content_length(&head.headers).map_err(|_| SendError::InvalidHead("invalid Content-Length"))?;
    let framing = match (length, transfer_coding(&head.headers)) {
        (Some(length), TransferCoding::Absent) => BodyFraming::Length(length),
        (None, TransferCoding::Chunked) if head.version == Version::HTTP_11 => BodyFraming::Chunked,
        (None, TransferCoding::Absent) => BodyFraming::Empty,
        (None, TransferCoding::Chunked) => return Err(SendError::InvalidHead("chunked needs HTTP/1.1")),
        (Some(_), _) => {
            return Err(SendError::InvalidHead(
                "both Content-Length and Transfer-Encoding",
            ));
        }
        (None, _) => return Err(SendError::InvalidHead("the only transfer coding sent is chunked")),
    };
    let keep_alive = wants_keep_alive(head.version, &head.headers);
    Ok((BodyEncoder::new(framing), keep_alive))
}

/// Makes `Connection` say what will happen: `close` when the connection
/// ends after this message, `keep-alive` for an HTTP/1.0 peer it persists for.
fn set_connection(headers: &mut HeaderMap, keep_alive: bool, peer: Version) {
    if !keep_alive && !headers.has_token("connection", "close") {
        headers.push_unchecked(b"Connection", b"close");
    } else if keep_alive && peer == Version::HTTP_10 && !headers.has_token("connection", "keep-alive") {
        headers.push_unchecked(b"Connection", b"keep-alive");
    }
}
