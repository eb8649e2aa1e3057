//! SOCKS4/4a requests and replies from arbitrary bytes: parsing never
//! panics, never claims more bytes than it was given, and whatever parses
//! is written back to bytes that parse to the same message.
//! The checks live in `crates/protocols/tests/socks_support/fuzz_checks.rs`,
//! shared with the stable smoke test `crates/protocols/tests/fuzz_smoke_socks.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../../crates/protocols/tests/socks_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::socks4_wire(data));
