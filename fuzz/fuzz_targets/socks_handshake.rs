//! The SOCKS server and client state machines driven by arbitrary bytes
//! (split at the first byte's value, so split points vary too): nothing
//! panics, every request the server hands out is one it can answer, and
//! the server sends at most a method choice, an auth status and a reply.
//! The checks live in `crates/protocols/tests/socks_support/fuzz_checks.rs`,
//! shared with the stable smoke test `crates/protocols/tests/fuzz_smoke_socks.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../../crates/protocols/tests/socks_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz_checks::handshakes(data);
});
