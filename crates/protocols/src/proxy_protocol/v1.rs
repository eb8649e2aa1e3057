//! PROXY protocol version 1: one US-ASCII line,
//! `PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n`, at most 107 bytes
//! with its CRLF.
//!
//! Parsing is strict, as the specification asks: exactly one space between
//! fields, addresses of the announced family, no leading zeros in ports,
//! nothing after the destination port. `UNKNOWN` may be followed by
//! anything, which is ignored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use gyre_core::address::IpTransport;

use crate::proxy_protocol::error::{EncodeError, ProxyHeaderError};
use crate::proxy_protocol::header::{Command, ProxyAddresses, ProxyHeader, Version};

/// The longest version 1 line, CRLF included.
pub const V1_MAX_LINE: usize = 107;
/// What every version 1 line starts with.
pub const V1_PREFIX: &[u8] = b"PROXY ";

fn malformed(what: &'static str) -> ProxyHeaderError {
    ProxyHeaderError::V1Malformed(what)
}

/// A decimal port without leading zeros.
fn port(field: &str) -> Result<u16, ProxyHeaderError> {
    let canonical = !field.is_empty()
        && field.bytes().all(|b| b.is_ascii_digit())
        && (field == "0" || !field.starts_with('0'));
    if !canonical {
        return Err(malformed("a port is not a decimal number without leading zeros"));
    }
    field.parse().map_err(|_| malformed("a port is over 65535"))
}

/// An address of the announced family, in canonical form.
fn address(field: &str, v6: bool) -> Result<IpAddr, ProxyHeaderError> {
    if v6 {
        // Dotted IPv4 tails (`::ffff:1.2.3.4`) are accepted, as by
        // HAProxy's own `inet_pton`, and are how Rust writes mapped addresses.
        field
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| malformed("an address is not a valid IPv6 address"))
    } else {
        // The standard parser already rejects leading zeros (octal look-alikes).
        field
            .parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| malformed("an address is not a valid IPv4 address"))
    }
}

/// Parses a version 1 line without its CRLF.
pub fn parse_v1(line: &[u8]) -> Result<ProxyHeader, ProxyHeaderError> {
    let rest = line
        .strip_prefix(V1_PREFIX)
        .ok_or(ProxyHeaderError::NotProxyProtocol)?;
    if rest.starts_with(b"UNKNOWN") && matches!(rest.get(7), None | Some(b' ')) {
        return Ok(ProxyHeader::local(Version::V1));
    }
    let text = std::str::from_utf8(rest)
        .ok()
        .filter(|text| text.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
        .ok_or(malformed("the line holds bytes that are not printable US-ASCII"))?;
    let fields: Vec<&str> = text.split(' ').collect();
    let [protocol, source, destination, source_port, destination_port] = fields[..] else {
        return Err(malformed(
            "expected 5 fields separated by single spaces after PROXY",
        ));
    };
    let v6 = match protocol {
        "TCP4" => false,
        "TCP6" => true,
        _ => return Err(malformed("the protocol is not TCP4, TCP6 or UNKNOWN")),
    };
    let source = SocketAddr::new(address(source, v6)?, port(source_port)?);
    let destination = SocketAddr::new(address(destination, v6)?, port(destination_port)?);
    Ok(ProxyHeader {
        version: Version::V1,
        command: Command::Proxy,
        addresses: ProxyAddresses::Ip {
            transport: IpTransport::Tcp,
            source,
            destination,
        },
        tlvs: Vec::new(),
    })
}

/// Writes `header` as a version 1 line, CRLF included. A `Local` command
/// or unknown addresses are written `PROXY UNKNOWN`.
pub fn encode_v1(header: &ProxyHeader) -> Result<Vec<u8>, EncodeError> {
    if !header.tlvs.is_empty() {
        return Err(EncodeError::NotInV1("TLVs"));
    }
    let addresses = match (&header.command, &header.addresses) {
        (Command::Local, _) | (_, ProxyAddresses::Unknown) => None,
        (_, ProxyAddresses::Unix { .. }) => return Err(EncodeError::NotInV1("Unix socket addresses")),
        (
            _,
            ProxyAddresses::Ip {
                transport,
                source,
                destination,
            },
        ) => {
            if *transport != IpTransport::Tcp {
                return Err(EncodeError::NotInV1("UDP"));
            }
            Some((source, destination))
        }
    };
    let line = match addresses {
        None => "PROXY UNKNOWN\r\n".to_owned(),
        Some((source, destination)) => {
            let family = match (source, destination) {
                (SocketAddr::V4(_), SocketAddr::V4(_)) => "TCP4",
                (SocketAddr::V6(_), SocketAddr::V6(_)) => "TCP6",
                _ => return Err(EncodeError::MixedFamilies),
            };
            format!(
                "PROXY {family} {} {} {} {}\r\n",
                source.ip(),
                destination.ip(),
                source.port(),
                destination.port()
            )
        }
    };
    Ok(line.into_bytes())
}
