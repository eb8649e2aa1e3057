//! Every SOCKS5 stream message (greeting, method selection, RFC 1929
//! request and status, request, reply) from arbitrary bytes: parsing never
//! panics, never claims more than it was given, and what parses is written
//! back to bytes that parse to the same message.
//! The checks live in `crates/protocols/tests/socks_support/fuzz_checks.rs`,
//! shared with the stable smoke test `crates/protocols/tests/fuzz_smoke_socks.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../../crates/protocols/tests/socks_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::socks5_wire(data));
