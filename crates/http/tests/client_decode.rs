//! Content decoding in memory: gzip and deflate (zlib and raw) streamed in
//! small pieces, Accept-Encoding sent, unknown codings passed through,
//! truncated streams refused, and a zip bomb cut off at the limit.

mod client_support;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use client_support::{Act, MemNet, Scripted};
use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use gyre_http::client::{Agent, ClientError, ContentDecoder, HttpClient, RequestBody, RequestUrl, Response};
use gyre_http::{HeaderMap, Method};
use gyre_testing::{ManualClock, failure_result_of, success_result_of};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A chunked response with `coding`, its body sent in 7-byte chunks.
fn encoded_response(coding: &str, body: &[u8]) -> Act {
    chunked_response(coding, body, 7)
}

/// A chunked response with `coding`, its body sent in chunks of `size`.
fn chunked_response(coding: &str, body: &[u8], size: usize) -> Act {
    let mut out =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    for chunk in body.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    Act::Answer(out)
}

fn fetch(
    act: Act,
    limit: u64,
) -> (
    Rc<MemNet>,
    Rc<RefCell<Vec<String>>>,
    gyre_core::Deferred<Response>,
) {
    let clock = ManualClock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let server_log = log.clone();
    let net = MemNet::new(move |_| Box::new(Scripted::new([act.clone()], server_log.clone())));
    let agent = ContentDecoder::new(Agent::builder(Rc::new(clock), net.clone()).build()).limit(limit);
    let url = RequestUrl::parse("http://h/").unwrap();
    let response = agent.request(Method::GET, &url, HeaderMap::new(), RequestBody::empty());
    net.pump();
    (net, log, response)
}

fn read(
    net: &MemNet,
    response: gyre_core::Deferred<Response>,
) -> Result<(Response, Vec<u8>), gyre_core::Failure> {
    let mut response = success_result_of(response);
    let body = std::mem::replace(&mut response.body, empty_body());
    let data = body.read_all(usize::MAX);
    drop(body);
    net.pump();
    let result = match data.state() {
        gyre_core::deferred::DeferredState::Failed => Err(failure_result_of(data)),
        _ => Ok(success_result_of(data)),
    };
    result.map(|data| (response, data))
}

/// A finished body to swap in while the real one is read.
fn empty_body() -> gyre_http::client::ResponseBody {
    let clock = ManualClock::new();
    let net = MemNet::new(|_| Box::new(Scripted::new([client_support::ok("")], Rc::default())));
    let agent = Agent::builder(Rc::new(clock), net.clone()).build();
    let response = agent.request_str(Method::GET, "http://e/", HeaderMap::new(), RequestBody::empty());
    net.pump();
    success_result_of(response).body
}

#[test]
fn gzip_and_deflate_bodies_are_decoded_as_they_stream() {
    let text = "the quick brown fox jumps over the lazy dog\n".repeat(200);
    for (coding, encoded) in [
        ("gzip", gzip(text.as_bytes())),
        ("x-gzip", gzip(text.as_bytes())),
        ("deflate", zlib(text.as_bytes())),
        ("deflate", raw_deflate(text.as_bytes())),
    ] {
        let (net, log, response) = fetch(encoded_response(coding, &encoded), 1 << 20);
        let (response, data) = read(&net, response).unwrap();
        assert_eq!(data, text.as_bytes(), "{coding}");
        assert!(!response.headers.contains("content-encoding"));
        assert!(log.borrow()[0].contains("Accept-Encoding: gzip, deflate\r\n"));
    }
}

#[test]
fn deflate_is_told_zlib_from_raw_whatever_the_chunk_sizes() {
    let text = "the quick brown fox jumps over the lazy dog\n".repeat(20);
    for encoded in [zlib(text.as_bytes()), raw_deflate(text.as_bytes())] {
        for size in [1, 2, 3] {
            let (net, _, response) = fetch(chunked_response("deflate", &encoded, size), 1 << 20);
            let (_, data) = read(&net, response).unwrap();
            assert_eq!(data, text.as_bytes(), "chunks of {size}");
        }
    }
}

#[test]
fn unknown_codings_pass_through() {
    let (net, _, response) = fetch(encoded_response("br", b"not decoded"), 1 << 20);
    let (response, data) = read(&net, response).unwrap();
    assert_eq!(data, b"not decoded");
    assert_eq!(response.headers.get_str("content-encoding"), Some("br"));
}

#[test]
fn truncated_or_corrupt_streams_fail() {
    let mut truncated = gzip(&[7; 5000]);
    truncated.truncate(truncated.len() - 10);
    let mut corrupt = gzip(b"hello hello hello");
    corrupt[12] ^= 0xff;
    for body in [truncated, corrupt, b"not gzip at all".to_vec()] {
        let (net, _, response) = fetch(encoded_response("gzip", &body), 1 << 20);
        let failure = read(&net, response).unwrap_err();
        assert!(
            matches!(
                failure.downcast_ref::<ClientError>(),
                Some(ClientError::Decoding(_))
            ),
            "{failure}"
        );
    }
}

#[test]
fn a_zip_bomb_is_cut_off_at_the_limit() {
    let bomb = gzip(&vec![0; 16 << 20]);
    assert!(bomb.len() < 20_000, "{} compressed bytes", bomb.len());
    let (net, _, response) = fetch(encoded_response("gzip", &bomb), 1 << 20);
    let failure = read(&net, response).unwrap_err();
    assert_eq!(
        failure.downcast_ref::<ClientError>(),
        Some(&ClientError::DecodedTooLarge { limit: 1 << 20 })
    );
}
