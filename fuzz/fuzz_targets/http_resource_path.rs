//! Arbitrary bytes as a request path: never a panic, no accepted segment
//! is a dot segment or holds NUL, and the segments re-encoded (`/` and `%`
//! escaped) split back equal. The stable smoke version is
//! `crates/http/tests/resource_fuzz_smoke.rs`.
#![no_main]

use gyre_http::resource::split_path;
use libfuzzer_sys::fuzz_target;

fn encode(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let Ok(path) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(segments) = split_path(path) else {
        return;
    };
    for segment in &segments {
        assert!(segment != "." && segment != ".." && !segment.contains('\0'));
    }
    let encoded: Vec<String> = segments.iter().map(|segment| encode(segment)).collect();
    assert_eq!(split_path(&format!("/{}", encoded.join("/"))).unwrap(), segments);
});
