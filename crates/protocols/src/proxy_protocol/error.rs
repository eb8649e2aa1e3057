//! [`ProxyHeaderError`]: why a connection's PROXY header was rejected.

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// Why a PROXY protocol header was rejected. The connection is then closed:
/// the specification forbids guessing and forbids using a connection whose
/// header is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyHeaderError {
    /// The connection does not start with a PROXY header (v1 `PROXY ` or
    /// the v2 signature).
    NotProxyProtocol,
    /// A version 1 line without CRLF in its first 107 bytes.
    V1TooLong,
    /// A version 1 line ended with a bare CR or LF.
    V1BadLineEnding,
    /// A version 1 line that does not match the grammar.
    V1Malformed(&'static str),
    /// A version 2 header whose version nibble is not 2.
    V2BadVersion(u8),
    /// A version 2 command other than LOCAL (0) and PROXY (1).
    V2BadCommand(u8),
    /// A version 2 family/protocol byte not in the specification.
    V2BadFamily(u8),
    /// A version 2 header longer than this receiver accepts.
    V2TooLong {
        /// The header's total length (16 + its length field).
        length: usize,
        /// The most this receiver accepts.
        limit: usize,
    },
    /// A version 2 address block shorter than its family needs.
    V2AddressTooShort {
        /// The family/protocol byte.
        family: u8,
        /// The length given.
        length: usize,
    },
    /// A version 2 TLV that runs past the header, or a malformed
    /// registered TLV.
    V2BadTlv(&'static str),
    /// The CRC32c TLV does not match the header.
    ChecksumMismatch,
    /// The header did not arrive within the header timeout.
    Timeout(Duration),
    /// The peer closed the connection before a complete header.
    ClosedBeforeHeader,
}

impl fmt::Display for ProxyHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyHeaderError::NotProxyProtocol => {
                f.write_str("the connection does not start with a PROXY protocol header")
            }
            ProxyHeaderError::V1TooLong => f.write_str("PROXY v1 line has no CRLF in its first 107 bytes"),
            ProxyHeaderError::V1BadLineEnding => f.write_str("PROXY v1 line ends with a bare CR or LF"),
            ProxyHeaderError::V1Malformed(what) => write!(f, "malformed PROXY v1 line: {what}"),
            ProxyHeaderError::V2BadVersion(version) => write!(f, "PROXY v2 header with version {version}"),
            ProxyHeaderError::V2BadCommand(command) => {
                write!(f, "PROXY v2 header with unknown command {command}")
            }
            ProxyHeaderError::V2BadFamily(family) => {
                write!(f, "PROXY v2 header with unknown family/protocol 0x{family:02x}")
            }
            ProxyHeaderError::V2TooLong { length, limit } => {
                write!(
                    f,
                    "PROXY v2 header of {length} bytes, more than the {limit} accepted"
                )
            }
            ProxyHeaderError::V2AddressTooShort { family, length } => write!(
                f,
                "PROXY v2 address block of {length} bytes is too short for family/protocol 0x{family:02x}"
            ),
            ProxyHeaderError::V2BadTlv(what) => write!(f, "bad PROXY v2 TLV: {what}"),
            ProxyHeaderError::ChecksumMismatch => f.write_str("PROXY v2 header fails its CRC32c checksum"),
            ProxyHeaderError::Timeout(after) => write!(f, "no complete PROXY header within {after:?}"),
            ProxyHeaderError::ClosedBeforeHeader => {
                f.write_str("the peer closed the connection before sending a complete PROXY header")
            }
        }
    }
}

impl Error for ProxyHeaderError {}

/// A header that cannot be written in the format asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// Version 1 carries only TCP over IPv4/IPv6 (or UNKNOWN), no TLVs.
    NotInV1(&'static str),
    /// Source and destination of different IP families.
    MixedFamilies,
    /// A Unix address longer than the 108 bytes of its field.
    UnixAddressTooLong,
    /// A TLV value over 65535 bytes, or a header over 65535 + 16 bytes.
    TooLong,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::NotInV1(what) => write!(f, "PROXY v1 cannot carry {what}"),
            EncodeError::MixedFamilies => f.write_str("source and destination are of different IP families"),
            EncodeError::UnixAddressTooLong => f.write_str("Unix socket address longer than 108 bytes"),
            EncodeError::TooLong => f.write_str("PROXY v2 header or TLV too long"),
        }
    }
}

impl Error for EncodeError {}
