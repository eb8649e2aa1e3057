//! The stable-Rust stand-ins for the `amp_box_decoder` and `amp_arguments`
//! fuzz targets (`fuzz/`), with the targets' own checks
//! (`amp_support/fuzz_checks.rs`): thousands of seeded random and mutated
//! inputs, starting from the bytes Twisted produced. Nothing may panic;
//! chunking must not change the decoded boxes; decoded boxes and values
//! must re-encode to a stable wire form; the conversation machine must take
//! any input when every command is answered.

mod amp_support;

use amp_support::golden;
use gyre_testing::fuzz_smoke::run_smoke;

#[path = "amp_support/fuzz_checks.rs"]
mod fuzz_checks;

const PIECES: &[&[u8]] = &[
    b"\x00\x00",
    b"\x00\x04_ask",
    b"\x00\x011",
    b"\x00\x08_command",
    b"\x00\x07_answer",
    b"\x00\x06_error",
    b"\x00\x0b_error_code",
    b"\x01\x00",
    b"\xff\xff",
    b"\x00\x01a",
    b"nan",
    b"-inf",
    b"E+",
    b"e-",
    b"sNaN",
    b"Infinity",
    b"-00:00",
    b"T",
    b".",
    b"9",
    b"\xc3",
];

fn seeds() -> Vec<&'static [u8]> {
    let mut seeds = vec![
        golden::CALL_ALL_TYPES,
        golden::CALL_LOG,
        golden::CALL_SUM_THIRD,
        golden::AMP_LIST,
        golden::AMP_LIST_OPTIONAL,
        golden::LIST_OF_UNICODE,
        golden::LIST_OF_INTEGERS,
    ];
    for (request, reply, _) in [
        golden::ANSWER_SUM,
        golden::ERROR_ZERO_DIVISION,
        golden::ERROR_UNHANDLED,
    ] {
        seeds.push(request);
        seeds.push(reply);
    }
    seeds.extend(golden::DECIMALS.iter().map(|(_, wire)| *wire));
    seeds.extend(golden::DATETIMES.iter().map(|(_, _, wire)| *wire));
    seeds.extend(golden::FLOATS.iter().take(40).map(|(_, wire)| *wire));
    seeds
}

#[test]
fn box_decoder_and_machine_smoke() {
    let mut decoded_boxes = 0;
    run_smoke(0xA3B0, 12_000, &seeds(), PIECES, |input| {
        let split = input.first().map_or(1, |&b| usize::from(b % 7) + 1);
        decoded_boxes += fuzz_checks::box_decoder(input, split);
    });
    assert!(
        decoded_boxes > 300,
        "the smoke run decodes real boxes: {decoded_boxes}"
    );
}

#[test]
fn argument_decoders_smoke() {
    let mut accepted = [0_usize; 6];
    run_smoke(0xA46, 12_000, &seeds(), PIECES, |input| {
        for (count, yes) in accepted.iter_mut().zip(fuzz_checks::arguments(input)) {
            *count += usize::from(yes);
        }
    });
    // Every decoder saw inputs it accepted, not only garbage.
    assert!(accepted.iter().all(|&n| n > 0), "{accepted:?}");
}
