//! The `Range` header (RFC 9110 §14): parsing byte-range specs and
//! resolving them against a representation's size. Pure functions.

use std::ops::Range;

/// The most ranges one request may ask for; beyond it the header is
/// ignored and the whole file is sent (a client asking for thousands of
/// tiny ranges would make the server do per-part work for nothing).
pub const MAX_RANGES: usize = 64;

/// One byte-range spec as written by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-last` (inclusive), or `first-` when `last` is `None`.
    FromTo {
        /// The first byte wanted.
        first: u64,
        /// The last byte wanted, inclusive; `None` means to the end.
        last: Option<u64>,
    },
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

/// What a `Range` header means for a representation of a given size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeOutcome {
    /// No usable `Range` header: send everything with `200`.
    Full,
    /// Send these byte ranges (half-open, in request order) with `206`.
    Partial(Vec<Range<u64>>),
    /// No range overlaps the representation: `416` with
    /// `Content-Range: bytes */SIZE`.
    Unsatisfiable,
}

fn number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses `bytes=0-99,200-,-50`. `None` when the header is not a valid
/// byte-ranges value (another unit, bad syntax, `first > last`, more than
/// [`MAX_RANGES`] specs): such a header is ignored, as RFC 9110 allows.
pub fn parse_range(value: &str) -> Option<Vec<RangeSpec>> {
    let (unit, specs) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut out = Vec::new();
    for spec in specs.split(',') {
        let spec = spec.trim_matches([' ', '\t']);
        if spec.is_empty() {
            continue; // the list syntax allows empty elements
        }
        if out.len() == MAX_RANGES {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        out.push(if first.is_empty() {
            RangeSpec::Suffix(number(last)?)
        } else {
            let first = number(first)?;
            let last = if last.is_empty() {
                None
            } else {
                Some(number(last)?)
            };
            if last.is_some_and(|last| last < first) {
                return None;
            }
            RangeSpec::FromTo { first, last }
        });
    }
    (!out.is_empty()).then_some(out)
}

/// Resolves parsed specs against `size`: unsatisfiable specs (starting at
/// or past the end, empty suffixes) are dropped; none left is `416`.
pub fn resolve_ranges(specs: &[RangeSpec], size: u64) -> RangeOutcome {
    let ranges: Vec<Range<u64>> = specs
        .iter()
        .filter_map(|spec| match *spec {
            RangeSpec::FromTo { first, last } if first < size => {
                let end = last.map_or(size, |last| last.saturating_add(1).min(size));
                Some(first..end)
            }
            RangeSpec::Suffix(n) if n > 0 && size > 0 => Some(size.saturating_sub(n)..size),
            _ => None,
        })
        .collect();
    if ranges.is_empty() {
        RangeOutcome::Unsatisfiable
    } else {
        RangeOutcome::Partial(ranges)
    }
}

/// The whole decision for a `Range` header value (or its absence).
pub fn evaluate_range(value: Option<&str>, size: u64) -> RangeOutcome {
    match value.and_then(parse_range) {
        Some(specs) => resolve_ranges(&specs, size),
        None => RangeOutcome::Full,
    }
}

/// `bytes FIRST-LAST/SIZE` for a part of a `206`.
pub fn content_range(range: &Range<u64>, size: u64) -> String {
    format!("bytes {}-{}/{size}", range.start, range.end - 1)
}

/// `bytes */SIZE` for a `416`.
pub fn unsatisfied_range(size: u64) -> String {
    format!("bytes */{size}")
}
