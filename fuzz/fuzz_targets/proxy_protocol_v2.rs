//! Feeds the version 2 signature followed by arbitrary bytes to the PROXY
//! header parser, whole and in small chunks: it must never panic, chunking
//! must not change the outcome, and a header that parses must be written
//! back by the serializer to bytes that parse to the same header. The
//! checks live in `crates/protocols/tests/proxy_protocol_support/fuzz_checks.rs`,
//! shared with the stable smoke test `crates/protocols/tests/fuzz_smoke_proxy_protocol.rs`.
#![no_main]

use gyre_protocols::proxy_protocol::V2_SIGNATURE;

#[path = "../../crates/protocols/tests/proxy_protocol_support/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_checks::check(&[&V2_SIGNATURE[..], data].concat());
});
