//! [`HeaderMap`]: header fields in one buffer, in order, duplicates kept.
//!
//! A parsed head copies every field name and value into a single byte
//! buffer and records where each field starts; looking a field up compares
//! names ASCII-case-insensitively. One map therefore costs two allocations
//! however many fields it holds, and none at all once a map is reused with
//! [`HeaderMap::clear`]. Order and duplicates are kept because they carry
//! meaning (`Set-Cookie`, list fields split over several lines) and because
//! a proxy must forward what it received.

use std::fmt;

use crate::error::SendError;
use crate::wire::token::{is_field_value, is_token, list_elements};

/// Room made by the first field added to an empty map: enough for the
/// heads a server usually sends (status line aside).
const FIRST_FIELDS: usize = 8;
const FIRST_BYTES: usize = 256;

/// Where one field lives in the buffer: name at `start..value`, value at
/// `value..end`.
#[derive(Clone, Copy)]
struct Entry {
    start: usize,
    value: usize,
    end: usize,
}

/// Header (or trailer) fields of one message.
///
/// ```
/// use gyre_http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.append("Set-Cookie", "a=1").unwrap();
/// headers.append("set-cookie", "b=2").unwrap();
/// headers.append("Connection", "keep-alive, Upgrade").unwrap();
/// assert_eq!(headers.get("SET-COOKIE"), Some(&b"a=1"[..]));
/// assert_eq!(headers.get_all("Set-Cookie").count(), 2);
/// assert!(headers.has_token("connection", "upgrade"));
/// assert!(headers.append("Bad Name", "x").is_err());
/// assert!(headers.append("X", "line\r\nInjected: 1").is_err());
/// ```
#[derive(Clone, Default)]
pub struct HeaderMap {
    buf: Vec<u8>,
    entries: Vec<Entry>,
}

impl HeaderMap {
    /// An empty map (no allocation until the first field).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        HeaderMap {
            buf: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(fields),
        }
    }

    /// Adds a field after the others, keeping fields of the same name.
    /// Fails when `name` is not a token or `value` holds a control
    /// character (CR, LF, NUL, ...) or leading/trailing whitespace, so a
    /// header built from untrusted data can never inject a line.
    pub fn append(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<&mut Self, SendError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        if !is_token(name) {
            return Err(SendError::InvalidHead("header field name is not a token"));
        }
        if !is_field_value(value) {
            return Err(SendError::InvalidHead(
                "header field value holds a control character or edge whitespace",
            ));
        }
        self.push_unchecked(name, value);
        Ok(self)
    }

    /// Replaces every field called `name` by one with `value`, at the
    /// position of the first one (or at the end).
    pub fn insert(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<&mut Self, SendError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        if !is_token(name) || !is_field_value(value) {
            return Err(SendError::InvalidHead("invalid header field"));
        }
        match self.position(name) {
            Some(first) => {
                let start = self.buf.len();
                self.buf.extend_from_slice(name);
                let value_at = self.buf.len();
                self.buf.extend_from_slice(value);
                self.entries[first] = Entry {
                    start,
                    value: value_at,
                    end: self.buf.len(),
                };
                let mut index = 0;
                self.entries.retain(|entry| {
                    let keep = index <= first || !eq_name(&self.buf[entry.start..entry.value], name);
                    index += 1;
                    keep
                });
            }
            None => self.push_unchecked(name, value),
        }
        Ok(self)
    }

    /// Adds a field the caller has already validated (the parser, whose
    /// input httparse checked).
    pub(crate) fn push_unchecked(&mut self, name: &[u8], value: &[u8]) {
        if self.entries.capacity() == 0 {
            // A map built field by field (a response head) would otherwise
            // grow both vectors from nothing, five or six reallocations for
            // a typical head; one block each covers most heads.
            self.entries.reserve(FIRST_FIELDS);
            self.buf.reserve(FIRST_BYTES.max(name.len() + value.len()));
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(name);
        let value_at = self.buf.len();
        self.buf.extend_from_slice(value);
        self.entries.push(Entry {
            start,
            value: value_at,
            end: self.buf.len(),
        });
    }

    /// Removes every field called `name`; returns how many there were.
    pub fn remove(&mut self, name: impl AsRef<[u8]>) -> usize {
        let name = name.as_ref();
        let before = self.entries.len();
        let buf = &self.buf;
        self.entries
            .retain(|entry| !eq_name(&buf[entry.start..entry.value], name));
        if self.entries.is_empty() {
            self.buf.clear();
        }
        before - self.entries.len()
    }

    /// Removes every field, keeping the allocations for reuse.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.entries.clear();
    }

    fn position(&self, name: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|entry| eq_name(&self.buf[entry.start..entry.value], name))
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The value of the first field called `name`, if it is UTF-8.
    pub fn get_str(&self, name: impl AsRef<[u8]>) -> Option<&str> {
        self.get(name).and_then(|value| std::str::from_utf8(value).ok())
    }

    /// The values of every field called `name`, in order.
    pub fn get_all(&self, name: impl AsRef<[u8]>) -> impl Iterator<Item = &[u8]> {
        let name = name.as_ref().to_owned_small();
        self.entries
            .iter()
            .filter(move |entry| eq_name(&self.buf[entry.start..entry.value], name.as_slice()))
            .map(|entry| &self.buf[entry.value..entry.end])
    }

    /// How many fields are called `name`.
    pub fn count(&self, name: impl AsRef<[u8]>) -> usize {
        self.get_all(name).count()
    }

    /// Whether a field called `name` exists.
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        self.position(name.as_ref()).is_some()
    }

    /// Whether the comma-separated list fields called `name` contain
    /// `token`, compared ASCII-case-insensitively (`Connection: close`,
    /// `Expect: 100-continue`, `Connection: keep-alive, Upgrade`).
    pub fn has_token(&self, name: impl AsRef<[u8]>, token: impl AsRef<[u8]>) -> bool {
        let token = token.as_ref();
        self.get_all(name)
            .any(|value| list_elements(value).any(|element| element.eq_ignore_ascii_case(token)))
    }

    /// Every field as (name, value), in order. Names are tokens, so ASCII.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|entry| {
            let name = std::str::from_utf8(&self.buf[entry.start..entry.value]).unwrap_or("");
            (name, &self.buf[entry.value..entry.end])
        })
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes every field as `name: value\r\n`.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        for entry in &self.entries {
            out.extend_from_slice(&self.buf[entry.start..entry.value]);
            out.extend_from_slice(b": ");
            out.extend_from_slice(&self.buf[entry.value..entry.end]);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The bytes the fields take when written.
    pub(crate) fn wire_len(&self) -> usize {
        self.buf.len() + 4 * self.entries.len()
    }
}

/// Field names compare ASCII-case-insensitively (RFC 9110 §5.1).
fn eq_name(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A copy of a looked-up name that lives as long as the iterator, without
/// allocating for the names HTTP uses (all shorter than 64 bytes).
trait SmallName {
    fn to_owned_small(&self) -> NameBuf;
}

impl SmallName for [u8] {
    fn to_owned_small(&self) -> NameBuf {
        if self.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..self.len()].copy_from_slice(self);
            NameBuf::Inline(inline, self.len())
        } else {
            NameBuf::Heap(self.to_vec())
        }
    }
}

const INLINE: usize = 64;

enum NameBuf {
    Inline([u8; INLINE], usize),
    Heap(Vec<u8>),
}

impl NameBuf {
    fn as_slice(&self) -> &[u8] {
        match self {
            NameBuf::Inline(bytes, len) => &bytes[..*len],
            NameBuf::Heap(bytes) => bytes,
        }
    }
}

impl fmt::Debug for HeaderMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(name, value)| format!("{name}: {}", value.escape_ascii())),
            )
            .finish()
    }
}

impl PartialEq for HeaderMap {
    /// Equal when the same fields appear in the same order; names compare
    /// case-insensitively.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((n1, v1), (n2, v2))| n1.eq_ignore_ascii_case(n2) && v1 == v2)
    }
}

impl Eq for HeaderMap {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_duplicates_and_case_are_kept() {
        let mut headers = HeaderMap::new();
        headers
            .append("B", "1")
            .unwrap()
            .append("a", "2")
            .unwrap()
            .append("b", "3")
            .unwrap();
        let fields: Vec<(&str, &[u8])> = headers.iter().collect();
        assert_eq!(fields, [("B", &b"1"[..]), ("a", b"2"), ("b", b"3")]);
        assert_eq!(headers.get_all("b").collect::<Vec<_>>(), [&b"1"[..], b"3"]);
        let mut out = Vec::new();
        headers.write_to(&mut out);
        assert_eq!(out, b"B: 1\r\na: 2\r\nb: 3\r\n");
        assert_eq!(out.len(), headers.wire_len());
    }

    #[test]
    fn insert_replaces_all_at_the_first_position_and_remove_removes_all() {
        let mut headers = HeaderMap::new();
        headers
            .append("x", "1")
            .unwrap()
            .append("y", "2")
            .unwrap()
            .append("X", "3")
            .unwrap();
        headers.insert("X", "new").unwrap();
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            [("X", &b"new"[..]), ("y", b"2")]
        );
        headers.insert("z", "4").unwrap();
        assert_eq!(headers.remove("Y"), 1);
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            [("X", &b"new"[..]), ("z", b"4")]
        );
        headers.clear();
        assert!(headers.is_empty());
    }

    #[test]
    fn tokens_in_list_fields() {
        let mut headers = HeaderMap::new();
        headers
            .append("Connection", "Keep-Alive ,  TE")
            .unwrap()
            .append("connection", "CLOSE")
            .unwrap();
        assert!(headers.has_token("connection", "close"));
        assert!(headers.has_token("CONNECTION", "te"));
        assert!(!headers.has_token("connection", "upgrade"));
        let long = "x".repeat(100);
        headers.append(&long, "v").unwrap();
        assert_eq!(headers.get(&long), Some(&b"v"[..]));
    }

    #[test]
    fn invalid_fields_are_refused() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("", "v"),
            ("a b", "v"),
            ("a:", "v"),
            ("n", "a\rb"),
            ("n", "a\nb"),
            ("n", " v"),
            ("n", "\0"),
        ] {
            assert!(headers.append(name, value).is_err(), "{name:?}: {value:?}");
            assert!(headers.insert(name, value).is_err());
        }
        assert!(headers.is_empty());
    }
}
