//! The PROXY header parser against golden vectors written from HAProxy's
//! `proxy-protocol.txt` (the v1 examples and maximum-length lines of
//! section 2.1, the v2 layouts of section 2.2 and its TLVs), each fed at
//! every chunk size with data after the header; malformed and oversized
//! headers; and the serializer round trip.

use std::net::SocketAddr;

use gyre_core::address::{Address, IpTransport, UnixAddress};
use gyre_protocols::proxy_protocol::{
    Command, EncodeError, HeaderParser, ProxyAddresses, ProxyHeader, ProxyHeaderError, Step, Tlv, Version,
    crc32c, encode_v1, encode_v2, parse_v2, tlv,
};
use gyre_testing::assert_chunking_invariant;

type Outcome = Result<Option<(ProxyHeader, Vec<u8>)>, ProxyHeaderError>;

/// Feeds `chunks` to a fresh parser: the header and the data after it.
fn parse_chunks(chunks: &mut dyn Iterator<Item = &[u8]>) -> Outcome {
    let mut parser = HeaderParser::new();
    let mut header = None;
    let mut rest = Vec::new();
    for chunk in chunks {
        match parser.feed(chunk)? {
            Step::NeedMore => {}
            Step::Header { header: h, consumed } => {
                header = Some(h);
                rest.extend_from_slice(&chunk[consumed..]);
            }
            Step::AfterHeader => rest.extend_from_slice(chunk),
        }
    }
    Ok(header.map(|h| (h, rest)))
}

/// Parses `input` at every chunk size; it must be a complete header
/// followed by `data`.
#[track_caller]
fn parse_with_data(header: &[u8], data: &[u8]) -> ProxyHeader {
    let input = [header, data].concat();
    let (parsed, rest) = assert_chunking_invariant(&input, parse_chunks)
        .expect("a valid header")
        .expect("a complete header");
    assert_eq!(rest, data, "the data after the header, in order");
    parsed
}

/// The error `input` gives at every chunk size.
#[track_caller]
fn rejected(input: &[u8]) -> ProxyHeaderError {
    assert_chunking_invariant(input, parse_chunks).expect_err("rejected")
}

fn ip(source: &str, destination: &str) -> ProxyAddresses {
    ProxyAddresses::Ip {
        transport: IpTransport::Tcp,
        source: source.parse().unwrap(),
        destination: destination.parse().unwrap(),
    }
}

const HTTP: &[u8] = b"GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";

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

/// A v2 header: signature, version/command, family, length, body.
fn v2(version_command: u8, family: u8, body: &[u8]) -> Vec<u8> {
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.push(version_command);
    out.push(family);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn v2_tcp4_written_out_byte_by_byte() {
    // The section 2.2 layout for 192.168.0.1:56324 -> 192.168.0.11:443.
    let bytes = [
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, // signature
        0x21, // version 2, PROXY
        0x11, // TCP over IPv4
        0x00, 0x0c, // 12 bytes of addresses
        0xc0, 0xa8, 0x00, 0x01, // 192.168.0.1
        0xc0, 0xa8, 0x00, 0x0b, // 192.168.0.11
        0xdc, 0x04, // 56324
        0x01, 0xbb, // 443
    ];
    let header = parse_with_data(&bytes, HTTP);
    assert_eq!(header.version, Version::V2);
    assert_eq!(header.addresses, ip("192.168.0.1:56324", "192.168.0.11:443"));
    assert_eq!(
        encode_v2(&header).unwrap(),
        bytes,
        "the serializer writes the same bytes"
    );
}

#[test]
fn v2_tcp6_udp_unix_and_local() {
    let mut body = Vec::new();
    body.extend_from_slice(&"2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    body.extend_from_slice(&"2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
    body.extend_from_slice(&[0x30, 0x39, 0x00, 0x50]);
    let tcp6 = v2(0x21, 0x21, &body);
    assert_eq!(
        parse_with_data(&tcp6, b"data").addresses,
        ip("[2001:db8::1]:12345", "[2001:db8::2]:80")
    );

    let udp4 = v2(0x21, 0x12, &[10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53]);
    let header = parse_with_data(&udp4, b"");
    assert_eq!(
        header.source(),
        Some(Address::udp("10.0.0.1:53".parse().unwrap()))
    );
    assert_eq!(encode_v2(&header).unwrap(), udp4);

    let mut unix = vec![0u8; 216];
    unix[..11].copy_from_slice(b"/tmp/client");
    unix[109..117].copy_from_slice(b"abstract"); // leading NUL: Linux abstract name
    let header = parse_with_data(&v2(0x21, 0x31, &unix), b"after");
    assert_eq!(header.source(), Some(Address::unix_path("/tmp/client")));
    assert_eq!(
        header.destination(),
        Some(Address::Unix(UnixAddress::Abstract(b"abstract".to_vec())))
    );
    assert!(matches!(
        header.addresses,
        ProxyAddresses::Unix { stream: true, .. }
    ));

    // LOCAL (a health check): the family and addresses are ignored.
    let local = parse_with_data(&v2(0x20, 0x00, &[]), b"");
    assert_eq!((local.command, local.source()), (Command::Local, None));
    let local_with_family = parse_with_data(&v2(0x20, 0x11, &[]), b"");
    assert_eq!(local_with_family.addresses, ProxyAddresses::Unknown);
    // PROXY over AF_UNSPEC: no addresses, the real ones are used.
    assert_eq!(
        parse_with_data(&v2(0x21, 0x00, &[]), b"x").addresses,
        ProxyAddresses::Unknown
    );
}

fn tlv_bytes(kind: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out
}

#[test]
fn v2_tlvs_are_parsed_and_exposed() {
    let mut ssl = vec![0x01 | 0x02, 0, 0, 0, 0]; // TLS, certificate on this connection, verified
    ssl.extend(tlv_bytes(tlv::SSL_VERSION, b"TLSv1.3"));
    ssl.extend(tlv_bytes(tlv::SSL_CN, b"client.example"));
    ssl.extend(tlv_bytes(tlv::SSL_CIPHER, b"TLS_AES_128_GCM_SHA256"));
    ssl.extend(tlv_bytes(tlv::SSL_SIG_ALG, b"RSA-SHA256"));
    ssl.extend(tlv_bytes(tlv::SSL_KEY_ALG, b"RSA2048"));
    let mut body = vec![127, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, 0x01, 0xbb];
    body.extend(tlv_bytes(tlv::ALPN, b"h2"));
    body.extend(tlv_bytes(tlv::AUTHORITY, b"example.com"));
    body.extend(tlv_bytes(tlv::NOOP, &[0, 0, 0]));
    body.extend(tlv_bytes(tlv::UNIQUE_ID, b"req-42"));
    body.extend(tlv_bytes(tlv::SSL, &ssl));
    body.extend(tlv_bytes(tlv::NETNS, b"blue"));
    body.extend(tlv_bytes(0xE0, b"custom"));
    let bytes = v2(0x21, 0x11, &body);
    let header = parse_with_data(&bytes, HTTP);
    assert_eq!(header.alpn(), Some(&b"h2"[..]));
    assert_eq!(header.authority(), Some("example.com"));
    assert_eq!(header.unique_id(), Some(&b"req-42"[..]));
    assert_eq!(header.netns(), Some("blue"));
    assert_eq!(header.tlv(0xE0), Some(&b"custom"[..]));
    let ssl = header.ssl().unwrap();
    assert!(ssl.is_tls() && ssl.client_certificate_verified());
    assert_eq!(ssl.version(), Some("TLSv1.3"));
    assert_eq!(ssl.common_name(), Some("client.example"));
    assert_eq!(ssl.cipher(), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(ssl.signature_algorithm(), Some("RSA-SHA256"));
    assert_eq!(ssl.key_algorithm(), Some("RSA2048"));
    assert_eq!(header.tlvs.len(), 7, "every TLV kept, in order");
    assert_eq!(encode_v2(&header).unwrap(), bytes);
}

#[test]
fn crc32c_is_castagnoli_and_checked_when_present() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283, "the standard check value");
    assert_eq!(crc32c(b""), 0);
    let mut header = ProxyHeader::tcp(
        Version::V2,
        "192.0.2.1:1000".parse().unwrap(),
        "192.0.2.2:443".parse().unwrap(),
    );
    header.tlvs.push(Tlv::new(tlv::CRC32C, [0; 4]));
    header.tlvs.push(Tlv::new(tlv::AUTHORITY, "example.net"));
    let bytes = encode_v2(&header).unwrap();
    let parsed = parse_with_data(&bytes, b"");
    let crc = parsed.tlv(tlv::CRC32C).unwrap();
    let mut zeroed = bytes.clone();
    zeroed[31..35].fill(0); // 16 + 12 address bytes + 3 TLV header bytes
    assert_eq!(
        crc,
        crc32c(&zeroed).to_be_bytes(),
        "big-endian, over the header with the field zeroed"
    );
    let mut corrupt = bytes.clone();
    *corrupt.last_mut().unwrap() ^= 1;
    assert_eq!(rejected(&corrupt), ProxyHeaderError::ChecksumMismatch);
}

#[test]
fn v2_malformed_headers_are_rejected_early_with_the_reason() {
    let tcp4 = [192, 0, 2, 1, 192, 0, 2, 2, 0, 1, 0, 2];
    let cases: Vec<(Vec<u8>, ProxyHeaderError)> = vec![
        (
            b"\r\n\r\n\0\r\nQUIX\n".to_vec(),
            ProxyHeaderError::NotProxyProtocol,
        ),
        (v2(0x11, 0x11, &tcp4), ProxyHeaderError::V2BadVersion(1)),
        (v2(0x22, 0x11, &tcp4), ProxyHeaderError::V2BadCommand(2)),
        (v2(0x21, 0x13, &tcp4), ProxyHeaderError::V2BadFamily(0x13)),
        (v2(0x21, 0x41, &tcp4), ProxyHeaderError::V2BadFamily(0x41)),
        (
            v2(0x21, 0x11, &tcp4[..8]),
            ProxyHeaderError::V2AddressTooShort {
                family: 0x11,
                length: 8,
            },
        ),
        (
            v2(0x21, 0x21, &tcp4),
            ProxyHeaderError::V2AddressTooShort {
                family: 0x21,
                length: 12,
            },
        ),
        (
            v2(0x21, 0x31, &[0; 100]),
            ProxyHeaderError::V2AddressTooShort {
                family: 0x31,
                length: 100,
            },
        ),
        (
            v2(0x21, 0x11, &[&tcp4[..], &[tlv::ALPN, 0, 5, b'h']].concat()),
            ProxyHeaderError::V2BadTlv("a TLV runs past the end of the header"),
        ),
        (
            v2(0x21, 0x11, &[&tcp4[..], &[tlv::ALPN, 0]].concat()),
            ProxyHeaderError::V2BadTlv("a TLV runs past the end of the header"),
        ),
        (
            v2(
                0x21,
                0x11,
                &[&tcp4[..], &tlv_bytes(tlv::SSL, &[1, 0, 0])].concat(),
            ),
            ProxyHeaderError::V2BadTlv("SSL value is truncated"),
        ),
        (
            v2(
                0x21,
                0x11,
                &[&tcp4[..], &tlv_bytes(tlv::CRC32C, &[1, 2])].concat(),
            ),
            ProxyHeaderError::V2BadTlv("CRC32C value is not 4 bytes"),
        ),
        (
            v2(
                0x21,
                0x11,
                &[&tcp4[..], &tlv_bytes(tlv::UNIQUE_ID, &[7; 129])].concat(),
            ),
            ProxyHeaderError::V2BadTlv("UNIQUE_ID is longer than 128 bytes"),
        ),
    ];
    for (input, error) in &cases {
        assert_eq!(&rejected(input), error, "{}", input.escape_ascii());
    }
}

#[test]
fn oversized_v2_headers_are_refused_at_their_length_field() {
    let mut huge = v2(0x21, 0x11, &[]);
    huge[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
    let mut parser = HeaderParser::new();
    for byte in &huge[..15] {
        assert_eq!(parser.feed(&[*byte]).unwrap(), Step::NeedMore);
    }
    assert_eq!(
        parser.feed(&huge[15..16]).unwrap_err(),
        ProxyHeaderError::V2TooLong {
            length: 16 + 65535,
            limit: 4096
        },
        "refused without waiting for (or buffering) the body"
    );
    // A raised limit accepts the same header.
    let mut body = vec![192, 0, 2, 1, 192, 0, 2, 2, 0, 1, 0, 2];
    body.extend(tlv_bytes(tlv::NOOP, &vec![0; 8000]));
    let bytes = v2(0x21, 0x11, &body);
    assert!(matches!(
        HeaderParser::new().feed(&bytes),
        Err(ProxyHeaderError::V2TooLong { .. })
    ));
    let mut big = HeaderParser::new().max_v2_header(16 * 1024);
    assert!(matches!(big.feed(&bytes).unwrap(), Step::Header { .. }));
    assert_eq!(parse_v2(&bytes).unwrap().tlvs.len(), 1);
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
