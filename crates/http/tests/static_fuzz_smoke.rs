//! Stable smoke runs of the `http_static_range`, `http_static_path` and
//! `http_date` fuzz targets' invariants over thousands of generated inputs.

use std::path::{Component, Path};

use gyre_http::static_files::{
    MAX_RANGES, RangeOutcome, check_segments, evaluate_range, format_http_date, parse_http_date,
    percent_decode, percent_encode_segment, split_path,
};
use gyre_testing::fuzz_smoke::run_smoke;

#[test]
fn range_parser_keeps_every_range_inside_the_file_and_round_trips() {
    let seeds: &[&[u8]] = &[
        b"bytes=0-99",
        b"bytes=0-9,20-29",
        b"bytes=-500",
        b"bytes=100-",
        b"bytes=5-1",
    ];
    let pieces: &[&[u8]] = &[
        b"bytes",
        b"=",
        b"-",
        b",",
        b" ",
        b"0",
        b"9",
        b"18446744073709551615",
        b"99999",
        b"x",
    ];
    let mut partial = 0;
    run_smoke(0x5eed_0001, 20_000, seeds, pieces, |input| {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        for size in [0, 1, 100, 1000, u64::MAX] {
            if let RangeOutcome::Partial(ranges) = evaluate_range(Some(text), size) {
                partial += 1;
                assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
                for range in &ranges {
                    assert!(
                        range.start < range.end && range.end <= size,
                        "{text:?}: {range:?} of {size}"
                    );
                }
                let again: Vec<String> = ranges
                    .iter()
                    .map(|r| format!("{}-{}", r.start, r.end - 1))
                    .collect();
                let again = format!("bytes={}", again.join(","));
                assert_eq!(evaluate_range(Some(&again), size), RangeOutcome::Partial(ranges));
            }
        }
    });
    assert!(partial > 1000, "the generator reaches valid ranges ({partial})");
}

#[test]
fn path_resolver_never_leaves_the_root() {
    let seeds: &[&[u8]] = &[
        b"/a/b.txt",
        b"/../etc/passwd",
        b"/%2e%2e/x",
        b"/a%2fb",
        b"/dir/",
        b"/.git",
    ];
    let pieces: &[&[u8]] = &[
        b"/", b".", b"..", b"%2e", b"%2E", b"%2f", b"%5c", b"%00", b"%", b"a", b"\\", b"%c3%a9", b"%ff",
    ];
    let mut accepted = 0;
    run_smoke(0x5eed_0002, 20_000, seeds, pieces, |input| {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        if let Ok(segments) = split_path(text) {
            for hidden in [false, true] {
                if let Ok((names, _)) = check_segments(&segments, hidden) {
                    accepted += 1;
                    let mut path = Path::new("/srv/root").to_path_buf();
                    path.extend(&names);
                    let below = path.strip_prefix("/srv/root").expect("under the root");
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
    assert!(
        accepted > 500,
        "the generator reaches accepted paths ({accepted})"
    );
}

#[test]
fn http_dates_never_panic_and_accepted_ones_round_trip() {
    let seeds: &[&[u8]] = &[
        b"Sun, 06 Nov 1994 08:49:37 GMT",
        b"Sunday, 06-Nov-94 08:49:37 GMT",
        b"Sun Nov  6 08:49:37 1994",
        b"Thu, 31 Dec 9999 23:59:60 GMT",
        b"Tue, 29 Feb 2000 00:00:00 GMT",
    ];
    let pieces: &[&[u8]] = &[
        b" ",
        b",",
        b"-",
        b":",
        b"GMT",
        b"Feb",
        b"29",
        b"31",
        b"60",
        b"99",
        b"1969",
        b"9999",
        b"\xc3\xa9",
        b"x",
    ];
    let mut accepted = 0;
    run_smoke(0x5eed_0003, 20_000, seeds, pieces, |input| {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        if let Some(time) = parse_http_date(text) {
            accepted += 1;
            assert_eq!(parse_http_date(&format_http_date(time)), Some(time), "{text:?}");
        }
    });
    assert!(accepted > 100, "the generator reaches valid dates ({accepted})");
    // A leap second after the last second an HTTP-date can write.
    assert_eq!(parse_http_date("Fri, 31 Dec 9999 23:59:60 GMT"), None);
    assert!(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT").is_some());
}
