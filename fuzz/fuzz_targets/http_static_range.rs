//! Arbitrary `Range` header values against a size taken from the input:
//! never a panic, every resolved range lies inside the file and is not
//! empty, and writing the ranges back as a header resolves to the same.
#![no_main]

use gyre_http::static_files::{MAX_RANGES, RangeOutcome, evaluate_range};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let (size, text) = match input.split_first_chunk::<8>() {
        Some((size, rest)) => (u64::from_le_bytes(*size) % 1_000_000, rest),
        None => (1000, input),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if let RangeOutcome::Partial(ranges) = evaluate_range(Some(text), size) {
        assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
        for range in &ranges {
            assert!(
                range.start < range.end && range.end <= size,
                "{range:?} of {size}"
            );
        }
        let again: Vec<String> = ranges
            .iter()
            .map(|r| format!("{}-{}", r.start, r.end - 1))
            .collect();
        let again = format!("bytes={}", again.join(","));
        assert_eq!(evaluate_range(Some(&again), size), RangeOutcome::Partial(ranges));
    }
});
