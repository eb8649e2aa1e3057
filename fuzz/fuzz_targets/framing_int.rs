//! Feeds arbitrary bytes to the length-prefixed decoder (`IntDecoder`),
//! every prefix size.
//! It must never panic, decode the same frames however the stream is
//! split, respect its limits, keep its buffer bounded, and decode the same
//! frames again after re-encoding them. The checks live in
//! `crates/protocols/tests/framing_support/fuzz_checks.rs`, shared with the
//! stable smoke test `crates/protocols/tests/fuzz_smoke_framing.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../../crates/protocols/tests/framing_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::int_decoder(data));
