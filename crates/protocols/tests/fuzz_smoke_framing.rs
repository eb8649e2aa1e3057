//! The stable-Rust stand-ins for the framing fuzz targets (`fuzz/`):
//! thousands of seeded random and mutated streams through the line, the
//! length-prefixed and the netstring decoders, with the targets' own checks
//! (`framing_support/fuzz_checks.rs`): no panic, the same frames however
//! the stream is split, limits respected, bounded buffers, and decoded
//! frames re-encoding to the same frames.

#[path = "framing_support/fuzz_checks.rs"]
mod fuzz_checks;

use gyre_testing::fuzz_smoke::run_smoke;

const ROUNDS: usize = 4000;

#[test]
fn line_decoder_smoke() {
    let seeds: &[&[u8]] = &[
        b"\x00\x10\x03hello\r\nworld\r\nR3abc\r\nafter\r\n",
        b"\x01\x05\x01short\nway too long a line\nok\n",
        b"\x02\x08\x02xabyababzR2\nab",
        b"\x03\x00\x00XYXYXXYXR9XYX",
    ];
    let pieces: &[&[u8]] = &[
        b"\r\n", b"\n", b"\r", b"ab", b"XYX", b"XY", b"R3", b"R0", b"line", b"\0",
    ];
    run_smoke(0xF1, ROUNDS, seeds, pieces, fuzz_checks::line_decoder);
}

#[test]
fn int_decoder_smoke() {
    let seeds: &[&[u8]] = &[
        b"\x00\x10\x01\x03abc\x00\x05",
        b"\x01\x40\x05\x00\x03abc\xff\xff",
        b"\x02\x02\x07\x00\x00\x00\x04abcd\x00\x00\x01\x00",
        b"\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ];
    let pieces: &[&[u8]] = &[
        b"\x00",
        b"\x01",
        b"\x03",
        b"\xff",
        b"\x00\x00\x00\x02",
        b"ab",
        b"\x00\x08",
    ];
    run_smoke(0xF2, ROUNDS, seeds, pieces, fuzz_checks::int_decoder);
}

#[test]
fn netstring_decoder_smoke() {
    let seeds: &[&[u8]] = &[
        b"\x40\x03" as &[u8],
        b"\x40\x035:hello,0:,3:abc,",
        b"\x02\x0112:hello world!,",
        b"\x10\x0001:x,",
        b"\x10\x053:abc;",
        b"\xff\x0299999999999999999999:",
    ];
    let pieces: &[&[u8]] = &[b"0", b"1", b"9", b":", b",", b"3:abc,", b"x", b"0:,", b"12", b"-"];
    run_smoke(0xF3, ROUNDS, seeds, pieces, fuzz_checks::netstring_decoder);
}
