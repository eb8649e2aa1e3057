//! The stable-Rust stand-ins for the fuzz targets in `fuzz/`
//! (`http_request_head`, `http_response_head`, `http_chunked`,
//! `http_server`): thousands of seeded mutated and random inputs. Nothing
//! may panic; parsed heads round-trip through their written form; chunked
//! decoding is the same whole and split; the server machine answers every
//! refused input with at most one response.

use gyre_http::body::{BodyDecoder, BodyFraming, BodyLimits, Decoded};
use gyre_http::proto::{ServerConfig, ServerConnection, ServerEvent};
use gyre_http::wire::{HeadLimits, parse_request, parse_response};
use gyre_http::{HeaderMap, ResponseHead, StatusCode};
use gyre_testing::fuzz_smoke::run_smoke;

const REQUESTS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST /x?y HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    b"PUT http://h/p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
    b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
    b"OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\n",
];

const RESPONSES: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 404 Not Here\r\nX: y\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\n\r\n",
];

const CHUNKED: &[&[u8]] = &[
    b"5\r\nhello\r\n0\r\n\r\n",
    b"3;a=b\r\nabc\r\n00\r\nX: 1\r\nY: 2\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"1\r\na\r\n1 \r\nb\r\n0\r\n\r\n",
];

const PIECES: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b"\t",
    b":",
    b";",
    b",",
    b"0",
    b"ff",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"GET",
    b"HEAD",
    b"Content-Length: ",
    b"Transfer-Encoding: chunked",
    b"Host: h",
    b"\r\n\r\n",
    b"\x00",
    b"\xff",
    b"100-continue",
    b"Connection: close",
    b"Upgrade: x",
    b"99999999999999999999",
];

#[test]
fn request_heads_never_panic_and_round_trip() {
    let limits = HeadLimits::default();
    run_smoke(1, 20_000, REQUESTS, PIECES, |input| {
        if let Ok(Some((head, _))) = parse_request(input, &limits) {
            let mut written = Vec::new();
            head.write_to(&mut written);
            let (again, len) = parse_request(&written, &limits).unwrap().unwrap();
            assert_eq!((&head, len), (&again, written.len()), "{}", input.escape_ascii());
        }
    });
}

#[test]
fn response_heads_never_panic_and_round_trip() {
    let limits = HeadLimits::default();
    run_smoke(2, 20_000, RESPONSES, PIECES, |input| {
        if let Ok(Some((head, _))) = parse_response(input, &limits) {
            let mut written = Vec::new();
            head.write_to(&mut written);
            let (again, _) = parse_response(&written, &limits).unwrap().unwrap();
            assert_eq!(head, again, "{}", input.escape_ascii());
        }
    });
}

fn decode(chunks: &[&[u8]]) -> Result<(Vec<u8>, bool), gyre_http::ErrorKind> {
    let mut decoder = BodyDecoder::new(BodyFraming::Chunked, BodyLimits::default());
    let (mut pending, mut body) = (Vec::new(), Vec::new());
    for chunk in chunks {
        pending.extend_from_slice(chunk);
        loop {
            match decoder.decode(&pending).map_err(|e| e.kind())? {
                Decoded::Data { consumed, data } => {
                    body.extend_from_slice(data);
                    pending.drain(..consumed);
                }
                Decoded::NeedMore { consumed } => {
                    pending.drain(..consumed);
                    break;
                }
                Decoded::End { .. } => return Ok((body, true)),
            }
        }
    }
    Ok((body, false))
}

#[test]
fn chunked_decoding_never_panics_and_does_not_depend_on_splits() {
    run_smoke(3, 20_000, CHUNKED, PIECES, |input| {
        let whole = decode(&[input]);
        for split in [1, input.len() / 2, input.len().saturating_sub(1)] {
            let split = split.min(input.len());
            assert_eq!(
                whole,
                decode(&[&input[..split], &input[split..]]),
                "{}",
                input.escape_ascii()
            );
        }
    });
}

#[test]
fn the_server_machine_never_panics_and_answers_at_most_once_per_request() {
    run_smoke(4, 10_000, REQUESTS, PIECES, |input| {
        let mut conn = ServerConnection::new(ServerConfig::default());
        let (mut requests, mut sent) = (0usize, Vec::new());
        for chunk in input.chunks(5) {
            conn.handle_input(chunk);
            while let Some(event) = conn.poll_event() {
                match event {
                    ServerEvent::Request(_) => {
                        requests += 1;
                        conn.accept_body();
                    }
                    ServerEvent::End(_) => {
                        let mut head = ResponseHead::new(StatusCode::OK);
                        head.headers.append("Content-Length", "2").unwrap();
                        // A 2xx to CONNECT is a tunnel: no body follows.
                        if conn.send_response(head).is_ok() && !conn.is_upgraded() {
                            conn.send_data(b"ok").unwrap();
                            conn.send_end(&HeaderMap::new()).unwrap();
                        }
                    }
                    ServerEvent::Error(error) => {
                        if let (Some(status), true) = (error.status(), conn.can_send_response()) {
                            conn.send_error_response(status).unwrap();
                        }
                    }
                    ServerEvent::Data(_) | ServerEvent::Closed => {}
                }
            }
            if let Some(out) = conn.poll_transmit() {
                sent.extend_from_slice(&out);
            }
            assert!(conn.buffered_len() <= 64 * 1024 + 5);
        }
        conn.handle_eof();
        while conn.poll_event().is_some() {}
        let finals = String::from_utf8_lossy(&sent).matches("HTTP/1.1 ").count()
            - String::from_utf8_lossy(&sent)
                .matches("HTTP/1.1 100 Continue")
                .count();
        assert!(
            finals <= requests + 1,
            "{} answers for {requests} requests: {}",
            finals,
            input.escape_ascii()
        );
    });
}

#[test]
fn the_server_machine_bounds_what_it_keeps_while_reading() {
    use gyre_http::body::BodyLimits;
    use gyre_http::proto::ReadPhase;
    // Small limits, so that the seeds and their mutations reach them.
    let config = ServerConfig {
        head: HeadLimits {
            max_start_line: 64,
            max_head: 80,
            max_headers: 8,
        },
        body: BodyLimits {
            max_chunk_line: 16,
            max_trailers: 8,
            ..BodyLimits::default()
        },
        ..ServerConfig::default()
    };
    let (mut heads, mut bodies) = (0, 0);
    run_smoke(5, 10_000, REQUESTS, PIECES, |input| {
        let mut conn = ServerConnection::new(config);
        // Fed in pieces with the response held back until a body ends, so
        // the machine is seen in the middle of heads and bodies.
        for chunk in input.chunks(3) {
            conn.handle_input(chunk);
            while let Some(event) = conn.poll_event() {
                match event {
                    ServerEvent::Request(_) => conn.accept_body(),
                    ServerEvent::End(_) => {
                        let _ = conn.send_response(ResponseHead::new(StatusCode::NO_CONTENT));
                        let _ = conn.send_end(&HeaderMap::new());
                    }
                    _ => {}
                }
            }
            drop(conn.poll_transmit());
            let (phase, kept) = (conn.read_phase(), conn.buffered_len());
            let bound = match phase {
                ReadPhase::Head => {
                    heads += 1;
                    config.head.max_head
                }
                // Control bytes are used as they come; only a trailer section waits whole.
                ReadPhase::Body => {
                    bodies += 1;
                    config.body.max_trailers
                }
                _ => continue,
            };
            assert!(
                kept <= bound + chunk.len(),
                "{kept} bytes kept in {phase:?}: {}",
                input.escape_ascii()
            );
        }
    });
    assert!(
        heads > 1000 && bodies > 100,
        "phases seen: {heads} head, {bodies} body"
    );
}
