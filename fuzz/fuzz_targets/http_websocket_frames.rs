//! Arbitrary bytes into a server-side WebSocket connection (with or without
//! permessage-deflate), whole and split in two at a point taken from the
//! input: never a panic, no message past the limit, and both feedings give
//! the same events and the same bytes back. The checks live in
//! `crates/http/tests/websocket_support/fuzz_checks.rs`, shared with the
//! stable smoke test `crates/http/tests/fuzz_smoke_websocket.rs`.
#![no_main]

#[allow(dead_code)] // the smoke test uses the other helpers
#[path = "../../crates/http/tests/websocket_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|input: &[u8]| fuzz_checks::frames(input));
