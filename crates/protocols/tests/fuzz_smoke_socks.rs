//! Stable-Rust smoke runs of the SOCKS fuzz targets (`fuzz/fuzz_targets/
//! socks4_wire.rs`, `socks5_wire.rs`, `socks_udp_header.rs`,
//! `socks_handshake.rs`), with the targets' own checks
//! (`socks_support/fuzz_checks.rs`): thousands of seeded mutations of real
//! messages must never panic, and whatever parses must round-trip.

#[path = "socks_support/fuzz_checks.rs"]
mod fuzz_checks;

use gyre_testing::fuzz_smoke::run_smoke;

const ROUNDS: usize = 20_000;

const SEEDS: &[&[u8]] = &[
    b"\x04\x01\x00\x50\x0a\x00\x00\x01bob\x00",
    b"\x04\x02\x01\xbb\x00\x00\x00\x07\x00example.com\x00",
    b"\x00\x5a\x0f\xa0\xc0\x00\x02\x01",
    b"\x05\x02\x00\x02",
    b"\x01\x05alice\x06secret",
    b"\x05\x01\x00\x03\x0bexample.com\x00\x50",
    b"\x05\x03\x00\x04\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x01\xbb",
    b"\x05\x00\x00\x01\x0a\x00\x00\x01\x30\x39hello",
    b"\x00\x00\x00\x01\xc0\x00\x02\x01\x00\x35query",
    b"\x00\x00\x00\x03\x03dns\x00\x35query",
    b"\x05\x02\x00\x02\x01\x05alice\x02pw\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50data",
];

const PIECES: &[&[u8]] = &[
    b"\x00",
    b"\x01",
    b"\x03",
    b"\x04",
    b"\x05",
    b"\xff",
    b"\x00\x00\x00\x01",
    b"\x0bexample.com",
    b"\x00\x50",
];

#[test]
fn socks4_messages_never_panic_and_round_trip() {
    run_smoke(0x5_0c4, ROUNDS, SEEDS, PIECES, fuzz_checks::socks4_wire);
}

#[test]
fn socks5_messages_never_panic_and_round_trip() {
    run_smoke(0x5_0c5, ROUNDS, SEEDS, PIECES, fuzz_checks::socks5_wire);
}

#[test]
fn udp_headers_never_panic_and_round_trip() {
    run_smoke(0x5_0cd, ROUNDS, SEEDS, PIECES, fuzz_checks::udp_header);
}

#[test]
fn the_state_machines_never_panic_and_send_at_most_three_answers() {
    let mut parsed_requests = 0;
    run_smoke(0x5_0ce, ROUNDS, SEEDS, PIECES, |input| {
        parsed_requests += fuzz_checks::handshakes(input);
    });
    assert!(
        parsed_requests > 100,
        "the mutations reach requests ({parsed_requests})"
    );
}
