//! Feeds arbitrary bytes to the AMP box decoder, split where the first
//! byte says, and to the AMP conversation machine: nothing may panic, the
//! split must not change the boxes, every decoded box must re-encode to
//! bytes that decode to the same box, and the machine must take all input
//! when every command is answered. The checks live in
//! `crates/protocols/tests/amp_support/fuzz_checks.rs`, shared with the
//! stable smoke test `crates/protocols/tests/fuzz_smoke_amp.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../../crates/protocols/tests/amp_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&split, input)) = data.split_first() {
        fuzz_checks::box_decoder(input, usize::from(split).max(1));
    }
});
