//! SOCKS4/4a requests and replies from arbitrary bytes: parsing never
//! panics, never claims more bytes than it was given, and whatever parses
//! is written back to bytes that parse to the same message. The stable
//! smoke version is `crates/protocols/tests/fuzz_smoke_socks.rs`.
#![no_main]

use gyre_protocols::socks::wire::v4;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
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
        assert_eq!(&again[..], &input[..8]);
    }
});
