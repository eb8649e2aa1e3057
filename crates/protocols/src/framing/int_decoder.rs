//! Length-prefixed strings (Twisted's `Int8StringReceiver`,
//! `Int16StringReceiver`, `Int32StringReceiver`): the wire format
//! ([`Prefix`], [`encode_string`]) and the sans-IO [`IntDecoder`].
//!
//! Each string is its length as an unsigned big-endian integer of 1, 2 or 4
//! bytes, then that many bytes. The decoder hands out strings that lie whole
//! in one read as slices of it and copies only an unfinished string, so its
//! buffer never holds more than one prefix plus `max_length` bytes (more
//! only while holding bytes for a paused receiver, up to `max_buffered`).
//!
//! A prefix over `max_length` is reported as [`IntEvent::TooLong`]; the
//! string's bytes are then skipped by counting, never buffered, so a
//! receiver that chooses not to close stays in step with the stream.

use std::ops::Range;

use super::buffer::{Buffer, PAUSED_SLACK};
use super::error::{BufferLimitExceeded, StringTooLong};
use super::input::Input;

/// Twisted's `IntNStringReceiver.MAX_LENGTH`: the longest string accepted.
pub const DEFAULT_MAX_STRING_LENGTH: usize = 99_999;

/// The size of the length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// One byte: strings up to 255 bytes (Twisted's `Int8StringReceiver`).
    U8,
    /// Two bytes, big-endian: up to 65,535 (`Int16StringReceiver`).
    U16,
    /// Four bytes, big-endian: up to 4,294,967,295 (`Int32StringReceiver`).
    U32,
}

impl Prefix {
    /// How many bytes the prefix takes.
    pub fn width(self) -> usize {
        match self {
            Prefix::U8 => 1,
            Prefix::U16 => 2,
            Prefix::U32 => 4,
        }
    }

    /// The longest string the prefix can announce.
    pub fn max_length(self) -> u64 {
        match self {
            Prefix::U8 => u8::MAX.into(),
            Prefix::U16 => u16::MAX.into(),
            Prefix::U32 => u32::MAX.into(),
        }
    }

    /// The prefix announcing `length` bytes, or why it cannot.
    pub fn encode(self, length: usize) -> Result<PrefixBytes, StringTooLong> {
        let max = self.max_length();
        let value = u32::try_from(length)
            .ok()
            .filter(|&value| u64::from(value) <= max)
            .ok_or(StringTooLong::new(length, max))?;
        let width = self.width();
        let mut bytes = [0; 4];
        bytes[..width].copy_from_slice(&value.to_be_bytes()[4 - width..]);
        Ok(PrefixBytes { bytes, width })
    }

    /// The length announced by the first [`width`](Self::width) bytes of
    /// `bytes`, or `None` if there are fewer.
    pub fn decode(self, bytes: &[u8]) -> Option<u64> {
        let prefix = bytes.get(..self.width())?;
        Some(prefix.iter().fold(0, |value, &byte| value << 8 | u64::from(byte)))
    }
}

/// An encoded prefix, kept on the stack so that sending a string needs no
/// allocation: the prefix and the string go out as one vectored write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixBytes {
    bytes: [u8; 4],
    width: usize,
}

impl PrefixBytes {
    /// The prefix's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.width]
    }
}

/// Appends `data` with its `prefix` to `out`, or refuses a string the
/// prefix cannot announce (appending nothing).
///
/// ```
/// use gyre_protocols::framing::{Prefix, encode_string};
///
/// let mut out = Vec::new();
/// encode_string(Prefix::U16, b"hi", &mut out).unwrap();
/// assert_eq!(out, b"\x00\x02hi");
/// assert!(encode_string(Prefix::U8, &[0; 256], &mut out).is_err());
/// ```
pub fn encode_string(prefix: Prefix, data: &[u8], out: &mut Vec<u8>) -> Result<(), StringTooLong> {
    let header = prefix.encode(data.len())?;
    out.reserve(header.as_bytes().len() + data.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// One thing the decoder found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntEvent<'a> {
    /// A whole string, without its prefix.
    String(&'a [u8]),
    /// A prefix announced more than `max_length` bytes; they will be skipped.
    TooLong {
        /// The announced length.
        length: u64,
    },
}

enum Found {
    Nothing,
    TooLong(u64),
    Buffer(Range<usize>),
    Input(Range<usize>),
}

/// Splits a byte stream into length-prefixed strings, sans-IO.
///
/// ```
/// use gyre_protocols::framing::{Input, IntDecoder, IntEvent, Prefix};
///
/// let mut decoder = IntDecoder::new(Prefix::U32);
/// let mut first = Input::new(b"\0\0\0\x05hello\0\0");
/// assert_eq!(decoder.decode(&mut first), Some(IntEvent::String(b"hello")));
/// assert_eq!(decoder.decode(&mut first), None); // half a prefix kept
/// let mut second = Input::new(b"\0\x02hi");
/// assert_eq!(decoder.decode(&mut second), Some(IntEvent::String(b"hi")));
/// ```
#[derive(Debug, Clone)]
pub struct IntDecoder {
    prefix: Prefix,
    max_length: usize,
    max_buffered: Option<usize>,
    buf: Buffer,
    /// Bytes of a too-long string still to skip.
    skipping: u64,
}

impl IntDecoder {
    /// A decoder for `prefix` accepting strings up to Twisted's 99,999 bytes.
    pub fn new(prefix: Prefix) -> Self {
        IntDecoder {
            prefix,
            max_length: DEFAULT_MAX_STRING_LENGTH,
            max_buffered: None,
            buf: Buffer::default(),
            skipping: 0,
        }
    }

    /// Accepts strings up to `max_length` bytes.
    pub fn with_max_length(mut self, max_length: usize) -> Self {
        self.max_length = max_length;
        self
    }

    /// Keeps at most `max_buffered` bytes for a paused receiver (default:
    /// one maximal string plus [`PAUSED_SLACK`]).
    pub fn with_max_buffered(mut self, max_buffered: usize) -> Self {
        self.max_buffered = Some(max_buffered);
        self
    }

    /// The prefix size.
    pub fn prefix(&self) -> Prefix {
        self.prefix
    }

    /// The longest string accepted.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The most bytes [`hold`](Self::hold) keeps.
    pub fn max_buffered(&self) -> usize {
        self.max_buffered.unwrap_or(
            self.max_length
                .saturating_add(self.prefix.width())
                .saturating_add(PAUSED_SLACK),
        )
    }

    /// Bytes received and not handed out yet.
    pub fn buffered(&self) -> &[u8] {
        self.buf.pending()
    }

    /// Whether a string has begun and not ended (or is being skipped).
    pub fn is_mid_frame(&self) -> bool {
        !self.buffered().is_empty() || self.skipping > 0
    }

    /// The next string, from the buffered bytes first and then from `input`;
    /// `None` once `input` is used up (an unfinished string is kept).
    pub fn decode<'s, 'd: 's>(&'s mut self, input: &mut Input<'d>) -> Option<IntEvent<'s>> {
        self.buf.compact();
        if self.skipping > 0 && !self.skip(input) {
            return None;
        }
        let data = input.data();
        match self.next(input) {
            Found::Nothing => None,
            Found::TooLong(length) => Some(IntEvent::TooLong { length }),
            Found::Buffer(range) => Some(IntEvent::String(self.buf.get(range))),
            Found::Input(range) => Some(IntEvent::String(&data[range])),
        }
    }

    /// Keeps all of `input` for later without decoding it (a paused
    /// receiver). Refuses, taking nothing, beyond
    /// [`max_buffered`](Self::max_buffered).
    pub fn hold(&mut self, input: &mut Input<'_>) -> Result<(), BufferLimitExceeded> {
        let limit = self.max_buffered();
        self.buf.hold(input, limit)
    }

    /// Skips a too-long string's bytes; true once all are skipped.
    fn skip(&mut self, input: &mut Input<'_>) -> bool {
        let held = self.buf.pending().len() as u64;
        let from_held = held.min(self.skipping);
        self.buf.consume(from_held as usize);
        self.skipping -= from_held;
        let from_input = (input.remaining().len() as u64).min(self.skipping);
        input.advance(from_input as usize);
        self.skipping -= from_input;
        self.skipping == 0
    }

    fn next(&mut self, input: &mut Input<'_>) -> Found {
        let width = self.prefix.width();
        if self.buf.pending().is_empty() {
            let rest = input.remaining();
            let Some(length) = self.prefix.decode(rest) else {
                self.buf.fill(input, width);
                return Found::Nothing;
            };
            if length > self.max_length as u64 {
                input.advance(width);
                self.skipping = length;
                return Found::TooLong(length);
            }
            let total = width + length as usize;
            if rest.len() >= total {
                let from = input.consumed();
                input.advance(total);
                return Found::Input(from + width..from + total);
            }
            self.buf.fill(input, total);
            return Found::Nothing;
        }
        let pending = self.buf.pending().len();
        if pending < width && !self.buf.fill(input, width - pending) {
            return Found::Nothing;
        }
        let length = self.prefix.decode(self.buf.pending()).unwrap_or_default();
        if length > self.max_length as u64 {
            self.buf.consume(width);
            self.skipping = length;
            return Found::TooLong(length);
        }
        let total = width + length as usize;
        let pending = self.buf.pending().len();
        if pending < total && !self.buf.fill(input, total - pending) {
            return Found::Nothing;
        }
        let start = self.buf.start();
        self.buf.consume(total);
        Found::Buffer(start + width..start + total)
    }
}
