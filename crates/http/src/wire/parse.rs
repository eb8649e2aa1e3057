//! Parsing request and response heads with httparse, under limits, with
//! the RFC 9112 checks httparse leaves to its caller.
//!
//! A head is parsed once, when its end (the empty line) has arrived:
//! [`find_head_end`] scans only the bytes that are new since the last look,
//! so a head arriving one byte at a time costs linear, not quadratic, time.
//! While the head is incomplete, [`check_partial_request`] enforces the
//! limits and refuses a request line that cannot be HTTP (a TLS handshake
//! sent to a plain port) without waiting for the limit.

use std::mem::MaybeUninit;

use crate::error::{ErrorKind, HttpError};
use crate::wire::target::is_reg_name_byte;
use crate::wire::token::is_tchar;
use crate::wire::{HeaderMap, Method, RequestHead, RequestTarget, ResponseHead, StatusCode, Version};

/// The most header fields any head may have, whatever the configured limit
/// (the parser's field slots live on the stack).
pub const MAX_HEADERS_CAP: usize = 256;

/// Size limits for a message head; every one maps to its own status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// The longest request line (or status line), CRLF included: longer is
    /// `414 URI Too Long`. Default 8 KiB, like nginx and Twisted.
    pub max_start_line: usize,
    /// The largest head, start line and fields together: larger is
    /// `431 Request Header Fields Too Large`. Default 32 KiB.
    pub max_head: usize,
    /// The most header fields: more is `431`. Default 100; at most
    /// [`MAX_HEADERS_CAP`].
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_start_line: 8 * 1024,
            max_head: 32 * 1024,
            max_headers: 100,
        }
    }
}

/// Where the head that starts at `buf[0]` ends (just after its empty line),
/// if it has arrived. `scanned` is how many bytes an earlier call already
/// looked at (0 the first time); the search restarts a little before it.
///
/// ```
/// use gyre_http::wire::find_head_end;
///
/// let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody";
/// assert_eq!(find_head_end(head, 0), Some(head.len() - 4));
/// assert_eq!(find_head_end(&head[..20], 0), None);
/// ```
pub fn find_head_end(buf: &[u8], scanned: usize) -> Option<usize> {
    let from = scanned.saturating_sub(3);
    let mut at = from;
    while let Some(offset) = buf[at..].iter().position(|&b| b == b'\n') {
        let newline = at + offset;
        match buf.get(newline + 1..) {
            Some([b'\n', ..]) => return Some(newline + 2),
            Some([b'\r', b'\n', ..]) => return Some(newline + 3),
            _ => at = newline + 1,
        }
    }
    None
}

/// Checks an incomplete request head against the limits, and refuses a
/// method that cannot be one (a non-token byte before the first space).
pub fn check_partial_request(buf: &[u8], limits: &HeadLimits) -> Result<(), HttpError> {
    check_partial_request_line(buf, first_line_end(buf), limits)
}

/// [`check_partial_request`] told where the first line ends (`None`: not
/// yet), so a caller that tracks it looks at each byte once, not on every call.
pub(crate) fn check_partial_request_line(
    buf: &[u8],
    line_end: Option<usize>,
    limits: &HeadLimits,
) -> Result<(), HttpError> {
    if line_end.unwrap_or(buf.len()) > limits.max_start_line {
        return Err(ErrorKind::RequestLineTooLong.into());
    }
    if buf.len() > limits.max_head {
        return Err(ErrorKind::HeadTooLarge.into());
    }
    // A method is at most MAX_METHOD_LEN bytes: no need to look further for its end.
    let window = &buf[..buf.len().min(crate::wire::method::MAX_METHOD_LEN + 1)];
    let method = &window[..window.iter().position(|&b| b == b' ').unwrap_or(window.len())];
    if method.len() > crate::wire::method::MAX_METHOD_LEN || !method.iter().all(|&b| is_tchar(b)) {
        return Err(ErrorKind::InvalidMethod.into());
    }
    Ok(())
}

/// Checks an incomplete response head against the limits.
pub fn check_partial_response(buf: &[u8], limits: &HeadLimits) -> Result<(), HttpError> {
    check_partial_response_line(buf, first_line_end(buf), limits)
}

/// [`check_partial_response`] told where the first line ends (`None`: not yet).
pub(crate) fn check_partial_response_line(
    buf: &[u8],
    line_end: Option<usize>,
    limits: &HeadLimits,
) -> Result<(), HttpError> {
    if line_end.unwrap_or(buf.len()) > limits.max_start_line || buf.len() > limits.max_head {
        return Err(ErrorKind::HeadTooLarge.into());
    }
    if !b"HTTP/".starts_with(&buf[..buf.len().min(5)]) {
        return Err(ErrorKind::InvalidStatus.into());
    }
    Ok(())
}

fn first_line_end(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// Parses a request head from the start of `buf`: `Ok(None)` while it is
/// incomplete (and within the limits), else the head and its length.
///
/// ```
/// use gyre_http::wire::{HeadLimits, parse_request};
/// use gyre_http::{ErrorKind, Method};
///
/// let limits = HeadLimits::default();
/// let (head, len) = parse_request(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", &limits).unwrap().unwrap();
/// assert_eq!((head.method, head.target.as_str(), len), (Method::GET, "/a", 28));
/// assert_eq!(parse_request(b"GET /a HTTP/1.1\r\nHost", &limits), Ok(None));
/// let smuggle = parse_request(b"GET / HTTP/1.1\r\nHost: x\r\n fold\r\n\r\n", &limits);
/// assert_eq!(smuggle.unwrap_err().kind(), ErrorKind::ObsFold);
/// ```
pub fn parse_request(buf: &[u8], limits: &HeadLimits) -> Result<Option<(RequestHead, usize)>, HttpError> {
    match find_head_end(buf, 0) {
        Some(end) => parse_request_head(&buf[..end], limits).map(|head| Some((head, end))),
        None => check_partial_request(buf, limits).map(|()| None),
    }
}

/// Parses a response head from the start of `buf`, like [`parse_request`].
pub fn parse_response(buf: &[u8], limits: &HeadLimits) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    match find_head_end(buf, 0) {
        Some(end) => parse_response_head(&buf[..end], limits).map(|head| Some((head, end))),
        None => check_partial_response(buf, limits).map(|()| None),
    }
}

/// Parses a complete request head (`head` ends with its empty line).
pub fn parse_request_head(head: &[u8], limits: &HeadLimits) -> Result<RequestHead, HttpError> {
    check_head_size(head, limits, ErrorKind::RequestLineTooLong)?;
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let slots = &mut slots[..limits.max_headers.min(MAX_HEADERS_CAP)];
    let mut request = httparse::Request::new(&mut []);
    let parsed = request.parse_with_uninit_headers(head, slots);
    match parsed {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ErrorKind::InvalidStartLine.into()),
        Err(error) => {
            return Err(classify(
                error,
                head,
                request.method.is_none(),
                request.path.is_none(),
                false,
            )
            .into());
        }
    }
    let method = Method::from_bytes(request.method.unwrap_or("").as_bytes())?;
    let target = RequestTarget::parse(&method, request.path.unwrap_or(""))?;
    let version = request
        .version
        .and_then(Version::from_minor)
        .ok_or(ErrorKind::InvalidVersion)?;
    let headers = collect_headers(request.headers, head.len());
    check_host(&headers, version)?;
    Ok(RequestHead {
        method,
        target,
        version,
        headers,
    })
}

/// Parses a complete response head (`head` ends with its empty line).
pub fn parse_response_head(head: &[u8], limits: &HeadLimits) -> Result<ResponseHead, HttpError> {
    check_head_size(head, limits, ErrorKind::HeadTooLarge)?;
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let slots = &mut slots[..limits.max_headers.min(MAX_HEADERS_CAP)];
    let mut response = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut response, head, slots) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ErrorKind::InvalidStatus.into()),
        Err(httparse::Error::Status) => return Err(ErrorKind::InvalidStatus.into()),
        Err(error) => return Err(classify(error, head, false, false, true).into()),
    }
    let status = StatusCode::new(response.code.unwrap_or(0))?;
    let version = response
        .version
        .and_then(Version::from_minor)
        .ok_or(ErrorKind::InvalidVersion)?;
    let headers = collect_headers(response.headers, head.len());
    Ok(ResponseHead::parsed(
        status,
        version,
        response.reason.unwrap_or(""),
        headers,
    ))
}

fn check_head_size(head: &[u8], limits: &HeadLimits, long_line: ErrorKind) -> Result<(), HttpError> {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    if line_end > limits.max_start_line {
        return Err(long_line.into());
    }
    if head.len() > limits.max_head {
        return Err(ErrorKind::HeadTooLarge.into());
    }
    Ok(())
}

fn collect_headers(fields: &[httparse::Header<'_>], head_len: usize) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(fields.len(), head_len);
    for field in fields {
        headers.push_unchecked(field.name.as_bytes(), field.value);
    }
    headers
}

/// RFC 9112 §3.2: exactly one Host in an HTTP/1.1 request, and a valid one.
fn check_host(headers: &HeaderMap, version: Version) -> Result<(), HttpError> {
    let mut hosts = headers.get_all("host");
    match (hosts.next(), hosts.next()) {
        (None, _) if version == Version::HTTP_11 => Err(ErrorKind::MissingHost.into()),
        (None, _) => Ok(()),
        (Some(host), None) if is_valid_host(host) => Ok(()),
        _ => Err(ErrorKind::InvalidHost.into()),
    }
}

/// `uri-host [ ":" port ]`, or empty.
fn is_valid_host(value: &[u8]) -> bool {
    let (host, port) = match value.iter().rposition(|&b| b == b':') {
        Some(colon) if !value.starts_with(b"[") || value[..colon].ends_with(b"]") => {
            (&value[..colon], &value[colon + 1..])
        }
        _ => (value, &b""[..]),
    };
    let port_ok = port.len() <= 5 && port.iter().all(u8::is_ascii_digit);
    let host_ok = match host.strip_prefix(b"[") {
        Some(literal) => literal.strip_suffix(b"]").is_some_and(|inner| {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }),
        None => host.iter().all(|&b| is_reg_name_byte(b)),
    };
    // A port needs a host in front of it.
    port_ok && host_ok && (port.is_empty() || !host.is_empty())
}

/// Names the RFC 9112 rule an httparse error broke, looking at the head.
fn classify(
    error: httparse::Error,
    head: &[u8],
    no_method: bool,
    no_target: bool,
    response: bool,
) -> ErrorKind {
    let first_line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let has_bare_cr =
        head.windows(2).any(|pair| pair[0] == b'\r' && pair[1] != b'\n') || head.ends_with(b"\r");
    match error {
        httparse::Error::TooManyHeaders => ErrorKind::TooManyHeaders,
        httparse::Error::Token if no_method => ErrorKind::InvalidMethod,
        httparse::Error::Token if no_target => ErrorKind::InvalidTarget,
        httparse::Error::Version => classify_version(&head[..first_line_end], response),
        httparse::Error::HeaderName => classify_header_name(&head[first_line_end.min(head.len())..]),
        httparse::Error::HeaderValue | httparse::Error::NewLine if has_bare_cr => ErrorKind::BareCr,
        httparse::Error::HeaderValue => ErrorKind::InvalidHeaderValue,
        httparse::Error::Status => ErrorKind::InvalidStatus,
        _ => ErrorKind::InvalidStartLine,
    }
}

/// `HTTP/d.d` that is not 1.0 or 1.1 is unsupported (505); anything else is garbage (400).
fn classify_version(line: &[u8], response: bool) -> ErrorKind {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut words = line.split(|&b| b == b' ');
    let version = if response { words.next() } else { words.next_back() }.unwrap_or(b"");
    let well_formed = version.len() == 8
        && version.starts_with(b"HTTP/")
        && version[5].is_ascii_digit()
        && version[6] == b'.'
        && version[7].is_ascii_digit();
    if well_formed {
        ErrorKind::UnsupportedVersion
    } else {
        ErrorKind::InvalidVersion
    }
}

/// Which header-name rule failed: obs-fold, whitespace before the colon, or the name itself.
fn classify_header_name(fields: &[u8]) -> ErrorKind {
    for line in fields.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            return ErrorKind::ObsFold;
        }
        let name_end = line.iter().position(|&b| !is_tchar(b)).unwrap_or(line.len());
        let rest = &line[name_end..];
        if name_end > 0 && matches!(rest.first(), Some(b' ' | b'\t')) {
            let after_space = rest.iter().position(|&b| b != b' ' && b != b'\t');
            if after_space.is_some_and(|at| rest[at] == b':') {
                return ErrorKind::WhitespaceBeforeColon;
            }
        }
        if name_end == 0 || rest.first() != Some(&b':') {
            return ErrorKind::InvalidHeaderName;
        }
    }
    ErrorKind::InvalidHeaderName
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
