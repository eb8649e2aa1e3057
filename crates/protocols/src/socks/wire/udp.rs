//! The header a SOCKS5 client puts before each datagram it sends through a
//! UDP association, and the relay before each it sends back (RFC 1928
//! section 7).
//!
//! ```text
//! RSV(2)=0 | FRAG | ATYP | DST.ADDR | DST.PORT | DATA…
//! ```
//!
//! A datagram arrives whole, so unlike the stream messages the parser
//! needs no "incomplete" answer: too short is an error.

use super::{Reader, TargetAddr, WireError, encode_socks5_address};

/// The header of one relayed datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpHeader {
    /// The fragment number; 0 for a standalone datagram. gyre drops
    /// fragments (any other value), as the RFC allows a relay to.
    pub frag: u8,
    /// Where the datagram goes (from the client) or came from (to the client).
    pub target: TargetAddr,
}

/// Splits a datagram into its header and payload. The reserved bytes are
/// ignored.
pub fn parse_datagram(datagram: &[u8]) -> Result<(UdpHeader, &[u8]), WireError> {
    let mut reader = Reader::new(datagram);
    let truncated = WireError::TruncatedDatagram;
    reader.take(2).ok_or(truncated.clone())?;
    let frag = reader.u8().ok_or(truncated.clone())?;
    let target = reader.socks5_address()?.ok_or(truncated)?;
    Ok((UdpHeader { frag, target }, reader.rest()))
}

/// Writes a header; the payload follows it.
pub fn encode_header(header: &UdpHeader, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 0, header.frag]);
    encode_socks5_address(&header.target, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_short_datagrams_are_refused() {
        let header = UdpHeader {
            frag: 0,
            target: TargetAddr::domain("dns.example", 53).unwrap(),
        };
        let mut datagram = Vec::new();
        encode_header(&header, &mut datagram);
        datagram.extend_from_slice(b"query");
        let (parsed, payload) = parse_datagram(&datagram).unwrap();
        assert_eq!((parsed, payload), (header, &b"query"[..]));
        for cut in 0..datagram.len() - 5 {
            assert_eq!(
                parse_datagram(&datagram[..cut]),
                Err(WireError::TruncatedDatagram)
            );
        }
        assert_eq!(parse_datagram(&[0, 0, 0, 7, 1]), Err(WireError::AddressType(7)));
    }
}
