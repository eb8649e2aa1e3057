//! The PROXY header parser, version 2, against golden vectors written from
//! the layouts of section 2.2 of HAProxy's `proxy-protocol.txt` (TCP4,
//! TCP6, UDP, UNIX, LOCAL, every registered TLV, the CRC32c checksum),
//! each fed at every chunk size with data after the header; malformed and
//! oversized headers.

mod proxy_protocol_support;

use gyre_core::address::{Address, UnixAddress};
use gyre_protocols::proxy_protocol::{
    Command, HeaderParser, ProxyAddresses, ProxyHeader, ProxyHeaderError, Step, Tlv, Version, crc32c,
    encode_v2, parse_v2, tlv,
};
use proxy_protocol_support::*;

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

    // Each checksum costs a pass over the header: a second one is refused
    // (the first, filled in by the encoder, is valid).
    header.tlvs.push(Tlv::new(tlv::CRC32C, [0; 4]));
    let twice = encode_v2(&header).unwrap();
    assert_eq!(
        rejected(&twice),
        ProxyHeaderError::V2BadTlv("more than one CRC32C TLV")
    );
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
