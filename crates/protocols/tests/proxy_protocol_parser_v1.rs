//! The PROXY header parser, version 1, against golden vectors written from
//! HAProxy's `proxy-protocol.txt` (the example and the maximum-length
//! lines of section 2.1), each fed at every chunk size with data after the
//! header; malformed lines; sticky errors; and the serializer round trip.

mod proxy_protocol_support;

use std::net::SocketAddr;

use gyre_core::address::{Address, IpTransport};
use gyre_protocols::proxy_protocol::{
    Command, EncodeError, HeaderParser, ProxyAddresses, ProxyHeader, ProxyHeaderError, Step, Tlv, Version,
    encode_v1, tlv,
};
use proxy_protocol_support::*;

#[test]
fn v1_spec_example_before_an_http_request() {
    let header = parse_with_data(b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", HTTP);
    assert_eq!(header.version, Version::V1);
    assert_eq!(header.command, Command::Proxy);
    assert_eq!(header.addresses, ip("192.168.0.1:56324", "192.168.0.11:443"));
    assert_eq!(
        header.source(),
        Some(Address::tcp("192.168.0.1:56324".parse().unwrap()))
    );
    assert_eq!(
        header.destination(),
        Some(Address::tcp("192.168.0.11:443".parse().unwrap()))
    );
    assert!(header.tlvs.is_empty());
}

#[test]
fn v1_longest_lines_of_the_spec() {
    // 56 bytes: the longest TCP/IPv4 line.
    let v4 = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
    assert_eq!(v4.len(), 56);
    let header = parse_with_data(v4, b"x");
    assert_eq!(
        header.addresses,
        ip("255.255.255.255:65535", "255.255.255.255:65535")
    );
    // 104 bytes: the longest TCP/IPv6 line.
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let v6 = format!("PROXY TCP6 {full} {full} 65535 65535\r\n");
    assert_eq!(v6.len(), 104);
    let header = parse_with_data(v6.as_bytes(), b"");
    let expected = format!("[{full}]:65535");
    assert_eq!(header.addresses, ip(&expected, &expected));
    // 15 bytes: UNKNOWN, short form; 107: UNKNOWN with every optional field.
    let header = parse_with_data(b"PROXY UNKNOWN\r\n", HTTP);
    assert_eq!((header.command, header.source()), (Command::Local, None));
    let worst = format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n");
    assert_eq!(worst.len(), 107);
    assert_eq!(
        parse_with_data(worst.as_bytes(), HTTP).addresses,
        ProxyAddresses::Unknown
    );
    // One byte more and there is no CRLF in the first 107.
    let too_long = format!("PROXY UNKNOWN {full} {full} 65535 655350\r\n");
    assert_eq!(rejected(too_long.as_bytes()), ProxyHeaderError::V1TooLong);
}

#[test]
fn v1_compressed_ipv6_and_port_zero() {
    let header = parse_with_data(b"PROXY TCP6 2001:db8::1 ::1 0 8080\r\n", b"hi");
    assert_eq!(header.addresses, ip("[2001:db8::1]:0", "[::1]:8080"));
}

#[test]
fn v1_malformed_lines_are_rejected_with_the_reason() {
    let cases: &[(&[u8], ProxyHeaderError)] = &[
        (b"GET / HTTP/1.1\r\n", ProxyHeaderError::NotProxyProtocol),
        (
            b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            ProxyHeaderError::NotProxyProtocol,
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
            ProxyHeaderError::V1BadLineEnding,
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
            ProxyHeaderError::V1BadLineEnding,
        ),
        (
            b"PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n",
            ProxyHeaderError::V1BadLineEnding,
        ),
    ];
    for (input, error) in cases {
        assert_eq!(&rejected(input), error, "{}", input.escape_ascii());
    }
    for line in [
        &b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"[..],
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
        b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
        b"PROXY TCP4 ::1 ::1 1 2\r\n",
        b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY UNKNOWNX\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.\xff 1 2\r\n",
        b"PROXY \r\n",
    ] {
        assert!(
            matches!(rejected(line), ProxyHeaderError::V1Malformed(_)),
            "{} was accepted",
            line.escape_ascii()
        );
    }
}

#[test]
fn errors_are_sticky_and_data_after_the_header_passes_through() {
    let mut parser = HeaderParser::new();
    assert!(parser.feed(b"XPROXY").is_err());
    assert_eq!(
        parser.feed(b"PROXY UNKNOWN\r\n").unwrap_err(),
        ProxyHeaderError::NotProxyProtocol
    );
    let mut parser = HeaderParser::new();
    assert!(matches!(
        parser.feed(b"PROXY UNKNOWN\r\nhello").unwrap(),
        Step::Header { consumed: 15, .. }
    ));
    assert!(parser.is_done());
    assert_eq!(parser.feed(b"more").unwrap(), Step::AfterHeader);
}

#[test]
fn the_serializer_writes_what_the_parser_reads() {
    let v4 = ProxyHeader::tcp(
        Version::V1,
        "192.168.0.1:56324".parse().unwrap(),
        "192.168.0.11:443".parse().unwrap(),
    );
    assert_eq!(
        encode_v1(&v4).unwrap(),
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
    );
    let v6 = ProxyHeader::tcp(
        Version::V1,
        "[2001:db8::1]:1".parse().unwrap(),
        "[::ffff:192.0.2.1]:2".parse().unwrap(),
    );
    let line = v6.encode().unwrap();
    assert_eq!(line, b"PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 1 2\r\n");
    assert_eq!(parse_with_data(&line, b""), v6);
    assert_eq!(
        ProxyHeader::local(Version::V1).encode().unwrap(),
        b"PROXY UNKNOWN\r\n"
    );
    assert_eq!(
        ProxyHeader::local(Version::V2).encode().unwrap(),
        v2(0x20, 0x00, &[])
    );

    let mut with_tlv = v4.clone();
    with_tlv.tlvs.push(Tlv::new(tlv::ALPN, "h2"));
    assert_eq!(encode_v1(&with_tlv), Err(EncodeError::NotInV1("TLVs")));
    with_tlv.version = Version::V2;
    assert_eq!(parse_with_data(&with_tlv.encode().unwrap(), b""), with_tlv);
    let mixed = ProxyHeader::tcp(
        Version::V2,
        "1.2.3.4:1".parse().unwrap(),
        "[::1]:2".parse().unwrap(),
    );
    assert_eq!(mixed.encode(), Err(EncodeError::MixedFamilies));
    let unix = ProxyHeader {
        version: Version::V2,
        command: Command::Proxy,
        addresses: ProxyAddresses::Unix {
            stream: false,
            source: vec![b'a'; 109],
            destination: Vec::new(),
        },
        tlvs: Vec::new(),
    };
    assert_eq!(unix.encode(), Err(EncodeError::UnixAddressTooLong));
    let source: SocketAddr = "10.1.1.1:9".parse().unwrap();
    let udp = ProxyHeader {
        addresses: ProxyAddresses::Ip {
            transport: IpTransport::Udp,
            source,
            destination: source,
        },
        ..ProxyHeader::tcp(Version::V1, source, source)
    };
    assert_eq!(udp.encode(), Err(EncodeError::NotInV1("UDP")));
}
