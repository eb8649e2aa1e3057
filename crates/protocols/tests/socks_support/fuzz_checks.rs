//! The checks of the SOCKS fuzz targets, shared by the cargo-fuzz targets
//! in `fuzz/fuzz_targets/socks*.rs` (which include this file) and the
//! stable smoke test `tests/fuzz_smoke_socks.rs`. Each takes arbitrary
//! bytes: nothing may panic, a parser never claims more bytes than it was
//! given, and whatever parses is written back to bytes that parse to the
//! same message.

use gyre_protocols::socks::handshake::{HandshakeOptions, ServerEvent, ServerHandshake};
use gyre_protocols::socks::wire::udp::{encode_header, parse_datagram};
use gyre_protocols::socks::wire::{TargetAddr, v4, v5};
use gyre_protocols::socks::{ClientEvent, ClientHandshake};

/// SOCKS4/4a requests and replies.
pub fn socks4_wire(input: &[u8]) {
    if let Ok(Some((request, used))) = v4::parse_request(input) {
        assert!(used <= input.len());
        let mut again = Vec::new();
        v4::encode_request(&request, &mut again).expect("a parsed request can be written");
        assert_eq!(v4::parse_request(&again), Ok(Some((request, again.len()))));
    }
    if let Ok(Some((reply, used))) = v4::parse_reply(input) {
        assert_eq!(used, 8);
        let mut again = Vec::new();
        v4::encode_reply(&reply, &mut again);
        assert_eq!(&again[..], &input[..used]);
    }
}

/// Every SOCKS5 stream message: greeting, method selection, RFC 1929
/// request and status, request, reply.
pub fn socks5_wire(input: &[u8]) {
    if let Ok(Some((methods, used))) = v5::parse_greeting(input) {
        assert!(used <= input.len());
        let mut again = Vec::new();
        v5::encode_greeting(&methods, &mut again);
        assert_eq!(&again[..], &input[..used]);
    }
    if let Ok(Some((auth, used))) = v5::parse_password_auth(input) {
        let mut again = Vec::new();
        v5::encode_password_auth(&auth, &mut again).expect("a parsed request can be written");
        assert_eq!(&again[..], &input[..used]);
    }
    if let Ok(Some((request, used))) = v5::parse_request(input) {
        assert!(used <= input.len());
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
}

/// The SOCKS5 UDP request header: written back before the same payload,
/// it parses to the same header and payload.
pub fn udp_header(input: &[u8]) {
    if let Ok((header, payload)) = parse_datagram(input) {
        let mut again = Vec::new();
        encode_header(&header, &mut again);
        again.extend_from_slice(payload);
        assert_eq!(again.len(), input.len());
        assert_eq!(parse_datagram(&again), Ok((header, payload)));
    }
}

/// The server and client state machines, fed `input` in two pieces split
/// at the first byte's value: every request the server hands out is one
/// it can answer, it sends at most a method choice, an auth status and one
/// reply, and the client's leftover comes from the input. Returns how many
/// requests the server parsed.
pub fn handshakes(input: &[u8]) -> usize {
    let mut parsed_requests = 0;
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
        assert!(
            sent <= 2 + 2 + 22,
            "{sent} bytes sent for {input:?}: at most one method choice, one auth status, one reply"
        );
    }
    let target = TargetAddr::domain("example.com", 80).unwrap();
    let mut client = ClientHandshake::new(target, None).unwrap();
    client.handle_input(&input[..split]);
    client.handle_input(&input[split..]);
    if let Some(ClientEvent::Established { leftover, .. }) = client.poll_event() {
        assert!(leftover.len() <= input.len());
    }
    parsed_requests
}
