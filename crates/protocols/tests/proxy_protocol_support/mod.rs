//! Shared helpers for the PROXY header parser tests: feeding input at
//! every chunk size and building version 2 headers byte by byte.
#![allow(dead_code)] // each test file uses a different part

use gyre_core::address::IpTransport;
use gyre_protocols::proxy_protocol::{HeaderParser, ProxyAddresses, ProxyHeader, ProxyHeaderError, Step};
use gyre_testing::assert_chunking_invariant;

pub type Outcome = Result<Option<(ProxyHeader, Vec<u8>)>, ProxyHeaderError>;

/// Feeds `chunks` to a fresh parser: the header and the data after it.
pub fn parse_chunks(chunks: &mut dyn Iterator<Item = &[u8]>) -> Outcome {
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
pub fn parse_with_data(header: &[u8], data: &[u8]) -> ProxyHeader {
    let input = [header, data].concat();
    let (parsed, rest) = assert_chunking_invariant(&input, parse_chunks)
        .expect("a valid header")
        .expect("a complete header");
    assert_eq!(rest, data, "the data after the header, in order");
    parsed
}

/// The error `input` gives at every chunk size.
#[track_caller]
pub fn rejected(input: &[u8]) -> ProxyHeaderError {
    assert_chunking_invariant(input, parse_chunks).expect_err("rejected")
}

pub fn ip(source: &str, destination: &str) -> ProxyAddresses {
    ProxyAddresses::Ip {
        transport: IpTransport::Tcp,
        source: source.parse().unwrap(),
        destination: destination.parse().unwrap(),
    }
}

pub const HTTP: &[u8] = b"GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";

/// A v2 header: signature, version/command, family, length, body.
pub fn v2(version_command: u8, family: u8, body: &[u8]) -> Vec<u8> {
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.push(version_command);
    out.push(family);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

pub fn tlv_bytes(kind: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out
}
