//! The checks of the PROXY header fuzz targets, shared by the cargo-fuzz
//! targets `fuzz/fuzz_targets/proxy_protocol_v{1,2}.rs` (which include this
//! file) and the stable smoke test `tests/fuzz_smoke_proxy_protocol.rs`.
//! Nothing may panic, chunking must not change the outcome, the parser must
//! never consume more than its limits allow, and whatever parses must be
//! written back by the serializer to bytes that parse to the same header.

use gyre_protocols::proxy_protocol::{
    HeaderParser, ProxyHeader, ProxyHeaderError, Step, Version, parse_v1, parse_v2, tlv,
};

/// Feeds `input` to a fresh parser in pieces of `chunk` bytes: the header
/// and how many bytes of `input` it took.
fn parse(input: &[u8], chunk: usize) -> Result<Option<(ProxyHeader, usize)>, ProxyHeaderError> {
    let mut parser = HeaderParser::new();
    let mut offset = 0;
    for piece in input.chunks(chunk.max(1)) {
        match parser.feed(piece)? {
            Step::NeedMore => {}
            Step::Header { header, consumed } => return Ok(Some((header, offset + consumed))),
            Step::AfterHeader => unreachable!("the header is returned once"),
        }
        offset += piece.len();
    }
    Ok(None)
}

fn without_checksum(mut header: ProxyHeader) -> ProxyHeader {
    header.tlvs.retain(|t| t.kind != tlv::CRC32C);
    header
}

/// The targets' assertions on `input`; returns whether a header parsed.
pub fn check(input: &[u8]) -> bool {
    let _ = parse_v1(input);
    let _ = parse_v2(input);
    let whole = parse(input, input.len());
    let chunk = 1 + usize::from(input.last().copied().unwrap_or(0) % 8);
    assert_eq!(whole, parse(input, chunk), "{}", input.escape_ascii());
    let Ok(Some((header, consumed))) = whole else {
        return false;
    };
    match header.version {
        Version::V1 => assert!(consumed <= 107),
        Version::V2 => assert!(consumed <= 4096),
    }
    let encoded = header.encode().expect("a parsed header can be written");
    let (again, used) = parse(&encoded, encoded.len()).unwrap().unwrap();
    assert_eq!(used, encoded.len());
    assert_eq!(without_checksum(again.clone()), without_checksum(header));
    assert_eq!(again.encode().unwrap(), encoded, "writing is canonical");
    true
}
