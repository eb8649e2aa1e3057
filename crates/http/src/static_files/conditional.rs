//! Validators and conditional requests (RFC 9110 §8.8 and §13): the
//! `ETag` of a file, and the precedence of `If-Match`,
//! `If-Unmodified-Since`, `If-None-Match`, `If-Modified-Since` and
//! `If-Range`. Pure functions over the request's header fields.

use std::time::SystemTime;

use crate::wire::HeaderMap;

use crate::date::{parse_http_date, unix_seconds};

/// The validators of one file version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// A strong entity tag, quotes included.
    pub etag: String,
    /// The modification time, truncated to whole seconds (HTTP dates have
    /// no finer resolution, so comparisons must not see sub-seconds).
    pub last_modified: SystemTime,
}

impl Validators {
    /// Validators from the file's size, modification time and inode: any
    /// rewrite in place changes size or mtime, and a replacement by
    /// rename changes the inode, so the tag is strong enough for ranges.
    pub fn new(size: u64, modified: SystemTime, inode: u64) -> Self {
        let nanos = modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos());
        let seconds = unix_seconds(modified);
        Validators {
            etag: format!("\"{inode:x}-{size:x}-{seconds:x}.{nanos:x}\""),
            last_modified: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
        }
    }
}

/// What the preconditions decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve the request normally.
    Proceed,
    /// `304 Not Modified` (GET/HEAD whose cached copy is current).
    NotModified,
    /// `412 Precondition Failed`.
    Failed,
}

/// Strips a `W/` prefix: the weak comparison ignores it.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Splits a list of entity tags (commas inside quotes are part of a tag).
fn entity_tags(value: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return tags;
        }
        let body_at = if rest.starts_with("W/") { 2 } else { 0 };
        let end = if rest[body_at..].starts_with('"') {
            match rest[body_at + 1..].find('"') {
                Some(close) => body_at + close + 2,
                None => rest.len(),
            }
        } else {
            rest.find(',').unwrap_or(rest.len())
        };
        tags.push(rest[..end].trim());
        rest = &rest[end..];
    }
}

/// Whether an `If-Match`/`If-None-Match` list matches `etag`; `strong`
/// selects the strong comparison (weak tags never match) instead of the
/// weak one.
pub fn etag_matches(list: &str, etag: &str, strong: bool) -> bool {
    if list.trim() == "*" {
        return true;
    }
    entity_tags(list).into_iter().any(|tag| {
        if strong {
            !tag.starts_with("W/") && tag == etag
        } else {
            opaque(tag) == opaque(etag)
        }
    })
}

fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .filter_map(|value| std::str::from_utf8(value).ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Evaluates the preconditions in RFC 9110 §13.2.2 order. `safe` is true
/// for GET and HEAD (the only methods that get `304`).
pub fn evaluate_preconditions(headers: &HeaderMap, validators: &Validators, safe: bool) -> Precondition {
    if let Some(list) = joined(headers, "if-match") {
        if !etag_matches(&list, &validators.etag, true) {
            return Precondition::Failed;
        }
    } else if let Some(since) = headers.get_str("if-unmodified-since").and_then(parse_http_date)
        && validators.last_modified > since
    {
        return Precondition::Failed;
    }
    if let Some(list) = joined(headers, "if-none-match") {
        if etag_matches(&list, &validators.etag, false) {
            return if safe {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if safe
        && let Some(since) = headers.get_str("if-modified-since").and_then(parse_http_date)
        && validators.last_modified <= since
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// Whether a `Range` may be honoured: true without `If-Range`, else only
/// when it names the current version (strong ETag comparison, or exactly
/// the `Last-Modified` date). Otherwise the whole file is sent.
pub fn if_range_allows(headers: &HeaderMap, validators: &Validators) -> bool {
    let Some(value) = headers.get_str("if-range") else {
        return headers.get("if-range").is_none();
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return !value.starts_with("W/") && value == validators.etag;
    }
    parse_http_date(value) == Some(validators.last_modified)
}
