//! Arbitrary bytes as a `Cookie` field: never a panic, every parsed name
//! is a token without surrounding space, and quote-free, unpadded pairs re-parse
//! equal from their joined form. The stable smoke version is
//! `crates/http/tests/resource_fuzz_smoke.rs`.
#![no_main]

use gyre_http::resource::parse_cookies;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(header) = std::str::from_utf8(input) else {
        return;
    };
    let cookies = parse_cookies(header);
    assert!(cookies.len() <= 256);
    for (name, value) in &cookies {
        assert!(!name.is_empty() && !name.contains([';', '=', ' ']));
        assert!(!value.contains(';'));
    }
    let plain: Vec<(String, String)> = cookies
        .into_iter()
        .filter(|(_, value)| !value.contains('"') && value.trim() == value)
        .collect();
    let joined: Vec<String> = plain
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    assert_eq!(parse_cookies(&joined.join("; ")), plain);
});
