//! Every SOCKS5 stream message (greeting, method selection, RFC 1929
//! request and status, request, reply) from arbitrary bytes: parsing never
//! panics, never claims more than it was given, and what parses is written
//! back to bytes that parse to the same message. The stable smoke version
//! is `crates/protocols/tests/fuzz_smoke_socks.rs`.
#![no_main]

use gyre_protocols::socks::wire::v5;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
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
});
