//! The SOCKS server and client state machines driven by arbitrary bytes
//! (split at the first byte's value, so split points vary too): nothing
//! panics, every request the server hands out is one it can answer, and
//! neither machine buffers more than its limit. The stable smoke version
//! is `crates/protocols/tests/fuzz_smoke_socks.rs`.
#![no_main]

use gyre_protocols::socks::handshake::{HandshakeOptions, ServerEvent, ServerHandshake};
use gyre_protocols::socks::wire::TargetAddr;
use gyre_protocols::socks::{ClientEvent, ClientHandshake};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
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
                    ServerEvent::Request(_) => assert!(server.grant("127.0.0.1:1".parse().unwrap())),
                    ServerEvent::Payload(bytes) => assert!(!bytes.is_empty()),
                }
            }
            sent += server.poll_transmit().map_or(0, |bytes| bytes.len());
        }
        assert!(
            sent <= 2 + 2 + 22,
            "one method choice, one auth status, one reply"
        );
    }
    let target = TargetAddr::domain("example.com", 80).unwrap();
    let mut client = ClientHandshake::new(target, None).unwrap();
    client.handle_input(&input[..split]);
    client.handle_input(&input[split..]);
    if let Some(ClientEvent::Established { leftover, .. }) = client.poll_event() {
        assert!(leftover.len() <= input.len());
    }
});
