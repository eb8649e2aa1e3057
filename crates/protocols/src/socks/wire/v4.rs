//! SOCKS4 and SOCKS4a messages.
//!
//! ```text
//! request  VN=4 | CD | DSTPORT(2) | DSTIP(4) | USERID… 0 [| HOST… 0]   (HOST when DSTIP is 0.0.0.x, x≠0)
//! reply    VN=0 | CD=90..93 | DSTPORT(2) | DSTIP(4)
//! ```

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::{Command, Reader, ReplyCode, TargetAddr, WireError, check_domain, need};

/// The version byte of a SOCKS4 request.
pub const VERSION: u8 = 4;
/// The version byte of a SOCKS4 reply.
pub const REPLY_VERSION: u8 = 0;

/// A SOCKS4 or SOCKS4a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `Connect`, `Bind`, or an undefined code (`Other`).
    pub command: Command,
    /// An IPv4 address (SOCKS4) or a host name (SOCKS4a).
    pub target: TargetAddr,
    /// The user id field (at most [`MAX_FIELD`](super::MAX_FIELD) bytes, no NUL).
    pub user_id: Vec<u8>,
}

/// Parses a request from the front of `buf`.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request, usize)>, WireError> {
    let mut reader = Reader::new(buf);
    let version = need!(reader.u8());
    if version != VERSION {
        return Err(WireError::Version {
            expected: VERSION,
            found: version,
        });
    }
    let command = Command::from_u8(need!(reader.u8()));
    let port = need!(reader.u16());
    let ip = need!(reader.ipv4());
    let user_id = need!(reader.until_nul()?).to_vec();
    let [a, b, c, d] = ip.octets();
    let target = if a == 0 && b == 0 && c == 0 && d != 0 {
        let host = check_domain(need!(reader.until_nul()?))?.to_owned();
        TargetAddr::Domain { host, port }
    } else {
        TargetAddr::Ip(SocketAddr::from((ip, port)))
    };
    let request = Request {
        command,
        target,
        user_id,
    };
    Ok(Some((request, reader.used())))
}

/// Writes a request. Fails for an IPv6 target (SOCKS4 cannot carry one)
/// and for a user id with a NUL or longer than [`MAX_FIELD`](super::MAX_FIELD).
pub fn encode_request(request: &Request, out: &mut Vec<u8>) -> Result<(), WireError> {
    if request.user_id.len() > super::MAX_FIELD || request.user_id.contains(&0) {
        return Err(WireError::FieldTooLong);
    }
    let (ip, host) = match &request.target {
        TargetAddr::Ip(SocketAddr::V4(addr)) => (*addr.ip(), None),
        TargetAddr::Ip(SocketAddr::V6(_)) => return Err(WireError::AddressType(4)),
        TargetAddr::Domain { host, .. } => (Ipv4Addr::new(0, 0, 0, 1), Some(check_domain(host.as_bytes())?)),
    };
    out.extend_from_slice(&[VERSION, request.command.as_u8()]);
    out.extend_from_slice(&request.target.port().to_be_bytes());
    out.extend_from_slice(&ip.octets());
    out.extend_from_slice(&request.user_id);
    out.push(0);
    if let Some(host) = host {
        out.extend_from_slice(host.as_bytes());
        out.push(0);
    }
    Ok(())
}

/// The CD field of a SOCKS4 reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 90: request granted.
    Granted,
    /// 91: request rejected or failed.
    Rejected,
    /// 92: rejected because the server cannot reach the client's identd.
    NoIdentd,
    /// 93: rejected because identd reported a different user id.
    IdentMismatch,
    /// Any other value.
    Other(u8),
}

impl Status {
    /// The status for a wire value.
    pub fn from_u8(code: u8) -> Status {
        match code {
            90 => Status::Granted,
            91 => Status::Rejected,
            92 => Status::NoIdentd,
            93 => Status::IdentMismatch,
            other => Status::Other(other),
        }
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Status::Granted => 90,
            Status::Rejected => 91,
            Status::NoIdentd => 92,
            Status::IdentMismatch => 93,
            Status::Other(code) => code,
        }
    }

    /// SOCKS4 says only "granted" or "rejected or failed": every SOCKS5
    /// failure code becomes 91.
    pub fn from_reply(code: ReplyCode) -> Status {
        if code == ReplyCode::Succeeded {
            Status::Granted
        } else {
            Status::Rejected
        }
    }
}

/// A SOCKS4 reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Granted or why not.
    pub status: Status,
    /// The bound address (meaningful for BIND; zero when unused).
    pub address: SocketAddrV4,
}

/// Parses a reply from the front of `buf`.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, WireError> {
    let mut reader = Reader::new(buf);
    let version = need!(reader.u8());
    if version != REPLY_VERSION {
        return Err(WireError::Version {
            expected: REPLY_VERSION,
            found: version,
        });
    }
    let status = Status::from_u8(need!(reader.u8()));
    let port = need!(reader.u16());
    let ip = need!(reader.ipv4());
    let reply = Reply {
        status,
        address: SocketAddrV4::new(ip, port),
    };
    Ok(Some((reply, reader.used())))
}

/// Writes a reply.
pub fn encode_reply(reply: &Reply, out: &mut Vec<u8>) {
    out.extend_from_slice(&[REPLY_VERSION, reply.status.as_u8()]);
    out.extend_from_slice(&reply.address.port().to_be_bytes());
    out.extend_from_slice(&reply.address.ip().octets());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socks4_and_socks4a_requests_parse() {
        let plain = [4, 1, 0, 80, 10, 0, 0, 1, b'b', b'o', b'b', 0];
        let (request, used) = parse_request(&plain).unwrap().unwrap();
        assert_eq!(used, plain.len());
        assert_eq!(request.target, TargetAddr::Ip("10.0.0.1:80".parse().unwrap()));
        assert_eq!(request.user_id, b"bob");

        let named = b"\x04\x01\x01\xbb\x00\x00\x00\x07\x00example.com\x00";
        let (request, used) = parse_request(named).unwrap().unwrap();
        assert_eq!(used, named.len());
        assert_eq!(request.target, TargetAddr::domain("example.com", 443).unwrap());
        assert!(request.user_id.is_empty());
        for cut in 0..named.len() {
            assert_eq!(parse_request(&named[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn overlong_fields_and_bad_versions_are_refused() {
        let mut long = vec![4, 1, 0, 80, 1, 2, 3, 4];
        long.extend(std::iter::repeat_n(b'u', 256));
        assert_eq!(parse_request(&long), Err(WireError::FieldTooLong));
        long.truncate(8 + 255);
        assert_eq!(parse_request(&long), Ok(None), "255 bytes may still end");
        assert_eq!(
            parse_request(&[5, 1]),
            Err(WireError::Version {
                expected: 4,
                found: 5
            })
        );
        let empty_host = [4, 1, 0, 80, 0, 0, 0, 1, 0, 0];
        assert_eq!(parse_request(&empty_host), Err(WireError::EmptyDomain));
    }

    #[test]
    fn requests_and_replies_round_trip() {
        let request = Request {
            command: Command::Bind,
            target: TargetAddr::domain("ftp.example", 21).unwrap(),
            user_id: b"alice".to_vec(),
        };
        let mut bytes = Vec::new();
        encode_request(&request, &mut bytes).unwrap();
        assert_eq!(parse_request(&bytes).unwrap(), Some((request, bytes.len())));
        let reply = Reply {
            status: Status::Granted,
            address: "192.0.2.1:4000".parse().unwrap(),
        };
        let mut bytes = Vec::new();
        encode_reply(&reply, &mut bytes);
        assert_eq!(bytes, [0, 90, 0x0f, 0xa0, 192, 0, 2, 1]);
        assert_eq!(parse_reply(&bytes).unwrap(), Some((reply, 8)));
        let v6 = Request {
            command: Command::Connect,
            target: TargetAddr::Ip("[::1]:80".parse().unwrap()),
            user_id: Vec::new(),
        };
        assert!(encode_request(&v6, &mut Vec::new()).is_err());
    }
}
