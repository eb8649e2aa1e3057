//! The stable-Rust stand-in for the `proxy_protocol_v1` and
//! `proxy_protocol_v2` fuzz targets (`fuzz/`): tens of thousands of seeded
//! mutations of valid headers and random header pieces through the PROXY
//! header parser, whole and in small chunks. Nothing may panic, chunking
//! must not change the outcome, the parser must never consume more than
//! its limits allow, and whatever parses must be written back by the
//! serializer to bytes that parse to the same header. The checks are the
//! targets' own (`proxy_protocol_support/fuzz_checks.rs`).

#[path = "proxy_protocol_support/fuzz_checks.rs"]
mod fuzz_checks;

use fuzz_checks::check;
use gyre_protocols::proxy_protocol::{ProxyHeader, Tlv, V2_SIGNATURE, Version, tlv};
use gyre_testing::fuzz_smoke::run_smoke;

fn v2_seeds() -> Vec<Vec<u8>> {
    let tcp4 = ProxyHeader::tcp(
        Version::V2,
        "192.168.0.1:56324".parse().unwrap(),
        "192.168.0.11:443".parse().unwrap(),
    );
    let mut tlvs = ProxyHeader::tcp(
        Version::V2,
        "[2001:db8::1]:1".parse().unwrap(),
        "[::1]:2".parse().unwrap(),
    );
    tlvs.tlvs = vec![
        Tlv::new(tlv::ALPN, "h2"),
        Tlv::new(tlv::AUTHORITY, "example.com"),
        Tlv::new(
            tlv::SSL,
            [&[1u8, 0, 0, 0, 0][..], &[tlv::SSL_VERSION, 0, 7], b"TLSv1.3"].concat(),
        ),
        Tlv::new(tlv::UNIQUE_ID, "id"),
    ];
    let mut checked = tcp4.clone();
    checked.tlvs = vec![Tlv::new(tlv::CRC32C, [0; 4]), Tlv::new(tlv::NOOP, [0; 3])];
    let mut unix = vec![0u8; 216];
    unix[..5].copy_from_slice(b"/tmp/");
    let mut unix_header = V2_SIGNATURE.to_vec();
    unix_header.extend_from_slice(&[0x21, 0x31, 0, 216]);
    unix_header.extend_from_slice(&unix);
    vec![
        tcp4.encode().unwrap(),
        [tlvs.encode().unwrap(), b"GET / HTTP/1.1\r\n".to_vec()].concat(),
        checked.encode().unwrap(),
        ProxyHeader::local(Version::V2).encode().unwrap(),
        unix_header,
    ]
}

#[test]
fn proxy_v1_smoke() {
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let worst = format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n");
    let seeds: Vec<&[u8]> = vec![
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n",
        b"PROXY TCP6 2001:db8::1 ::1 0 8080\r\n",
        b"PROXY UNKNOWN\r\n",
        worst.as_bytes(),
    ];
    let pieces: &[&[u8]] = &[
        b"PROXY ", b"TCP4 ", b"TCP6 ", b"UNKNOWN", b" ", b"\r\n", b"\r", b"\n", b"1.2.3.4", b"::1", b"255",
        b"0", b"65535", b"65536", b"01", b":", b".", b"\0", b"\xff",
    ];
    let mut parsed = 0;
    run_smoke(0x5052_4f58_5931, 20_000, &seeds, pieces, |input| {
        parsed += usize::from(check(input));
        // As the v1 fuzz target does: the prefix forced.
        check(&[&b"PROXY "[..], input].concat());
    });
    assert!(parsed > 1_000, "the mutations reach valid headers too: {parsed}");
}

#[test]
fn proxy_v2_smoke() {
    let seeds = v2_seeds();
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let pieces: &[&[u8]] = &[
        &V2_SIGNATURE,
        &[0x21],
        &[0x20],
        &[0x11],
        &[0x21],
        &[0x31],
        &[0x00],
        &[0, 12],
        &[0, 36],
        &[0xff, 0xff],
        &[0, 0],
        &[tlv::CRC32C, 0, 4],
        &[tlv::SSL, 0, 5, 1, 0, 0, 0, 0],
        &[tlv::ALPN, 0, 2, b'h', b'2'],
        &[0; 12],
        &[0; 4],
    ];
    let mut parsed = 0;
    run_smoke(0x5052_4f58_5932, 20_000, &seeds, pieces, |input| {
        parsed += usize::from(check(input));
        check(&[&V2_SIGNATURE[..], input].concat());
    });
    assert!(parsed > 1_000, "the mutations reach valid headers too: {parsed}");
}
