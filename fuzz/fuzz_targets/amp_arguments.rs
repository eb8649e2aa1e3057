//! Feeds arbitrary bytes to every AMP argument decoder (Integer, Float,
//! Boolean, Unicode, Decimal, DateTime, ListOf, AmpList) and to a typed
//! struct decoded from boxes: nothing may panic, and whatever decodes must
//! encode and decode back to the same wire form. The checks live in
//! `crates/protocols/tests/amp_support/fuzz_checks.rs`, shared with the
//! stable smoke test `crates/protocols/tests/fuzz_smoke_amp.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../../crates/protocols/tests/amp_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_checks::arguments(data);
});
