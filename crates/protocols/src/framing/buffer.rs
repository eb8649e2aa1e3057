//! [`Buffer`]: the bytes a decoder keeps between reads — an unfinished
//! frame, or everything that arrived while its receiver was paused.
//!
//! Frames handed out of the buffer are slices of it, so consumed bytes are
//! only marked (`start` moves) and dropped when more bytes are appended or
//! when everything was consumed. An emptied buffer gives back its memory
//! beyond [`RETAINED_CAPACITY`], so an idle connection that once received a
//! long frame does not keep it.

use std::ops::Range;

use super::error::BufferLimitExceeded;
use super::input::Input;

/// What a paused receiver keeps beyond one maximal frame, by default.
/// Pausing stops the transport reading, so what still arrives is the rest of
/// the read in progress (the reactor reads at most 64 KiB at a time; TLS may
/// hand over a few records at once); 256 KiB leaves room for that and no
/// more.
pub const PAUSED_SLACK: usize = 256 * 1024;

/// An emptied buffer keeps at most this much capacity.
const RETAINED_CAPACITY: usize = 4096;

/// Kept bytes, of which those before `start` were handed out already.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buffer {
    bytes: Vec<u8>,
    start: usize,
}

impl Buffer {
    /// The bytes kept and not handed out yet.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// Where the pending bytes start.
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// The bytes at `range` (positions as [`start`](Self::start) gives them).
    pub(crate) fn get(&self, range: Range<usize>) -> &[u8] {
        &self.bytes[range]
    }

    /// Marks `n` more pending bytes as handed out.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.bytes.len());
    }

    /// Gives back the last `n` bytes handed out (before any append).
    pub(crate) fn unconsume(&mut self, n: usize) {
        self.start = self.start.saturating_sub(n);
    }

    /// Hands out every pending byte: their range.
    pub(crate) fn take_all(&mut self) -> Range<usize> {
        let range = self.start..self.bytes.len();
        self.start = self.bytes.len();
        range
    }

    /// Empties the buffer once everything was handed out, dropping large
    /// memory; true if it did.
    pub(crate) fn compact(&mut self) -> bool {
        if self.start < self.bytes.len() {
            return false;
        }
        if self.bytes.capacity() > RETAINED_CAPACITY {
            self.bytes = Vec::new();
        } else {
            self.bytes.clear();
        }
        self.start = 0;
        true
    }

    /// Drops everything, handed out or not.
    pub(crate) fn clear(&mut self) {
        self.start = self.bytes.len();
        self.compact();
    }

    /// Appends `bytes`, first dropping those handed out (so positions
    /// change: take ranges after appending).
    pub(crate) fn append(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        self.bytes.extend_from_slice(bytes);
    }

    /// Moves up to `need` bytes of `input` into the buffer; true if all came.
    pub(crate) fn fill(&mut self, input: &mut Input<'_>, need: usize) -> bool {
        let rest = input.remaining();
        let take = need.min(rest.len());
        self.append(&rest[..take]);
        input.advance(take);
        take == need
    }

    /// Keeps all of `input` (a paused receiver), unless the pending bytes
    /// would then exceed `limit`: then takes nothing and says so.
    pub(crate) fn hold(&mut self, input: &mut Input<'_>, limit: usize) -> Result<(), BufferLimitExceeded> {
        let rest = input.remaining();
        if rest.is_empty() {
            return Ok(());
        }
        if self.pending().len().saturating_add(rest.len()) > limit {
            return Err(BufferLimitExceeded::new(limit));
        }
        self.compact();
        self.append(rest);
        input.finish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumed_bytes_are_dropped_on_append_and_memory_on_compact() {
        let mut buffer = Buffer::default();
        buffer.append(b"hello world");
        buffer.consume(6);
        assert_eq!(buffer.pending(), b"world");
        buffer.append(b"!");
        assert_eq!((buffer.start(), buffer.pending()), (0, &b"world!"[..]));
        assert_eq!(buffer.take_all(), 0..6);
        assert!(buffer.compact());
        buffer.append(&[0; 100_000]);
        buffer.consume(100_000);
        assert!(buffer.compact());
        assert!(buffer.bytes.capacity() <= RETAINED_CAPACITY);
    }

    #[test]
    fn hold_refuses_beyond_the_limit_taking_nothing() {
        let mut buffer = Buffer::default();
        let mut input = Input::new(b"abc");
        buffer.hold(&mut input, 3).unwrap();
        let mut more = Input::new(b"d");
        assert_eq!(buffer.hold(&mut more, 3), Err(BufferLimitExceeded::new(3)));
        assert_eq!(more.remaining(), b"d");
        assert_eq!(buffer.pending(), b"abc");
    }
}
