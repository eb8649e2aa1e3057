//! PROXY protocol version 2: a 16-byte binary prefix (signature,
//! version/command, family/protocol, length) followed by the addresses and
//! TLVs.
//!
//! Parsing validates what the specification fixes: version 2, command
//! LOCAL or PROXY, a family/protocol byte from its list, an address block
//! as long as the family needs, TLVs that fit, the registered TLVs'
//! structure (`SSL`, `CRC32C`, `UNIQUE_ID` ≤ 128 bytes) and the CRC32c
//! checksum when one is present (at most one `CRC32C` TLV is accepted).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use gyre_core::address::IpTransport;

use crate::proxy_protocol::error::{EncodeError, ProxyHeaderError};
use crate::proxy_protocol::header::{
    Command, ProxyAddresses, ProxyHeader, Tlv, Version, parse_ssl, split_tlvs, tlv,
};

/// The 12 bytes every version 2 header starts with.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The fixed part: signature, version/command, family, length.
pub const V2_FIXED_LEN: usize = 16;
/// The size of each address of an `AF_UNIX` header.
pub const UNIX_ADDRESS_LEN: usize = 108;

/// CRC32c (Castagnoli), as the `CRC32C` TLV uses.
pub fn crc32c(bytes: &[u8]) -> u32 {
    !crc32c_update(!0, bytes)
}

/// Runs the CRC32c register `crc` over `bytes` (no initial or final
/// inversion), so a checksum can be computed over several pieces.
fn crc32c_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    crc
}

/// The CRC32c of `header` with the 4 bytes at `value_at` read as zeros
/// (how the checksum is defined), without copying the header.
fn crc32c_zeroed(header: &[u8], value_at: usize) -> u32 {
    let crc = crc32c_update(!0, &header[..value_at]);
    let crc = crc32c_update(crc, &[0; 4]);
    !crc32c_update(crc, &header[value_at + 4..])
}

/// The address block length a family/protocol byte needs, or `None` for
/// a byte the specification does not define.
fn address_len(family: u8) -> Option<usize> {
    match family {
        0x00 => Some(0),
        0x11 | 0x12 => Some(12),
        0x21 | 0x22 => Some(36),
        0x31 | 0x32 => Some(2 * UNIX_ADDRESS_LEN),
        _ => None,
    }
}

fn trim_nuls(field: &[u8]) -> Vec<u8> {
    let end = field.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
    field[..end].to_vec()
}

fn addresses(family: u8, block: &[u8]) -> ProxyAddresses {
    let transport = if family & 0x0F == 0x02 {
        IpTransport::Udp
    } else {
        IpTransport::Tcp
    };
    let port = |at: usize| u16::from_be_bytes([block[at], block[at + 1]]);
    match family >> 4 {
        1 => {
            let ip = |at: usize| Ipv4Addr::from(<[u8; 4]>::try_from(&block[at..at + 4]).expect("4 bytes"));
            ProxyAddresses::Ip {
                transport,
                source: SocketAddr::new(ip(0).into(), port(8)),
                destination: SocketAddr::new(ip(4).into(), port(10)),
            }
        }
        2 => {
            let ip = |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&block[at..at + 16]).expect("16 bytes"));
            ProxyAddresses::Ip {
                transport,
                source: SocketAddr::new(ip(0).into(), port(32)),
                destination: SocketAddr::new(ip(16).into(), port(34)),
            }
        }
        3 => ProxyAddresses::Unix {
            stream: family & 0x0F == 0x01,
            source: trim_nuls(&block[..UNIX_ADDRESS_LEN]),
            destination: trim_nuls(&block[UNIX_ADDRESS_LEN..2 * UNIX_ADDRESS_LEN]),
        },
        _ => ProxyAddresses::Unknown,
    }
}

/// Checks the registered TLVs and the checksum; `tlv_start` is where the
/// TLVs begin in `header`. One checksum per header: a second `CRC32C` TLV
/// is refused, as each would cost a pass over the whole header (thousands
/// of them fit in a large one).
fn check_tlvs(header: &[u8], tlv_start: usize, tlvs: &[Tlv]) -> Result<(), ProxyHeaderError> {
    let mut at = tlv_start;
    let mut checked = false;
    for item in tlvs {
        match item.kind {
            tlv::CRC32C => {
                let expected: [u8; 4] = item
                    .value
                    .as_slice()
                    .try_into()
                    .map_err(|_| ProxyHeaderError::V2BadTlv("CRC32C value is not 4 bytes"))?;
                if std::mem::replace(&mut checked, true) {
                    return Err(ProxyHeaderError::V2BadTlv("more than one CRC32C TLV"));
                }
                if crc32c_zeroed(header, at + 3) != u32::from_be_bytes(expected) {
                    return Err(ProxyHeaderError::ChecksumMismatch);
                }
            }
            tlv::SSL if parse_ssl(&item.value).is_none() => {
                return Err(ProxyHeaderError::V2BadTlv("SSL value is truncated"));
            }
            tlv::UNIQUE_ID if item.value.len() > 128 => {
                return Err(ProxyHeaderError::V2BadTlv("UNIQUE_ID is longer than 128 bytes"));
            }
            _ => {}
        }
        at += 3 + item.value.len();
    }
    Ok(())
}

/// Parses a complete version 2 header (the 16-byte prefix and exactly the
/// number of bytes its length field gives).
pub fn parse_v2(header: &[u8]) -> Result<ProxyHeader, ProxyHeaderError> {
    if header.len() < V2_FIXED_LEN || header[..12] != V2_SIGNATURE {
        return Err(ProxyHeaderError::NotProxyProtocol);
    }
    let version = header[12] >> 4;
    if version != 2 {
        return Err(ProxyHeaderError::V2BadVersion(version));
    }
    let command = match header[12] & 0x0F {
        0 => Command::Local,
        1 => Command::Proxy,
        other => return Err(ProxyHeaderError::V2BadCommand(other)),
    };
    let family = header[13];
    let needed = address_len(family).ok_or(ProxyHeaderError::V2BadFamily(family))?;
    let length = usize::from(u16::from_be_bytes([header[14], header[15]]));
    let payload = &header[V2_FIXED_LEN..];
    if payload.len() != length {
        return Err(ProxyHeaderError::V2AddressTooShort { family, length });
    }
    if payload.len() < needed {
        if command == Command::Local {
            // LOCAL ignores the family; what is there is skipped.
            return Ok(ProxyHeader::local(Version::V2));
        }
        return Err(ProxyHeaderError::V2AddressTooShort { family, length });
    }
    let rest = &payload[needed..];
    let tlvs = match split_tlvs(rest) {
        Some(tlvs) => {
            check_tlvs(header, V2_FIXED_LEN + needed, &tlvs)?;
            tlvs
        }
        // AF_UNSPEC: what follows may be address information of an
        // unknown shape, to be ignored.
        None if family == 0x00 => Vec::new(),
        None => {
            return Err(ProxyHeaderError::V2BadTlv(
                "a TLV runs past the end of the header",
            ));
        }
    };
    let addresses = match command {
        Command::Local => ProxyAddresses::Unknown,
        Command::Proxy => addresses(family, &payload[..needed]),
    };
    Ok(ProxyHeader {
        version: Version::V2,
        command,
        addresses,
        tlvs,
    })
}

fn unix_field(out: &mut Vec<u8>, name: &[u8]) -> Result<(), EncodeError> {
    if name.len() > UNIX_ADDRESS_LEN {
        return Err(EncodeError::UnixAddressTooLong);
    }
    out.extend_from_slice(name);
    out.resize(out.len() + UNIX_ADDRESS_LEN - name.len(), 0);
    Ok(())
}

/// Writes `header` in the binary format. A `CRC32C` TLV in the list gets
/// the checksum of the written header as its value.
pub fn encode_v2(header: &ProxyHeader) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&V2_SIGNATURE);
    out.push(match header.command {
        Command::Local => 0x20,
        Command::Proxy => 0x21,
    });
    out.extend_from_slice(&[0, 0, 0]); // family and length, filled in below
    let family = match (&header.command, &header.addresses) {
        (Command::Local, _) | (_, ProxyAddresses::Unknown) => 0x00,
        (
            _,
            ProxyAddresses::Ip {
                transport,
                source,
                destination,
            },
        ) => {
            let protocol = if *transport == IpTransport::Udp {
                0x02
            } else {
                0x01
            };
            match (source, destination) {
                (SocketAddr::V4(s), SocketAddr::V4(d)) => {
                    out.extend_from_slice(&s.ip().octets());
                    out.extend_from_slice(&d.ip().octets());
                    out.extend_from_slice(&s.port().to_be_bytes());
                    out.extend_from_slice(&d.port().to_be_bytes());
                    0x10 | protocol
                }
                (SocketAddr::V6(s), SocketAddr::V6(d)) => {
                    out.extend_from_slice(&s.ip().octets());
                    out.extend_from_slice(&d.ip().octets());
                    out.extend_from_slice(&s.port().to_be_bytes());
                    out.extend_from_slice(&d.port().to_be_bytes());
                    0x20 | protocol
                }
                _ => return Err(EncodeError::MixedFamilies),
            }
        }
        (
            _,
            ProxyAddresses::Unix {
                stream,
                source,
                destination,
            },
        ) => {
            unix_field(&mut out, source)?;
            unix_field(&mut out, destination)?;
            if *stream { 0x31 } else { 0x32 }
        }
    };
    out[13] = family;
    let mut checksum_at = None;
    for item in &header.tlvs {
        let len = u16::try_from(item.value.len()).map_err(|_| EncodeError::TooLong)?;
        out.push(item.kind);
        out.extend_from_slice(&len.to_be_bytes());
        if item.kind == tlv::CRC32C && len == 4 && checksum_at.is_none() {
            checksum_at = Some(out.len());
            out.extend_from_slice(&[0; 4]);
        } else {
            out.extend_from_slice(&item.value);
        }
    }
    let length = u16::try_from(out.len() - V2_FIXED_LEN).map_err(|_| EncodeError::TooLong)?;
    out[14..16].copy_from_slice(&length.to_be_bytes());
    if let Some(at) = checksum_at {
        let crc = crc32c(&out);
        out[at..at + 4].copy_from_slice(&crc.to_be_bytes());
    }
    Ok(out)
}
