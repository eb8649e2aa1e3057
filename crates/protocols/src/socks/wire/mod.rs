//! The SOCKS wire formats: every message of SOCKS4, SOCKS4a, SOCKS5
//! (RFC 1928), its username/password sub-negotiation (RFC 1929) and the
//! SOCKS5 UDP request header, parsed and written without any I/O.
//!
//! Stream messages are parsed from the front of a buffer that may hold
//! only part of a message: `Ok(None)` means "need more bytes",
//! `Ok(Some((message, used)))` gives the message and how many bytes it
//! took, and `Err` is a malformed message, after which the connection is
//! beyond repair. Every variable-length field is bounded by the format
//! itself (one length byte) or, for SOCKS4's NUL-terminated strings, by
//! [`MAX_FIELD`], so a parser never looks at more than 520 bytes.
//!
//! ```
//! use gyre_protocols::socks::wire::{Command, TargetAddr, v5};
//!
//! let mut bytes = Vec::new();
//! let target = TargetAddr::domain("example.com", 443).unwrap();
//! v5::encode_request(Command::Connect, &target, &mut bytes);
//! // Half a message is not an error, just not enough yet.
//! assert_eq!(v5::parse_request(&bytes[..7]).unwrap(), None);
//! let (request, used) = v5::parse_request(&bytes).unwrap().unwrap();
//! assert_eq!((request.command, &request.target, used), (Command::Connect, &target, bytes.len()));
//! ```

mod codes;
pub mod udp;
pub mod v4;
pub mod v5;

pub use codes::{Command, ReplyCode};

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use gyre_core::Address;

/// The longest NUL-terminated SOCKS4 field (user id, SOCKS4a host name)
/// accepted, without its NUL. SOCKS5 fields have a one-byte length, so
/// this is also their limit.
pub const MAX_FIELD: usize = 255;

/// Returns `Ok(None)` (need more bytes) when a read came up short.
macro_rules! need {
    ($read:expr) => {
        match $read {
            Some(value) => value,
            None => return Ok(None),
        }
    };
}
pub(crate) use need;

/// Where a client wants to go: an IP socket address, or a host name the
/// proxy resolves (SOCKS4a and SOCKS5 ATYP 3, "socks5h").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetAddr {
    /// An IPv4 or IPv6 address and port.
    Ip(SocketAddr),
    /// A host name and port.
    Domain {
        /// The name: 1 to 255 bytes of UTF-8 without NUL.
        host: String,
        /// The port.
        port: u16,
    },
}

impl TargetAddr {
    /// A host-name target, checked against what the wire can carry.
    pub fn domain(host: &str, port: u16) -> Result<TargetAddr, WireError> {
        check_domain(host.as_bytes())?;
        Ok(TargetAddr::Domain {
            host: host.to_owned(),
            port,
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        match self {
            TargetAddr::Ip(addr) => addr.port(),
            TargetAddr::Domain { port, .. } => *port,
        }
    }

    /// The target as a gyre [`Address`] (a TCP address or a host name).
    pub fn to_address(&self) -> Address {
        match self {
            TargetAddr::Ip(addr) => Address::tcp(*addr),
            TargetAddr::Domain { host, port } => Address::Hostname {
                host: host.clone(),
                port: *port,
            },
        }
    }
}

impl From<SocketAddr> for TargetAddr {
    fn from(addr: SocketAddr) -> Self {
        TargetAddr::Ip(addr)
    }
}

impl fmt::Display for TargetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetAddr::Ip(addr) => write!(f, "{addr}"),
            TargetAddr::Domain { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// A host name the wire can carry: 1 to 255 bytes of UTF-8 without NUL
/// (SOCKS4a ends it with NUL; names are handed to the resolver as text).
fn check_domain(bytes: &[u8]) -> Result<&str, WireError> {
    if bytes.is_empty() {
        return Err(WireError::EmptyDomain);
    }
    if bytes.len() > MAX_FIELD {
        return Err(WireError::FieldTooLong);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err(WireError::DomainNotText),
    }
}

/// A malformed SOCKS message. Parsing stops at the first one: the stream
/// is out of step and nothing after it can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// A version byte other than the one the message must carry.
    Version {
        /// What the message must carry.
        expected: u8,
        /// What it carried.
        found: u8,
    },
    /// The first byte of a connection is neither 4 nor 5.
    UnknownVersion(u8),
    /// A SOCKS5 address type other than 1 (IPv4), 3 (name) and 4 (IPv6).
    AddressType(u8),
    /// A host name of length zero.
    EmptyDomain,
    /// A host name that is not UTF-8 text or holds a NUL.
    DomainNotText,
    /// A NUL-terminated SOCKS4 field longer than [`MAX_FIELD`] bytes.
    FieldTooLong,
    /// A datagram too short for its SOCKS UDP header.
    TruncatedDatagram,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Version { expected, found } => {
                write!(f, "version byte {found}, expected {expected}")
            }
            WireError::UnknownVersion(found) => write!(f, "unknown SOCKS version {found}"),
            WireError::AddressType(found) => write!(f, "unknown address type {found}"),
            WireError::EmptyDomain => f.write_str("empty host name"),
            WireError::DomainNotText => f.write_str("host name is not text"),
            WireError::FieldTooLong => write!(f, "field longer than {MAX_FIELD} bytes"),
            WireError::TruncatedDatagram => f.write_str("datagram shorter than its SOCKS header"),
        }
    }
}

impl std::error::Error for WireError {}

/// A cursor over a buffer whose reads return `None` past the end.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes read so far.
    pub(crate) fn used(&self) -> usize {
        self.pos
    }

    /// Everything not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|bytes| bytes[0])
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|bytes| u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    pub(crate) fn ipv4(&mut self) -> Option<Ipv4Addr> {
        self.take(4).map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }

    /// A NUL-terminated field of at most [`MAX_FIELD`] bytes, without its NUL.
    pub(crate) fn until_nul(&mut self) -> Result<Option<&'a [u8]>, WireError> {
        let rest = self.rest();
        match rest.iter().take(MAX_FIELD + 1).position(|&b| b == 0) {
            Some(len) => {
                self.pos += len + 1;
                Ok(Some(&rest[..len]))
            }
            None if rest.len() > MAX_FIELD => Err(WireError::FieldTooLong),
            None => Ok(None),
        }
    }

    /// A SOCKS5 address (ATYP, address, port), as in requests, replies and
    /// UDP headers.
    pub(crate) fn socks5_address(&mut self) -> Result<Option<TargetAddr>, WireError> {
        let kind = need!(self.u8());
        let target = match kind {
            1 => {
                let ip = need!(self.ipv4());
                TargetAddr::Ip(SocketAddr::from((ip, need!(self.u16()))))
            }
            4 => {
                let octets: [u8; 16] = need!(self.take(16)).try_into().expect("16 bytes");
                let ip = Ipv6Addr::from(octets);
                TargetAddr::Ip(SocketAddr::from((ip, need!(self.u16()))))
            }
            3 => {
                let len = need!(self.u8());
                let bytes = need!(self.take(usize::from(len)));
                let port = need!(self.u16());
                let host = check_domain(bytes)?.to_owned();
                TargetAddr::Domain { host, port }
            }
            other => return Err(WireError::AddressType(other)),
        };
        Ok(Some(target))
    }
}

/// Writes a SOCKS5 address (ATYP, address, port). A host name longer than
/// 255 bytes cannot exist here: [`TargetAddr::domain`] and the parsers
/// refuse one.
pub(crate) fn encode_socks5_address(target: &TargetAddr, out: &mut Vec<u8>) {
    match target {
        TargetAddr::Ip(SocketAddr::V4(addr)) => {
            out.push(1);
            out.extend_from_slice(&addr.ip().octets());
        }
        TargetAddr::Ip(SocketAddr::V6(addr)) => {
            out.push(4);
            out.extend_from_slice(&addr.ip().octets());
        }
        TargetAddr::Domain { host, .. } => {
            let bytes = &host.as_bytes()[..host.len().min(MAX_FIELD)];
            out.push(3);
            out.push(bytes.len() as u8);
            out.extend_from_slice(bytes);
        }
    }
    out.extend_from_slice(&target.port().to_be_bytes());
}
