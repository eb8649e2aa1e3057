//! [`StatusCode`]: the three-digit response status.

use std::fmt;

use crate::error::{ErrorKind, HttpError};

/// A response status code, 100 to 999 (RFC 9110 §15).
///
/// Constants name the codes this crate itself produces or treats specially;
/// any other code is made with [`StatusCode::new`].
///
/// ```
/// use gyre_http::StatusCode;
///
/// let teapot = StatusCode::new(418).unwrap();
/// assert!(teapot.is_client_error());
/// assert_eq!(StatusCode::NOT_FOUND.canonical_reason(), Some("Not Found"));
/// assert!(StatusCode::new(42).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(u16);

macro_rules! status_codes {
    ($(($name:ident, $code:literal, $reason:literal)),* $(,)?) => {
        impl StatusCode {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`")]
                pub const $name: StatusCode = StatusCode($code);
            )*

            /// The reason phrase RFC 9110 gives this code, if it defines one.
            pub fn canonical_reason(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some($reason),)*
                    _ => None,
                }
            }
        }
    };
}

status_codes! {
    (CONTINUE, 100, "Continue"),
    (SWITCHING_PROTOCOLS, 101, "Switching Protocols"),
    (EARLY_HINTS, 103, "Early Hints"),
    (OK, 200, "OK"),
    (CREATED, 201, "Created"),
    (ACCEPTED, 202, "Accepted"),
    (NO_CONTENT, 204, "No Content"),
    (RESET_CONTENT, 205, "Reset Content"),
    (PARTIAL_CONTENT, 206, "Partial Content"),
    (MOVED_PERMANENTLY, 301, "Moved Permanently"),
    (FOUND, 302, "Found"),
    (SEE_OTHER, 303, "See Other"),
    (NOT_MODIFIED, 304, "Not Modified"),
    (TEMPORARY_REDIRECT, 307, "Temporary Redirect"),
    (PERMANENT_REDIRECT, 308, "Permanent Redirect"),
    (BAD_REQUEST, 400, "Bad Request"),
    (UNAUTHORIZED, 401, "Unauthorized"),
    (FORBIDDEN, 403, "Forbidden"),
    (NOT_FOUND, 404, "Not Found"),
    (METHOD_NOT_ALLOWED, 405, "Method Not Allowed"),
    (REQUEST_TIMEOUT, 408, "Request Timeout"),
    (LENGTH_REQUIRED, 411, "Length Required"),
    (PRECONDITION_FAILED, 412, "Precondition Failed"),
    (CONTENT_TOO_LARGE, 413, "Content Too Large"),
    (URI_TOO_LONG, 414, "URI Too Long"),
    (RANGE_NOT_SATISFIABLE, 416, "Range Not Satisfiable"),
    (EXPECTATION_FAILED, 417, "Expectation Failed"),
    (UPGRADE_REQUIRED, 426, "Upgrade Required"),
    (REQUEST_HEADER_FIELDS_TOO_LARGE, 431, "Request Header Fields Too Large"),
    (INTERNAL_SERVER_ERROR, 500, "Internal Server Error"),
    (NOT_IMPLEMENTED, 501, "Not Implemented"),
    (BAD_GATEWAY, 502, "Bad Gateway"),
    (SERVICE_UNAVAILABLE, 503, "Service Unavailable"),
    (GATEWAY_TIMEOUT, 504, "Gateway Timeout"),
    (HTTP_VERSION_NOT_SUPPORTED, 505, "HTTP Version Not Supported"),
}

impl StatusCode {
    /// The code `code`, which must have three digits (100 to 999).
    pub fn new(code: u16) -> Result<StatusCode, HttpError> {
        if (100..=999).contains(&code) {
            Ok(StatusCode(code))
        } else {
            Err(HttpError::new(ErrorKind::InvalidStatus))
        }
    }

    /// The number.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// 1xx: an interim response; the final one follows.
    pub fn is_informational(self) -> bool {
        self.0 < 200
    }

    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// 3xx.
    pub fn is_redirection(self) -> bool {
        (300..400).contains(&self.0)
    }

    /// 4xx.
    pub fn is_client_error(self) -> bool {
        (400..500).contains(&self.0)
    }

    /// 5xx and above.
    pub fn is_server_error(self) -> bool {
        self.0 >= 500
    }

    /// Whether a response with this status never has a body whatever its
    /// headers say (1xx, 204, 304; RFC 9112 §6.3).
    pub fn has_no_body(self) -> bool {
        self.is_informational() || self.0 == 204 || self.0 == 304
    }

    /// The three digits as ASCII.
    pub(crate) fn digits(self) -> [u8; 3] {
        let code = self.0;
        [
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ]
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_digits() {
        assert!(StatusCode::CONTINUE.is_informational() && StatusCode::CONTINUE.has_no_body());
        assert!(StatusCode::NO_CONTENT.has_no_body() && StatusCode::NOT_MODIFIED.has_no_body());
        assert!(!StatusCode::OK.has_no_body());
        assert_eq!(StatusCode::new(999).unwrap().digits(), *b"999");
        assert_eq!(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.digits(), *b"431");
        assert!(StatusCode::new(99).is_err() && StatusCode::new(1000).is_err());
        assert!(StatusCode::HTTP_VERSION_NOT_SUPPORTED.is_server_error());
    }
}
