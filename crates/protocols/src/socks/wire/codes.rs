//! The code points of SOCKS requests and replies: [`Command`] and the
//! SOCKS5 [`ReplyCode`], with their wire values. Unknown values are kept
//! (`Other`, `Unassigned`) rather than refused, so a server can answer
//! "command not supported" and a client can report what it was told.

use std::fmt;

/// What a client asks for. SOCKS4 knows `Connect` and `Bind`; SOCKS5 adds
/// `UdpAssociate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Open a TCP connection to the target (1).
    Connect,
    /// Listen for one connection from the target (2).
    Bind,
    /// Relay UDP datagrams (3, SOCKS5 only).
    UdpAssociate,
    /// A command code the protocol does not define; answered "command not
    /// supported".
    Other(u8),
}

impl Command {
    /// The command for a wire code.
    pub fn from_u8(code: u8) -> Command {
        match code {
            1 => Command::Connect,
            2 => Command::Bind,
            3 => Command::UdpAssociate,
            other => Command::Other(other),
        }
    }

    /// The wire code.
    pub fn as_u8(self) -> u8 {
        match self {
            Command::Connect => 1,
            Command::Bind => 2,
            Command::UdpAssociate => 3,
            Command::Other(code) => code,
        }
    }
}

/// The SOCKS5 reply field (RFC 1928 section 6). SOCKS4 has only "granted"
/// and "rejected or failed"; [`Status::from_reply`](super::v4::Status::from_reply) maps these onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyCode {
    /// 0: the request was granted.
    Succeeded,
    /// 1: general SOCKS server failure.
    GeneralFailure,
    /// 2: connection not allowed by ruleset.
    NotAllowed,
    /// 3: network unreachable.
    NetworkUnreachable,
    /// 4: host unreachable.
    HostUnreachable,
    /// 5: connection refused.
    ConnectionRefused,
    /// 6: TTL expired.
    TtlExpired,
    /// 7: command not supported.
    CommandNotSupported,
    /// 8: address type not supported.
    AddressTypeNotSupported,
    /// A code RFC 1928 leaves unassigned.
    Unassigned(u8),
}

impl ReplyCode {
    /// The reply code for a wire value.
    pub fn from_u8(code: u8) -> ReplyCode {
        match code {
            0 => ReplyCode::Succeeded,
            1 => ReplyCode::GeneralFailure,
            2 => ReplyCode::NotAllowed,
            3 => ReplyCode::NetworkUnreachable,
            4 => ReplyCode::HostUnreachable,
            5 => ReplyCode::ConnectionRefused,
            6 => ReplyCode::TtlExpired,
            7 => ReplyCode::CommandNotSupported,
            8 => ReplyCode::AddressTypeNotSupported,
            other => ReplyCode::Unassigned(other),
        }
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            ReplyCode::Succeeded => 0,
            ReplyCode::GeneralFailure => 1,
            ReplyCode::NotAllowed => 2,
            ReplyCode::NetworkUnreachable => 3,
            ReplyCode::HostUnreachable => 4,
            ReplyCode::ConnectionRefused => 5,
            ReplyCode::TtlExpired => 6,
            ReplyCode::CommandNotSupported => 7,
            ReplyCode::AddressTypeNotSupported => 8,
            ReplyCode::Unassigned(code) => code,
        }
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ReplyCode::Succeeded => "succeeded",
            ReplyCode::GeneralFailure => "general SOCKS server failure",
            ReplyCode::NotAllowed => "connection not allowed by ruleset",
            ReplyCode::NetworkUnreachable => "network unreachable",
            ReplyCode::HostUnreachable => "host unreachable",
            ReplyCode::ConnectionRefused => "connection refused",
            ReplyCode::TtlExpired => "TTL expired",
            ReplyCode::CommandNotSupported => "command not supported",
            ReplyCode::AddressTypeNotSupported => "address type not supported",
            ReplyCode::Unassigned(_) => "unassigned reply code",
        };
        write!(f, "{text} ({})", self.as_u8())
    }
}
