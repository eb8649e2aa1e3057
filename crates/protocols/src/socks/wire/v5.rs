//! SOCKS5 messages (RFC 1928) and the username/password sub-negotiation
//! (RFC 1929).
//!
//! ```text
//! greeting          VER=5 | NMETHODS | METHODS…
//! method selection  VER=5 | METHOD
//! password auth     VER=1 | ULEN | UNAME… | PLEN | PASSWD…          (RFC 1929)
//! auth status       VER=1 | STATUS (0 = success)
//! request           VER=5 | CMD | RSV | ATYP | DST.ADDR | DST.PORT
//! reply             VER=5 | REP | RSV | ATYP | BND.ADDR | BND.PORT
//! ```
//!
//! The reserved byte is written as 0 and ignored when read, as the RFC's
//! robustness principle suggests.

use std::fmt;

use super::{Command, Reader, ReplyCode, TargetAddr, WireError, encode_socks5_address, need};

/// The version byte of every SOCKS5 message.
pub const VERSION: u8 = 5;
/// The version byte of the RFC 1929 sub-negotiation.
pub const AUTH_VERSION: u8 = 1;

/// An authentication method code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(pub u8);

impl Method {
    /// 0: no authentication required.
    pub const NO_AUTH: Method = Method(0);
    /// 1: GSSAPI (not offered by gyre).
    pub const GSSAPI: Method = Method(1);
    /// 2: username/password (RFC 1929).
    pub const USERNAME_PASSWORD: Method = Method(2);
    /// 0xFF: none of the offered methods is acceptable.
    pub const NO_ACCEPTABLE: Method = Method(0xFF);
}

fn version(reader: &mut Reader<'_>, expected: u8) -> Result<Option<()>, WireError> {
    let found = need!(reader.u8());
    if found != expected {
        return Err(WireError::Version { expected, found });
    }
    Ok(Some(()))
}

/// Parses a client greeting; gives the methods offered (possibly none).
pub fn parse_greeting(buf: &[u8]) -> Result<Option<(Vec<Method>, usize)>, WireError> {
    let mut reader = Reader::new(buf);
    need!(version(&mut reader, VERSION)?);
    let count = need!(reader.u8());
    let methods = need!(reader.take(usize::from(count)));
    Ok(Some((
        methods.iter().map(|&m| Method(m)).collect(),
        reader.used(),
    )))
}

/// Writes a greeting offering `methods` (at most 255 are written).
pub fn encode_greeting(methods: &[Method], out: &mut Vec<u8>) {
    let methods = &methods[..methods.len().min(255)];
    out.extend_from_slice(&[VERSION, methods.len() as u8]);
    out.extend(methods.iter().map(|m| m.0));
}

/// Parses the server's method selection.
pub fn parse_method_selection(buf: &[u8]) -> Result<Option<(Method, usize)>, WireError> {
    let mut reader = Reader::new(buf);
    need!(version(&mut reader, VERSION)?);
    let method = Method(need!(reader.u8()));
    Ok(Some((method, reader.used())))
}

/// Writes the server's method selection.
pub fn encode_method_selection(method: Method, out: &mut Vec<u8>) {
    out.extend_from_slice(&[VERSION, method.0]);
}

/// RFC 1929 credentials. Both fields are bytes (the RFC says octets), at
/// most 255 each. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordAuth {
    /// The user name.
    pub username: Vec<u8>,
    /// The password.
    pub password: Vec<u8>,
}

impl fmt::Debug for PasswordAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordAuth")
            .field("username", &self.username.escape_ascii().to_string())
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Parses an RFC 1929 username/password request.
pub fn parse_password_auth(buf: &[u8]) -> Result<Option<(PasswordAuth, usize)>, WireError> {
    let mut reader = Reader::new(buf);
    need!(version(&mut reader, AUTH_VERSION)?);
    let ulen = need!(reader.u8());
    let username = need!(reader.take(usize::from(ulen))).to_vec();
    let plen = need!(reader.u8());
    let password = need!(reader.take(usize::from(plen))).to_vec();
    let auth = PasswordAuth { username, password };
    Ok(Some((auth, reader.used())))
}

/// Writes an RFC 1929 request. Fails when a field is longer than 255 bytes.
pub fn encode_password_auth(auth: &PasswordAuth, out: &mut Vec<u8>) -> Result<(), WireError> {
    let (Ok(ulen), Ok(plen)) = (
        u8::try_from(auth.username.len()),
        u8::try_from(auth.password.len()),
    ) else {
        return Err(WireError::FieldTooLong);
    };
    out.extend_from_slice(&[AUTH_VERSION, ulen]);
    out.extend_from_slice(&auth.username);
    out.push(plen);
    out.extend_from_slice(&auth.password);
    Ok(())
}

/// Parses the RFC 1929 status: `true` when the credentials were accepted.
pub fn parse_auth_status(buf: &[u8]) -> Result<Option<(bool, usize)>, WireError> {
    let mut reader = Reader::new(buf);
    need!(version(&mut reader, AUTH_VERSION)?);
    let status = need!(reader.u8());
    Ok(Some((status == 0, reader.used())))
}

/// Writes the RFC 1929 status (0 for success, 1 for failure).
pub fn encode_auth_status(success: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(&[AUTH_VERSION, if success { 0 } else { 1 }]);
}

/// A SOCKS5 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// What is asked for.
    pub command: Command,
    /// The target (for UDP ASSOCIATE: where the client will send from).
    pub target: TargetAddr,
}

/// Parses a request. An unknown address type is
/// [`WireError::AddressType`], which a server answers with reply 8.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request, usize)>, WireError> {
    let mut reader = Reader::new(buf);
    need!(version(&mut reader, VERSION)?);
    let command = Command::from_u8(need!(reader.u8()));
    let _reserved = need!(reader.u8());
    let target = need!(reader.socks5_address()?);
    Ok(Some((Request { command, target }, reader.used())))
}

/// Writes a request.
pub fn encode_request(command: Command, target: &TargetAddr, out: &mut Vec<u8>) {
    out.extend_from_slice(&[VERSION, command.as_u8(), 0]);
    encode_socks5_address(target, out);
}

/// A SOCKS5 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Succeeded, or why not.
    pub code: ReplyCode,
    /// The address the server bound (the source of its connection, the
    /// listening socket of a BIND, the UDP relay of an association).
    pub bound: TargetAddr,
}

/// Parses a reply.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, WireError> {
    let mut reader = Reader::new(buf);
    need!(version(&mut reader, VERSION)?);
    let code = ReplyCode::from_u8(need!(reader.u8()));
    let _reserved = need!(reader.u8());
    let bound = need!(reader.socks5_address()?);
    Ok(Some((Reply { code, bound }, reader.used())))
}

/// Writes a reply.
pub fn encode_reply(reply: &Reply, out: &mut Vec<u8>) {
    out.extend_from_slice(&[VERSION, reply.code.as_u8(), 0]);
    encode_socks5_address(&reply.bound, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips_and_is_incomplete_when_cut() {
        let mut bytes = Vec::new();
        encode_greeting(&[Method::NO_AUTH, Method::USERNAME_PASSWORD], &mut bytes);
        assert_eq!(bytes, [5, 2, 0, 2]);
        let auth = PasswordAuth {
            username: b"user".to_vec(),
            password: b"secret".to_vec(),
        };
        let mut auth_bytes = Vec::new();
        encode_password_auth(&auth, &mut auth_bytes).unwrap();
        assert_eq!(parse_password_auth(&auth_bytes).unwrap(), Some((auth, 13)));
        let reply = Reply {
            code: ReplyCode::ConnectionRefused,
            bound: TargetAddr::Ip("[2001:db8::1]:9".parse().unwrap()),
        };
        let mut reply_bytes = Vec::new();
        encode_reply(&reply, &mut reply_bytes);
        assert_eq!(reply_bytes.len(), 22);
        assert_eq!(parse_reply(&reply_bytes).unwrap(), Some((reply, 22)));
        for cut in 0..reply_bytes.len() {
            assert_eq!(parse_reply(&reply_bytes[..cut]).unwrap(), None);
        }
        for cut in 0..auth_bytes.len() {
            assert_eq!(parse_password_auth(&auth_bytes[..cut]).unwrap(), None);
        }
    }

    #[test]
    fn malformed_requests_are_typed() {
        assert_eq!(parse_request(&[5, 1, 0, 9, 0, 0]), Err(WireError::AddressType(9)));
        assert_eq!(
            parse_request(&[5, 1, 0, 3, 0, 0, 80]),
            Err(WireError::EmptyDomain)
        );
        assert_eq!(
            parse_request(&[5, 1, 0, 3, 2, 0xff, 0xfe, 0, 80]),
            Err(WireError::DomainNotText)
        );
        assert_eq!(
            parse_greeting(&[4, 1, 0]),
            Err(WireError::Version {
                expected: 5,
                found: 4
            })
        );
        let (request, _) = parse_request(&[5, 9, 0xaa, 1, 127, 0, 0, 1, 0, 80])
            .unwrap()
            .unwrap();
        assert_eq!(request.command, Command::Other(9), "reserved byte ignored");
        let long = PasswordAuth {
            username: vec![b'u'; 256],
            password: Vec::new(),
        };
        assert_eq!(
            encode_password_auth(&long, &mut Vec::new()),
            Err(WireError::FieldTooLong)
        );
        let shown = format!(
            "{:?}",
            PasswordAuth {
                username: b"bob".to_vec(),
                password: b"hunter2".to_vec()
            }
        );
        assert!(shown.contains("bob") && !shown.contains("hunter2"), "{shown}");
    }
}
