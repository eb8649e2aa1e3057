//! Arbitrary bytes as a response head: never a panic, and a head that
//! parses re-parses equal from its written form.
#![no_main]

use gyre_http::wire::{HeadLimits, parse_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let limits = HeadLimits::default();
    if let Ok(Some((head, _))) = parse_response(input, &limits) {
        let mut written = Vec::new();
        head.write_to(&mut written);
        let (again, _) = parse_response(&written, &limits)
            .expect("valid")
            .expect("complete");
        assert_eq!(head, again);
    }
});
