//! [`Method`]: the request method, a token compared case-sensitively.

use std::fmt;

use crate::error::{ErrorKind, HttpError};
use crate::wire::token::is_token;

/// The longest method accepted from the wire: real methods are short, and a
/// long "method" is usually a non-HTTP client talking to the port.
pub const MAX_METHOD_LEN: usize = 32;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Inner {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
    Other(Box<str>),
}

/// An HTTP request method (RFC 9110 §9).
///
/// The standard methods are constants and cost no allocation; any other
/// token is kept as an extension method. Methods are case-sensitive, so
/// `get` is an extension method, not [`Method::GET`].
///
/// ```
/// use gyre_http::Method;
///
/// let method = Method::from_bytes(b"PROPFIND").unwrap();
/// assert_eq!(method.as_str(), "PROPFIND");
/// assert_eq!(Method::from_bytes(b"GET").unwrap(), Method::GET);
/// assert!(Method::from_bytes(b"BAD METHOD").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Method(Inner);

impl Method {
    /// `GET`: transfer a representation.
    pub const GET: Method = Method(Inner::Get);
    /// `HEAD`: like GET, but the response carries no body.
    pub const HEAD: Method = Method(Inner::Head);
    /// `POST`: process the enclosed content.
    pub const POST: Method = Method(Inner::Post);
    /// `PUT`: replace the target with the enclosed content.
    pub const PUT: Method = Method(Inner::Put);
    /// `DELETE`: remove the target.
    pub const DELETE: Method = Method(Inner::Delete);
    /// `CONNECT`: open a tunnel (authority-form target).
    pub const CONNECT: Method = Method(Inner::Connect);
    /// `OPTIONS`: describe the target's options (`OPTIONS *` for the server).
    pub const OPTIONS: Method = Method(Inner::Options);
    /// `TRACE`: echo the request.
    pub const TRACE: Method = Method(Inner::Trace);
    /// `PATCH`: partial modification (RFC 5789).
    pub const PATCH: Method = Method(Inner::Patch);

    /// Parses a method token. Fails on an empty or over-long name or on a
    /// byte that is not a token character.
    pub fn from_bytes(bytes: &[u8]) -> Result<Method, HttpError> {
        let inner = match bytes {
            b"GET" => Inner::Get,
            b"HEAD" => Inner::Head,
            b"POST" => Inner::Post,
            b"PUT" => Inner::Put,
            b"DELETE" => Inner::Delete,
            b"CONNECT" => Inner::Connect,
            b"OPTIONS" => Inner::Options,
            b"TRACE" => Inner::Trace,
            b"PATCH" => Inner::Patch,
            _ if bytes.len() <= MAX_METHOD_LEN && is_token(bytes) => {
                // A token is ASCII, so this cannot fail.
                let name =
                    std::str::from_utf8(bytes).map_err(|_| HttpError::new(ErrorKind::InvalidMethod))?;
                Inner::Other(name.into())
            }
            _ => return Err(HttpError::new(ErrorKind::InvalidMethod)),
        };
        Ok(Method(inner))
    }

    /// The method's name.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Inner::Get => "GET",
            Inner::Head => "HEAD",
            Inner::Post => "POST",
            Inner::Put => "PUT",
            Inner::Delete => "DELETE",
            Inner::Connect => "CONNECT",
            Inner::Options => "OPTIONS",
            Inner::Trace => "TRACE",
            Inner::Patch => "PATCH",
            Inner::Other(name) => name,
        }
    }

    /// Whether the method is idempotent (RFC 9110 §9.2.2), which is when a
    /// client may retry it on a fresh connection after a stale one failed.
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self.0,
            Inner::Get | Inner::Head | Inner::Put | Inner::Delete | Inner::Options | Inner::Trace
        )
    }

    /// Whether the method is safe (read-only, RFC 9110 §9.2.1).
    pub fn is_safe(&self) -> bool {
        matches!(self.0, Inner::Get | Inner::Head | Inner::Options | Inner::Trace)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_round_trip_and_are_case_sensitive() {
        for name in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        ] {
            assert_eq!(Method::from_bytes(name.as_bytes()).unwrap().as_str(), name);
        }
        let lower = Method::from_bytes(b"get").unwrap();
        assert_ne!(lower, Method::GET);
        assert_eq!(lower.as_str(), "get");
    }

    #[test]
    fn invalid_tokens_are_refused() {
        for bad in [
            &b""[..],
            b"GE T",
            b"G\x01T",
            b"GET\r",
            b"\xffGET",
            &[b'A'; MAX_METHOD_LEN + 1],
        ] {
            assert!(
                Method::from_bytes(bad).is_err(),
                "{:?}",
                bad.escape_ascii().to_string()
            );
        }
        assert!(Method::from_bytes(&[b'A'; MAX_METHOD_LEN]).is_ok());
    }

    #[test]
    fn idempotence() {
        assert!(Method::PUT.is_idempotent() && !Method::POST.is_idempotent());
        assert!(Method::GET.is_safe() && !Method::DELETE.is_safe());
    }
}
