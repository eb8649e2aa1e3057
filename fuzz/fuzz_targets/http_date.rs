//! Arbitrary HTTP-date field values (`If-Modified-Since`,
//! `If-Unmodified-Since`, `If-Range`): never a panic, and every accepted
//! date (any of the three forms) comes back the same through the
//! IMF-fixdate this server writes.
#![no_main]

use gyre_http::static_files::{format_http_date, parse_http_date};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Some(time) = parse_http_date(text) {
        assert_eq!(parse_http_date(&format_http_date(time)), Some(time), "{text:?}");
    }
});
