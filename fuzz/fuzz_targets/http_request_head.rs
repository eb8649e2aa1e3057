//! Arbitrary bytes as a request head: never a panic, and a head that
//! parses re-parses equal from its written form. The stable smoke version
//! is `crates/http/tests/fuzz_smoke_http.rs`.
#![no_main]

use gyre_http::wire::{HeadLimits, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let limits = HeadLimits::default();
    if let Ok(Some((head, _))) = parse_request(input, &limits) {
        let mut written = Vec::new();
        head.write_to(&mut written);
        let (again, len) = parse_request(&written, &limits)
            .expect("valid")
            .expect("complete");
        assert_eq!(head, again);
        assert_eq!(len, written.len());
    }
});
