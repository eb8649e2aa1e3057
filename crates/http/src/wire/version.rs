//! [`Version`]: HTTP/1.0 or HTTP/1.1, the two versions this crate speaks.

use std::fmt;

/// The protocol version of a message.
///
/// Only HTTP/1.0 and HTTP/1.1 exist on the wire of this crate: a request
/// naming another version is answered `505 HTTP Version Not Supported`
/// (major version 2 and up) or `400 Bad Request` (garbage). The version
/// matters for connection persistence (1.1 keeps the connection by default,
/// 1.0 only with `Connection: keep-alive`) and for framing (1.0 peers do not
/// understand chunked bodies).
///
/// ```
/// use gyre_http::Version;
///
/// assert_eq!(Version::HTTP_11.to_string(), "HTTP/1.1");
/// assert!(Version::HTTP_10 < Version::HTTP_11);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u8);

impl Version {
    /// HTTP/1.0 (RFC 1945).
    pub const HTTP_10: Version = Version(0);
    /// HTTP/1.1 (RFC 9112).
    pub const HTTP_11: Version = Version(1);

    /// The version whose minor number (after `HTTP/1.`) is `minor`, if it is
    /// one this crate speaks.
    pub fn from_minor(minor: u8) -> Option<Version> {
        (minor <= 1).then_some(Version(minor))
    }

    /// The minor version number: 0 or 1.
    pub fn minor(self) -> u8 {
        self.0
    }

    /// The version as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        if self.0 == 0 { "HTTP/1.0" } else { "HTTP/1.1" }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
