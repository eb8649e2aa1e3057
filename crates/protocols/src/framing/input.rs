//! [`Input`]: the bytes of one read, and how far a decoder got through them.
//!
//! The decoders hand out frames as slices of the caller's bytes whenever a
//! frame lies whole inside one read, and copy only the unfinished tail. To
//! do that the read has to stay borrowed while frames are handed out one at
//! a time, so the caller wraps it in an `Input` and the decoder moves its
//! position forward (and, for the line decoder's "the rest was not raw
//! data after all", back).

/// One read's bytes and the position up to which a decoder consumed them.
///
/// ```
/// use gyre_protocols::framing::{Input, LineDecoder, LineEvent};
///
/// let mut decoder = LineDecoder::new();
/// let mut input = Input::new(b"one\r\ntwo\r\nthr");
/// assert_eq!(decoder.decode(&mut input), Some(LineEvent::Line(b"one")));
/// assert_eq!(input.remaining(), b"two\r\nthr");
/// assert_eq!(decoder.decode(&mut input), Some(LineEvent::Line(b"two")));
/// assert_eq!(decoder.decode(&mut input), None); // "thr" is kept for later
/// assert!(input.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    /// Wraps one read's bytes, nothing consumed yet.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data, pos: 0 }
    }

    /// The bytes not consumed yet.
    pub fn remaining(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.pos == self.data.len()
    }

    /// How many bytes were consumed.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// The whole read, for turning positions into slices.
    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Consumes `n` more bytes (at most what remains).
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.data.len());
    }

    /// Consumes everything that remains.
    pub(crate) fn finish(&mut self) {
        self.pos = self.data.len();
    }

    /// Gives back the last `n` consumed bytes (at most what was consumed).
    pub(crate) fn rewind(&mut self, n: usize) {
        self.pos = self.pos.saturating_sub(n);
    }
}

/// The position of the first occurrence of `needle` (not empty) in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let at = from + offset;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Where a `needle` that starts inside `tail` (the last bytes before
/// `next`) ends inside `next`: the index in `next` just after it. Only
/// starts within the last `needle.len() - 1` bytes of `tail` are tried,
/// earliest first.
pub(crate) fn find_across(tail: &[u8], next: &[u8], needle: &[u8]) -> Option<usize> {
    let longest = tail.len().min(needle.len().saturating_sub(1));
    (1..=longest).rev().find_map(|in_tail| {
        let (head, rest) = needle.split_at(in_tail);
        (tail.ends_with(head) && next.starts_with(rest)).then_some(rest.len())
    })
}

/// The last `n` bytes of `first` followed by `second`.
pub(crate) fn last_bytes(first: &[u8], second: &[u8], n: usize) -> Vec<u8> {
    let from_second = second.len().min(n);
    let from_first = (n - from_second).min(first.len());
    let mut kept = Vec::with_capacity(from_first + from_second);
    kept.extend_from_slice(&first[first.len() - from_first..]);
    kept.extend_from_slice(&second[second.len() - from_second..]);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_handles_repeats_and_ends() {
        assert_eq!(find(b"ab\r\r\ncd", b"\r\n"), Some(3));
        assert_eq!(find(b"abc\r", b"\r\n"), None);
        assert_eq!(find(b"", b"\n"), None);
        assert_eq!(find(b"xxaab", b"aab"), Some(2));
        assert_eq!(find(b"\n", b"\n"), Some(0));
    }

    #[test]
    fn find_across_picks_the_earliest_start() {
        assert_eq!(find_across(b"ab\r", b"\nx", b"\r\n"), Some(1));
        assert_eq!(find_across(b"ab", b"\r\n", b"\r\n"), None, "wholly in `next`");
        assert_eq!(find_across(b"xab", b"ab", b"abab"), Some(2));
        assert_eq!(find_across(b"a", b"b", b"aba"), None, "needs more of `next`");
        assert_eq!(find_across(b"", b"ab", b"ab"), None);
    }

    #[test]
    fn last_bytes_spans_both_parts() {
        assert_eq!(last_bytes(b"abc", b"d", 3), b"bcd");
        assert_eq!(last_bytes(b"a", b"", 3), b"a");
        assert_eq!(last_bytes(b"abc", b"defg", 2), b"fg");
        assert_eq!(last_bytes(b"abc", b"", 0), b"");
    }
}
