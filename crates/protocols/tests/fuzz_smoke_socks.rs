//! Stable-Rust smoke runs of the SOCKS fuzz targets (`fuzz/fuzz_targets/
//! socks4_wire.rs`, `socks5_wire.rs`, `socks_udp_header.rs`,
//! `socks_handshake.rs`): thousands of seeded mutations of real messages
//! must never panic, and whatever parses must round-trip.

use gyre_protocols::socks::handshake::{HandshakeOptions, ServerEvent, ServerHandshake};
use gyre_protocols::socks::wire::udp::{encode_header, parse_datagram};
use gyre_protocols::socks::wire::{TargetAddr, v4, v5};
use gyre_protocols::socks::{ClientEvent, ClientHandshake};
use gyre_testing::fuzz_smoke::run_smoke;

const ROUNDS: usize = 20_000;

const SEEDS: &[&[u8]] = &[
    b"\x04\x01\x00\x50\x0a\x00\x00\x01bob\x00",
    b"\x04\x02\x01\xbb\x00\x00\x00\x07\x00example.com\x00",
    b"\x00\x5a\x0f\xa0\xc0\x00\x02\x01",
    b"\x05\x02\x00\x02",
    b"\x01\x05alice\x06secret",
    b"\x05\x01\x00\x03\x0bexample.com\x00\x50",
    b"\x05\x03\x00\x04\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x01\xbb",
    b"\x05\x00\x00\x01\x0a\x00\x00\x01\x30\x39hello",
    b"\x00\x00\x00\x01\xc0\x00\x02\x01\x00\x35query",
    b"\x00\x00\x00\x03\x03dns\x00\x35query",
    b"\x05\x02\x00\x02\x01\x05alice\x02pw\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50data",
];

const PIECES: &[&[u8]] = &[
    b"\x00",
    b"\x01",
    b"\x03",
    b"\x04",
    b"\x05",
    b"\xff",
    b"\x00\x00\x00\x01",
    b"\x0bexample.com",
    b"\x00\x50",
];

#[test]
fn socks4_messages_never_panic_and_round_trip() {
    run_smoke(0x5_0c4, ROUNDS, SEEDS, PIECES, |input| {
        if let Ok(Some((request, used))) = v4::parse_request(input) {
            assert!(used <= input.len());
            let mut again = Vec::new();
            v4::encode_request(&request, &mut again).expect("a parsed request can be written");
            assert_eq!(v4::parse_request(&again), Ok(Some((request, again.len()))));
        }
        if let Ok(Some((reply, used))) = v4::parse_reply(input) {
            let mut again = Vec::new();
            v4::encode_reply(&reply, &mut again);
            assert_eq!(&again[..], &input[..used]);
        }
    });
}

#[test]
fn socks5_messages_never_panic_and_round_trip() {
    run_smoke(0x5_0c5, ROUNDS, SEEDS, PIECES, |input| {
        if let Ok(Some((methods, used))) = v5::parse_greeting(input) {
            let mut again = Vec::new();
            v5::encode_greeting(&methods, &mut again);
            assert_eq!(&again[..], &input[..used]);
        }
        if let Ok(Some((auth, used))) = v5::parse_password_auth(input) {
            let mut again = Vec::new();
            v5::encode_password_auth(&auth, &mut again).unwrap();
            assert_eq!(&again[..], &input[..used]);
        }
        if let Ok(Some((request, used))) = v5::parse_request(input) {
            let mut again = Vec::new();
            v5::encode_request(request.command, &request.target, &mut again);
            assert_eq!(v5::parse_request(&again), Ok(Some((request, used))));
        }
        if let Ok(Some((reply, used))) = v5::parse_reply(input) {
            let mut again = Vec::new();
            v5::encode_reply(&reply, &mut again);
            assert_eq!(v5::parse_reply(&again), Ok(Some((reply, used))));
        }
        let _ = v5::parse_method_selection(input);
        let _ = v5::parse_auth_status(input);
    });
}

#[test]
fn udp_headers_never_panic_and_round_trip() {
    run_smoke(0x5_0cd, ROUNDS, SEEDS, PIECES, |input| {
        if let Ok((header, payload)) = parse_datagram(input) {
            let mut again = Vec::new();
            encode_header(&header, &mut again);
            again.extend_from_slice(payload);
            assert_eq!(again.len(), input.len());
            assert_eq!(parse_datagram(&again), Ok((header, payload)));
        }
    });
}

#[test]
fn the_state_machines_never_panic_and_send_at_most_three_answers() {
    let mut parsed_requests = 0;
    run_smoke(0x5_0ce, ROUNDS, SEEDS, PIECES, |input| {
        let split = input.first().map_or(0, |&b| usize::from(b) % (input.len() + 1));
        for require_password in [false, true] {
            let options = HandshakeOptions {
                require_password,
                allow_socks4: !require_password,
            };
            let mut server = ServerHandshake::new(options);
            let mut sent = 0;
            for chunk in [&input[..split], &input[split..]] {
                server.handle_input(chunk);
                while let Some(event) = server.poll_event() {
                    match event {
                        ServerEvent::CheckPassword(auth) => server.password_checked(auth.password == b"pw"),
                        ServerEvent::Request(_) => {
                            parsed_requests += 1;
                            assert!(server.grant("127.0.0.1:1".parse().unwrap()));
                        }
                        ServerEvent::Payload(bytes) => assert!(!bytes.is_empty()),
                    }
                }
                sent += server.poll_transmit().map_or(0, |bytes| bytes.len());
            }
            assert!(sent <= 2 + 2 + 22, "{sent} bytes sent for {input:?}");
        }
        let target = TargetAddr::domain("example.com", 80).unwrap();
        let mut client = ClientHandshake::new(target, None).unwrap();
        client.handle_input(&input[..split]);
        client.handle_input(&input[split..]);
        if let Some(ClientEvent::Established { leftover, .. }) = client.poll_event() {
            assert!(leftover.len() <= input.len());
        }
    });
    assert!(
        parsed_requests > 100,
        "the mutations reach requests ({parsed_requests})"
    );
}
