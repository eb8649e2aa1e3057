//! Arbitrary request paths through the static-file path checks: never a
//! panic, and an accepted path joined under the root only ever adds
//! normal components (no `..`, no root, no prefix), so it cannot leave it.
#![no_main]

use std::path::{Component, Path};

use gyre_http::static_files::{check_segments, percent_decode, percent_encode_segment, split_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Ok(segments) = split_path(text) {
        for hidden in [false, true] {
            if let Ok((names, _)) = check_segments(&segments, hidden) {
                let mut path = Path::new("/srv/root").to_path_buf();
                path.extend(&names);
                assert!(path.starts_with("/srv/root"));
                let below = path.strip_prefix("/srv/root").unwrap();
                assert!(
                    below.components().all(|c| matches!(c, Component::Normal(_))),
                    "{text:?}"
                );
                assert_eq!(below.components().count(), names.len(), "{text:?}");
            }
        }
    }
    assert_eq!(percent_decode(&percent_encode_segment(text)).as_deref(), Ok(text));
});
