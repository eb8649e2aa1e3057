//! Splitting a request path into decoded segments, safely.
//!
//! The rules (RFC 3986 §5.2.4 for the literal dot segments, stricter for
//! everything a naive consumer could misread):
//!
//! * the path must start with `/`; `"/"` is one empty segment `[""]` and a
//!   trailing slash ends with an empty segment (`/a/` → `["a", ""]`);
//! * each segment is percent-decoded on its own, so an encoded slash
//!   (`%2F`) stays *inside* its segment and never creates a new level;
//! * literal `.` segments are dropped and literal `..` segments remove the
//!   previous one (normalized like a browser would); a `..` that would climb
//!   above the root is refused;
//! * a segment that only *decodes* to `.` or `..` (`%2e%2E`), a segment
//!   with a NUL byte, invalid UTF-8 or a malformed escape is refused: such a
//!   request is answered `400 Bad Request` by the [`Site`](super::Site);
//! * at most [`MAX_SEGMENTS`] segments.

use std::fmt;

/// The most segments a path may have.
pub const MAX_SEGMENTS: usize = 512;

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// A `%` not followed by two hexadecimal digits.
    BadEscape,
    /// A decoded segment is not UTF-8.
    NotUtf8,
    /// A decoded segment holds a NUL byte.
    Nul,
    /// A segment decodes to `.` or `..` only after percent-decoding.
    EncodedDotSegment,
    /// A `..` climbs above the root.
    AboveRoot,
    /// More than [`MAX_SEGMENTS`] segments.
    TooManySegments,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "the path does not start with '/'",
            PathError::BadEscape => "malformed percent-escape in the path",
            PathError::NotUtf8 => "a path segment is not UTF-8",
            PathError::Nul => "a path segment holds a NUL byte",
            PathError::EncodedDotSegment => "a path segment is an encoded '.' or '..'",
            PathError::AboveRoot => "the path climbs above the root",
            PathError::TooManySegments => "the path has too many segments",
        })
    }
}

impl std::error::Error for PathError {}

/// Splits `path` (the path of a request target, without the query) into
/// decoded segments following the rules of this module.
///
/// ```
/// use gyre_http::resource::split_path;
/// assert_eq!(split_path("/a/b%2Fc/").unwrap(), ["a", "b/c", ""]);
/// assert_eq!(split_path("/a/./b/../c").unwrap(), ["a", "c"]);
/// assert!(split_path("/../etc").is_err());
/// assert!(split_path("/%2e%2e/etc").is_err());
/// ```
pub fn split_path(path: &str) -> Result<Vec<String>, PathError> {
    let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let raw: Vec<&str> = rest.split('/').collect();
    if raw.len() > MAX_SEGMENTS {
        return Err(PathError::TooManySegments);
    }
    let mut segments = Vec::with_capacity(raw.len());
    let last = raw.len() - 1;
    for (index, segment) in raw.into_iter().enumerate() {
        match segment {
            "." => {}
            ".." => {
                segments.pop().ok_or(PathError::AboveRoot)?;
            }
            _ => {
                segments.push(decode_segment(segment)?);
                continue;
            }
        }
        if index == last {
            segments.push(String::new());
        }
    }
    Ok(segments)
}

/// Percent-decodes one segment, refusing what could be misread later.
pub fn decode_segment(segment: &str) -> Result<String, PathError> {
    let out = percent_unescape(segment).ok_or(PathError::BadEscape)?;
    if out.contains(&0) {
        return Err(PathError::Nul);
    }
    let decoded = String::from_utf8(out).map_err(|_| PathError::NotUtf8)?;
    if decoded == "." || decoded == ".." {
        return Err(PathError::EncodedDotSegment);
    }
    Ok(decoded)
}

/// The bytes of `segment` with its `%XX` escapes decoded; `None` for a
/// `%` not followed by two hexadecimal digits. Shared with the static
/// files' path checks, which judge the result by their own rules.
pub(crate) fn percent_unescape(segment: &str) -> Option<Vec<u8>> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let high = bytes.get(index + 1).and_then(|b| hex(*b))?;
            let low = bytes.get(index + 2).and_then(|b| hex(*b))?;
            out.push(high << 4 | low);
            index += 3;
        } else {
            out.push(byte);
            index += 1;
        }
    }
    Some(out)
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_dots() {
        assert_eq!(split_path("/").unwrap(), [""]);
        assert_eq!(split_path("/a//b").unwrap(), ["a", "", "b"]);
        assert_eq!(split_path("/a/.").unwrap(), ["a", ""]);
        assert_eq!(split_path("/a/b/..").unwrap(), ["a", ""]);
        assert_eq!(split_path("/a/%41%c3%a9").unwrap(), ["a", "Aé"]);
        assert_eq!(split_path("/a/..%2f..").unwrap(), ["a", "../.."]);
        assert_eq!(split_path("a"), Err(PathError::NotAbsolute));
        assert_eq!(split_path("/.."), Err(PathError::AboveRoot));
        assert_eq!(split_path("/a/../.."), Err(PathError::AboveRoot));
        assert_eq!(split_path("/.%2E"), Err(PathError::EncodedDotSegment));
        assert_eq!(split_path("/%2"), Err(PathError::BadEscape));
        assert_eq!(split_path("/%zz"), Err(PathError::BadEscape));
        assert_eq!(split_path("/%00"), Err(PathError::Nul));
        assert_eq!(split_path("/%ff"), Err(PathError::NotUtf8));
        assert_eq!(split_path(&"/a".repeat(600)), Err(PathError::TooManySegments));
    }
}
