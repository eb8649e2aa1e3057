//! Feeds arbitrary strings to the endpoint description parser: it must
//! never panic, and whatever parses must re-parse equal from its formatted
//! form. The stable-Rust smoke version of this is
//! `crates/endpoints/tests/parser_smoke.rs`.
#![no_main]

use gyre_endpoints::Description;
use gyre_endpoints::spec::{ClientSpec, ServerSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let Ok(description) = Description::parse(input) else {
        return;
    };
    let formatted = description.to_string();
    let again = Description::parse(&formatted).expect("a formatted description parses");
    assert_eq!(description, again, "{input:?} -> {formatted:?}");
    let _ = ServerSpec::parse(&description);
    let _ = ClientSpec::parse(&description);
});
