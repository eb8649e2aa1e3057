//! The SOCKS5 UDP request header from arbitrary datagrams: parsing never
//! panics, and a parsed header written back before the same payload
//! parses to the same header and payload.
//! The checks live in `crates/protocols/tests/socks_support/fuzz_checks.rs`,
//! shared with the stable smoke test `crates/protocols/tests/fuzz_smoke_socks.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../../crates/protocols/tests/socks_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::udp_header(data));
