//! [`RequestHead`] and [`ResponseHead`]: start line and header fields of a
//! message, and how they are written.

use std::borrow::Cow;

use crate::error::{HttpError, SendError};
use crate::wire::{HeaderMap, Method, RequestTarget, StatusCode, Version};

/// The head of a request: request line and header fields.
///
/// Received heads are fully validated (see [`parse_request`](crate::wire::parse_request));
/// heads built by a client are validated piece by piece by their
/// constructors, so writing one can never produce a malformed message.
///
/// ```
/// use gyre_http::{Method, RequestHead};
///
/// let mut head = RequestHead::new(Method::GET, "/index.html").unwrap();
/// head.headers.append("Host", "example.com").unwrap();
/// let mut wire = Vec::new();
/// head.write_to(&mut wire);
/// assert_eq!(wire, b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The target, validated for the method.
    pub target: RequestTarget,
    /// The version (HTTP/1.1 for heads built with [`RequestHead::new`]).
    pub version: Version,
    /// The header fields.
    pub headers: HeaderMap,
}

impl RequestHead {
    /// An HTTP/1.1 request for `target` with no header fields yet.
    pub fn new(method: Method, target: &str) -> Result<RequestHead, HttpError> {
        let target = RequestTarget::parse(&method, target)?;
        Ok(RequestHead {
            method,
            target,
            version: Version::HTTP_11,
            headers: HeaderMap::new(),
        })
    }

    /// Writes the head, ending with the empty line.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let target = self.target.as_str();
        out.reserve(self.method.as_str().len() + target.len() + 14 + self.headers.wire_len());
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
        self.headers.write_to(out);
        out.extend_from_slice(b"\r\n");
    }
}

/// Room left after a response head for the body that usually follows.
const SHORT_BODY: usize = 256;

/// The head of a response: status line and header fields.
///
/// ```
/// use gyre_http::{ResponseHead, StatusCode};
///
/// let mut head = ResponseHead::new(StatusCode::NOT_FOUND);
/// head.headers.append("Content-Length", "0").unwrap();
/// let mut wire = Vec::new();
/// head.write_to(&mut wire);
/// assert_eq!(wire, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
///
/// let custom = ResponseHead::new(StatusCode::OK).with_reason("Fine").unwrap();
/// assert_eq!(custom.reason(), "Fine");
/// assert!(ResponseHead::new(StatusCode::OK).with_reason("a\r\nb").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status.
    pub status: StatusCode,
    /// The version: what the peer sent, or HTTP/1.1 (always written as
    /// 1.1 by a server, which announces the highest version it speaks).
    pub version: Version,
    reason: Cow<'static, str>,
    /// The header fields.
    pub headers: HeaderMap,
}

impl ResponseHead {
    /// An HTTP/1.1 response with the canonical reason phrase and no fields.
    pub fn new(status: StatusCode) -> ResponseHead {
        ResponseHead {
            status,
            version: Version::HTTP_11,
            reason: Cow::Borrowed(status.canonical_reason().unwrap_or("")),
            headers: HeaderMap::new(),
        }
    }

    /// The same head with another reason phrase, which may hold visible
    /// characters, spaces and tabs only.
    pub fn with_reason(mut self, reason: &str) -> Result<ResponseHead, SendError> {
        if !reason.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
            return Err(SendError::InvalidHead("reason phrase holds a control character"));
        }
        self.reason = Cow::Owned(reason.to_owned());
        Ok(self)
    }

    /// A head whose reason phrase was validated by the parser.
    pub(crate) fn parsed(
        status: StatusCode,
        version: Version,
        reason: &str,
        headers: HeaderMap,
    ) -> ResponseHead {
        let reason = match status.canonical_reason() {
            Some(canonical) if canonical == reason => Cow::Borrowed(canonical),
            _ => Cow::Owned(reason.to_owned()),
        };
        ResponseHead {
            status,
            version,
            reason,
            headers,
        }
    }

    /// The reason phrase (informative only; never interpret it).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Writes the head, ending with the empty line.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        // `HTTP/1.1 200 ` (13) + reason + CRLF (2) + fields + blank line
        // (2); room is made for a short body too, so that a small answer on
        // a fresh connection costs one allocation, not three.
        out.reserve(17 + self.reason.len() + self.headers.wire_len() + SHORT_BODY);
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(&self.status.digits());
        out.push(b' ');
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.headers.write_to(out);
        out.extend_from_slice(b"\r\n");
    }
}
