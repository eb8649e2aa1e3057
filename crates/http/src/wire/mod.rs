//! The wire layer: typed message heads, their parsing and their writing.
//!
//! Nothing here keeps state between calls or does I/O. A head is parsed
//! from a byte slice once it is complete ([`parse_request`],
//! [`parse_response`]), with httparse doing the tokenising and this module
//! adding what RFC 9112 asks on top: size limits with their own status codes
//! (414 for the request line, 431 for the head and the field count),
//! `Host` rules, target forms checked against the method, versions other
//! than 1.0/1.1 told apart from garbage (505 vs 400), and every rejection
//! named precisely ([`ErrorKind`](crate::ErrorKind): obs-fold, whitespace
//! before a colon, bare CR, ...). Body framing headers (`Content-Length`,
//! `Transfer-Encoding`) are judged by [`crate::proto`], which knows whether
//! the message is a request or a response.
//!
//! ```
//! use gyre_http::wire::{HeadLimits, parse_request};
//! use gyre_http::{ErrorKind, StatusCode};
//!
//! let limits = HeadLimits { max_start_line: 64, ..HeadLimits::default() };
//! let long = format!("GET /{} HTTP/1.1\r\n", "x".repeat(100));
//! let error = parse_request(long.as_bytes(), &limits).unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::RequestLineTooLong);
//! assert_eq!(error.status(), Some(StatusCode::URI_TOO_LONG));
//! ```

mod head;
mod headers;
pub(crate) mod method;
mod parse;
mod status;
mod target;
pub(crate) mod token;
mod version;

pub use head::{RequestHead, ResponseHead};
pub use headers::HeaderMap;
pub use method::Method;
pub use parse::{
    HeadLimits, MAX_HEADERS_CAP, check_partial_request, check_partial_response, find_head_end, parse_request,
    parse_request_head, parse_response, parse_response_head,
};
pub(crate) use parse::{check_partial_request_line, check_partial_response_line};
pub use status::StatusCode;
pub use target::{RequestTarget, TargetForm};
pub use version::Version;
