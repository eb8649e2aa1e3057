//! Feeds the version 2 signature followed by arbitrary bytes to the PROXY
//! header parser, whole and in small chunks: it must never panic, chunking must not change
//! the outcome, and a header that parses must be written back by the
//! serializer to bytes that parse to the same header. The stable-Rust smoke
//! version is `crates/protocols/tests/fuzz_smoke_proxy_protocol.rs`.
#![no_main]

use gyre_protocols::proxy_protocol::{HeaderParser, ProxyHeader, Step, V2_SIGNATURE, parse_v2, tlv};
use libfuzzer_sys::fuzz_target;

fn parse(input: &[u8], chunk: usize) -> Result<Option<(ProxyHeader, usize)>, String> {
    let mut parser = HeaderParser::new();
    let mut offset = 0;
    for piece in input.chunks(chunk.max(1)) {
        match parser.feed(piece).map_err(|e| e.to_string())? {
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

fuzz_target!(|data: &[u8]| {
    let input = [&V2_SIGNATURE[..], data].concat();
    let _ = parse_v2(&input);
    let whole = parse(&input, input.len());
    let chunk = 1 + usize::from(data.first().copied().unwrap_or(0) % 8);
    assert_eq!(whole, parse(&input, chunk));
    if let Ok(Some((header, consumed))) = whole {
        assert!(consumed <= 4096);
        let encoded = header.encode().expect("a parsed header can be written");
        let (again, used) = parse(&encoded, encoded.len()).unwrap().unwrap();
        assert_eq!(used, encoded.len());
        assert_eq!(without_checksum(again.clone()), without_checksum(header));
        assert_eq!(again.encode().unwrap(), encoded);
    }
});
