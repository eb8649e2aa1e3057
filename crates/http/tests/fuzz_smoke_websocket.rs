//! The stable-Rust stand-ins for `fuzz/fuzz_targets/http_websocket_frames.rs`
//! and `http_websocket_handshake.rs`: thousands of seeded mutated and
//! random inputs. Nothing may panic; the connection gives the same events
//! and bytes whole and split; an accepted handshake's answer passes the
//! client's check.

use gyre_http::websocket::{
    ClientHandshake, DeflateParams, Event, Message, Opcode, Role, WebSocketConfig, WebSocketConnection,
    accept_response, validate_request, write_frame,
};
use gyre_http::wire::{HeadLimits, parse_request};
use gyre_testing::fuzz_smoke::run_smoke;

#[path = "websocket_support/fuzz_checks.rs"]
mod fuzz_checks;

fn frames() -> Vec<Vec<u8>> {
    let key = Some([1, 2, 3, 4]);
    let mut seeds = Vec::new();
    for (fin, opcode, payload) in [
        (true, Opcode::Text, &b"hello"[..]),
        (false, Opcode::Text, "\u{2603}".as_bytes()),
        (true, Opcode::Continuation, b"tail"),
        (true, Opcode::Binary, &[0u8; 300][..]),
        (true, Opcode::Ping, b"p"),
        (true, Opcode::Pong, b""),
        (true, Opcode::Close, b"\x03\xe8bye"),
    ] {
        let mut frame = Vec::new();
        write_frame(&mut frame, fin, 0, opcode, key, payload);
        seeds.push(frame);
    }
    seeds.push(
        seeds[1]
            .iter()
            .chain(&seeds[4])
            .chain(&seeds[2])
            .copied()
            .collect(),
    );
    seeds
}

const PIECES: &[&[u8]] = &[
    b"\x81",
    b"\x01",
    b"\x80",
    b"\x88",
    b"\x89",
    b"\x8a",
    b"\x82",
    b"\x00",
    b"\x7e",
    b"\x7f",
    b"\xfe",
    b"\xff",
    b"\x85\x01\x02\x03\x04",
    b"\x03\xe8",
    b"\xe2\x98",
    b"\x83",
    b"abc",
];

#[test]
fn frames_never_panic_and_split_feeding_agrees() {
    let seeds = frames();
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let mut messages = 0;
    run_smoke(0x5753, 6000, &seeds, PIECES, |input| {
        for split in [1, input.len() / 2, input.len().saturating_sub(1)] {
            let events = fuzz_checks::whole_and_split(input, split, false);
            if split == 1 {
                messages += events.iter().filter(|e| matches!(e, Event::Message(_))).count();
            }
        }
        fuzz_checks::frames(input); // exactly what the fuzz target runs
    });
    assert!(
        messages > 100,
        "the smoke test reached message assembly only {messages} times"
    );
}

#[test]
fn handshake_validation_never_panics_and_answers_check_out() {
    let request: &[u8] = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let pieces: &[&[u8]] = &[
        b"\r\n",
        b",",
        b" ",
        b"=",
        b"13",
        b"Upgrade",
        b"websocket",
        b"Sec-WebSocket-Key: ",
        b"AAAA",
    ];
    let mut accepted = 0;
    run_smoke(0x4853, 5000, &[request], pieces, |input| {
        if let Ok(Some((head, _))) = parse_request(input, &HeadLimits::default())
            && let Ok(offer) = validate_request(&head)
        {
            accepted += 1;
            let answer = accept_response(&offer, offer.protocols.first().map(String::as_str), None);
            let protocols: Vec<&str> = offer.protocols.iter().map(String::as_str).collect();
            assert!(
                ClientHandshake::with_key(&offer.key, &protocols)
                    .check_response(&answer)
                    .is_ok()
            );
        }
    });
    assert!(accepted > 50, "only {accepted} requests were valid");
}

#[test]
fn compressed_frames_never_panic_and_inflation_stays_bounded() {
    let mut seeds = frames();
    for data in [&b"hello hello hello"[..], &[0u8; 3000][..], "☃".as_bytes()] {
        let mut sender = WebSocketConnection::new(Role::Client, WebSocketConfig::default())
            .with_deflate(DeflateParams::default());
        sender.send_binary(data).unwrap();
        seeds.push(sender.poll_transmit().unwrap().to_vec());
    }
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let mut inflated = 0;
    run_smoke(0x4446, 4000, &seeds, PIECES, |input| {
        let events = fuzz_checks::whole_and_split(input, input.len() / 2, true);
        inflated += events
            .iter()
            .filter(|e| matches!(e, Event::Message(Message::Binary(_))))
            .count();
    });
    assert!(inflated > 50, "only {inflated} compressed messages inflated");
}
