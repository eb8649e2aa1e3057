//! [`LineDecoder`]: the sans-IO core of the line receivers — lines split on
//! a delimiter, a raw mode that passes bytes through, and the limits.
//!
//! Every state transition of line framing lives in this file:
//!
//! ```text
//!            set_raw_mode / set_raw_mode_for(n)
//!   Line ─────────────────────────────────────────▶ Raw { remaining }
//!    ▲  ◀─────────────────────────────────────────   │
//!    │      set_line_mode(_after) / n bytes passed    │
//!    │                                               (bytes pass through)
//!    │ a delimiter ends the too-long line
//!   Discarding ◀── a partial line reached max_length + delimiter length
//! ```
//!
//! Lines that lie whole inside one read are handed out as slices of that
//! read; only an unfinished line is copied into the buffer, which therefore
//! never holds more than `max_length + delimiter length` bytes — except
//! while the caller holds bytes for a paused receiver ([`LineDecoder::hold`]),
//! which is bounded by `max_buffered`.

use std::ops::Range;

use super::buffer::{Buffer, PAUSED_SLACK};
use super::error::BufferLimitExceeded;
use super::input::{Input, find, find_across, last_bytes};

/// Twisted's `LineReceiver.MAX_LENGTH`: the longest line accepted, in bytes
/// without the delimiter.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 16_384;

/// Twisted's default delimiter, the one of most Internet text protocols.
pub const DEFAULT_DELIMITER: &[u8] = b"\r\n";

/// One thing the decoder found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEvent<'a> {
    /// A line, without its delimiter.
    Line(&'a [u8]),
    /// Bytes received in raw mode, as they came.
    Raw(&'a [u8]),
    /// A line over the maximum length: what was received of it (more than
    /// `max_length` bytes; a line still going on is cut at `max_length` plus
    /// the delimiter length). The rest of it, up to its delimiter, is
    /// skipped, and decoding goes on with the next line.
    TooLong(&'a [u8]),
}

/// How the decoder treats the bytes it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMode {
    /// Split on the delimiter.
    Line,
    /// Pass bytes through; with `remaining`, only that many, then back to
    /// line mode.
    Raw {
        /// Bytes still to pass through before line mode, if limited.
        remaining: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Line,
    /// Skipping the rest of a too-long line, up to its delimiter.
    Discarding,
    Raw {
        remaining: Option<u64>,
    },
}

/// Where the last raw event's bytes came from, so that
/// [`LineDecoder::set_line_mode_after`] can give the unused part back.
#[derive(Debug, Clone, Copy)]
enum RawFrom {
    Buffer(usize),
    Input(usize),
}

#[derive(Clone, Copy)]
enum Kind {
    Line,
    Raw,
    TooLong,
}

/// A frame's position, found before any slice is borrowed.
enum Found {
    Nothing,
    Buffer(Range<usize>, Kind),
    Input(Range<usize>, Kind),
}

impl Kind {
    fn event(self, bytes: &[u8]) -> LineEvent<'_> {
        match self {
            Kind::Line => LineEvent::Line(bytes),
            Kind::Raw => LineEvent::Raw(bytes),
            Kind::TooLong => LineEvent::TooLong(bytes),
        }
    }
}

/// Splits a byte stream into lines (and raw runs), sans-IO.
///
/// ```
/// use gyre_protocols::framing::{Input, LineDecoder, LineEvent};
///
/// let mut decoder = LineDecoder::new().with_delimiter(b"\n").with_max_length(8);
/// let mut input = Input::new(b"LEN 3\nabcnext\n");
/// assert_eq!(decoder.decode(&mut input), Some(LineEvent::Line(b"LEN 3")));
/// decoder.set_raw_mode_for(3); // three bytes of body, then lines again
/// assert_eq!(decoder.decode(&mut input), Some(LineEvent::Raw(b"abc")));
/// assert_eq!(decoder.decode(&mut input), Some(LineEvent::Line(b"next")));
/// assert_eq!(decoder.decode(&mut input), None);
/// ```
#[derive(Debug, Clone)]
pub struct LineDecoder {
    delimiter: Box<[u8]>,
    max_length: usize,
    max_buffered: Option<usize>,
    buf: Buffer,
    /// No delimiter starts in the first `verified` pending bytes.
    verified: usize,
    /// While discarding: the last bytes seen, in case a delimiter is split.
    tail: Vec<u8>,
    state: State,
    last_raw: Option<RawFrom>,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl LineDecoder {
    /// A decoder with Twisted's defaults: `\r\n`, lines up to 16,384 bytes.
    pub fn new() -> Self {
        LineDecoder {
            delimiter: DEFAULT_DELIMITER.into(),
            max_length: DEFAULT_MAX_LINE_LENGTH,
            max_buffered: None,
            buf: Buffer::default(),
            verified: 0,
            tail: Vec::new(),
            state: State::Line,
            last_raw: None,
        }
    }

    /// Splits on `delimiter` instead (`b"\n"` for most Unix tools).
    ///
    /// # Panics
    /// When `delimiter` is empty: no line could ever end.
    pub fn with_delimiter(mut self, delimiter: impl Into<Vec<u8>>) -> Self {
        let delimiter = delimiter.into();
        assert!(!delimiter.is_empty(), "a line delimiter cannot be empty");
        self.delimiter = delimiter.into_boxed_slice();
        self
    }

    /// Accepts lines up to `max_length` bytes (without the delimiter).
    pub fn with_max_length(mut self, max_length: usize) -> Self {
        self.max_length = max_length;
        self
    }

    /// Keeps at most `max_buffered` bytes for a paused receiver (default:
    /// one maximal line plus [`PAUSED_SLACK`]).
    pub fn with_max_buffered(mut self, max_buffered: usize) -> Self {
        self.max_buffered = Some(max_buffered);
        self
    }

    /// The delimiter lines end with.
    pub fn delimiter(&self) -> &[u8] {
        &self.delimiter
    }

    /// The longest line accepted.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The most bytes [`hold`](Self::hold) keeps.
    pub fn max_buffered(&self) -> usize {
        self.max_buffered.unwrap_or(
            self.max_length
                .saturating_add(self.delimiter.len())
                .saturating_add(PAUSED_SLACK),
        )
    }

    /// The current mode.
    pub fn mode(&self) -> LineMode {
        match self.state {
            State::Line | State::Discarding => LineMode::Line,
            State::Raw { remaining } => LineMode::Raw { remaining },
        }
    }

    /// Bytes received and not handed out yet: an unfinished line, or
    /// whatever was held.
    pub fn buffered(&self) -> &[u8] {
        self.buf.pending()
    }

    /// Whether the stream is in the middle of something: an unfinished
    /// line, a too-long line being skipped, or a raw run of announced length.
    pub fn is_mid_frame(&self) -> bool {
        !self.buffered().is_empty()
            || matches!(self.state, State::Discarding | State::Raw { remaining: Some(_) })
    }

    /// The next line or raw run, from the buffered bytes first and then from
    /// `input`; `None` once `input` is used up (its unfinished tail is kept).
    /// Frames that lie whole in `input` are slices of it.
    pub fn decode<'s, 'd: 's>(&'s mut self, input: &mut Input<'d>) -> Option<LineEvent<'s>> {
        self.last_raw = None;
        self.compact();
        let data = input.data();
        let found = loop {
            match self.state {
                State::Line => break self.line(input),
                State::Raw { remaining } => break self.raw(input, remaining),
                State::Discarding => {
                    if !self.discard(input) {
                        break Found::Nothing;
                    }
                }
            }
        };
        match found {
            Found::Nothing => None,
            Found::Buffer(range, kind) => Some(kind.event(self.buf.get(range))),
            Found::Input(range, kind) => Some(kind.event(&data[range])),
        }
    }

    /// Keeps all of `input` for later without decoding it, which is what a
    /// paused receiver does. Refuses (taking nothing) when that would make
    /// the buffer exceed [`max_buffered`](Self::max_buffered).
    pub fn hold(&mut self, input: &mut Input<'_>) -> Result<(), BufferLimitExceeded> {
        self.last_raw = None;
        let limit = self.max_buffered();
        self.buf.hold(input, limit)
    }

    /// Passes every byte from here on through as [`LineEvent::Raw`].
    pub fn set_raw_mode(&mut self) {
        self.state = State::Raw { remaining: None };
    }

    /// Passes the next `len` bytes through as raw, then goes back to lines
    /// (a body of known length after a header line). `0` means line mode.
    pub fn set_raw_mode_for(&mut self, len: u64) {
        self.state = match len {
            0 => State::Line,
            len => State::Raw { remaining: Some(len) },
        };
        self.verified = 0;
    }

    /// Splits lines again from the next byte on. A too-long line being
    /// skipped is still skipped.
    pub fn set_line_mode(&mut self) {
        if let State::Raw { .. } = self.state {
            self.state = State::Line;
            self.verified = 0;
        }
    }

    /// Of the raw run just decoded, only the first `used` bytes were raw
    /// data: the rest is decoded again, as lines (Twisted's
    /// `setLineMode(extra)`). Call it before the next `decode`, with the same
    /// `input`.
    pub fn set_line_mode_after(&mut self, used: usize, input: &mut Input<'_>) {
        match self.last_raw.take() {
            Some(RawFrom::Buffer(len)) => self.buf.unconsume(len.saturating_sub(used)),
            Some(RawFrom::Input(len)) => input.rewind(len.saturating_sub(used)),
            None => {}
        }
        self.state = State::Line;
        self.verified = 0;
    }

    /// Drops every buffered byte (Twisted's `clearLineBuffer`).
    pub fn clear_buffer(&mut self) {
        self.buf.clear();
        self.last_raw = None;
        self.verified = 0;
    }

    fn compact(&mut self) {
        if self.buf.compact() {
            self.verified = 0;
        }
    }

    /// Appends to the buffer (positions in it change).
    fn append(&mut self, bytes: &[u8]) {
        self.last_raw = None;
        self.buf.append(bytes);
    }

    fn kind_of(&self, len: usize) -> Kind {
        if len > self.max_length {
            Kind::TooLong
        } else {
            Kind::Line
        }
    }

    /// Hands out everything buffered as one frame.
    fn take_buffered(&mut self, kind: Kind) -> Found {
        self.verified = 0;
        Found::Buffer(self.buf.take_all(), kind)
    }

    fn line(&mut self, input: &mut Input<'_>) -> Found {
        let dlen = self.delimiter.len();
        // A partial line this long can no longer end within the limit.
        let hopeless = self.max_length.saturating_add(dlen);
        let rest = input.remaining();
        let from = input.consumed();
        let pending = self.buf.pending().len();
        if pending == 0 {
            if let Some(at) = find(rest, &self.delimiter) {
                input.advance(at + dlen);
                return Found::Input(from..from + at, self.kind_of(at));
            }
            if rest.len() >= hopeless {
                input.finish();
                self.tail = last_bytes(&[], rest, dlen - 1);
                self.state = State::Discarding;
                return Found::Input(from..from + rest.len(), Kind::TooLong);
            }
            self.append(rest);
            input.finish();
            self.verified = rest.len().saturating_sub(dlen - 1);
            return Found::Nothing;
        }
        // A line may end inside the buffer (bytes held while paused)...
        let start = self.buf.start();
        if let Some(at) = find(&self.buf.pending()[self.verified..], &self.delimiter) {
            let line = start..start + self.verified + at;
            self.buf.consume(line.len() + dlen);
            self.verified = 0;
            let kind = self.kind_of(line.len());
            return Found::Buffer(line, kind);
        }
        self.verified = pending.saturating_sub(dlen - 1);
        // ...or in this input, the delimiter perhaps split across the two.
        let end = find_across(self.buf.pending(), rest, &self.delimiter)
            .or_else(|| find(rest, &self.delimiter).map(|at| at + dlen));
        if let Some(end) = end {
            input.advance(end);
            if (pending + end).saturating_sub(dlen) > self.max_length {
                let room = hopeless.saturating_sub(pending).min(end);
                self.append(&rest[..room]);
                return self.take_buffered(Kind::TooLong);
            }
            self.append(&rest[..end]);
            let line = self.buf.take_all();
            self.verified = 0;
            return Found::Buffer(line.start..line.end - dlen, Kind::Line);
        }
        input.finish();
        if pending + rest.len() >= hopeless {
            self.tail = last_bytes(self.buf.pending(), rest, dlen - 1);
            self.state = State::Discarding;
            let room = hopeless.saturating_sub(pending).min(rest.len());
            self.append(&rest[..room]);
            return self.take_buffered(Kind::TooLong);
        }
        self.append(rest);
        self.verified = self.buf.pending().len().saturating_sub(dlen - 1);
        Found::Nothing
    }

    fn raw(&mut self, input: &mut Input<'_>, remaining: Option<u64>) -> Found {
        let cap = |available: usize| match remaining {
            Some(left) => available.min(usize::try_from(left).unwrap_or(usize::MAX)),
            None => available,
        };
        let pending = self.buf.pending().len();
        let (found, taken) = if pending > 0 {
            let taken = cap(pending);
            let range = self.buf.start()..self.buf.start() + taken;
            self.buf.consume(taken);
            self.last_raw = Some(RawFrom::Buffer(taken));
            (Found::Buffer(range, Kind::Raw), taken)
        } else if !input.is_empty() {
            let taken = cap(input.remaining().len());
            let from = input.consumed();
            input.advance(taken);
            self.last_raw = Some(RawFrom::Input(taken));
            (Found::Input(from..from + taken, Kind::Raw), taken)
        } else {
            return Found::Nothing;
        };
        if let Some(left) = remaining {
            self.state = match left - taken as u64 {
                0 => State::Line,
                left => State::Raw {
                    remaining: Some(left),
                },
            };
        }
        self.verified = 0;
        found
    }

    /// Skips to the end of a too-long line; true once its delimiter passed.
    fn discard(&mut self, input: &mut Input<'_>) -> bool {
        if !self.buf.pending().is_empty() {
            match skip_line(&mut self.tail, self.buf.pending(), &self.delimiter) {
                Some(end) => {
                    self.buf.consume(end);
                    self.state = State::Line;
                    return true;
                }
                None => {
                    self.buf.take_all();
                }
            }
        }
        match skip_line(&mut self.tail, input.remaining(), &self.delimiter) {
            Some(end) => {
                input.advance(end);
                self.state = State::Line;
                true
            }
            None => {
                input.finish();
                false
            }
        }
    }
}

/// Where the delimiter ends in `bytes` (which follow `tail`); otherwise
/// remembers the last bytes in `tail`, for a delimiter split across reads.
fn skip_line(tail: &mut Vec<u8>, bytes: &[u8], delimiter: &[u8]) -> Option<usize> {
    let end =
        find_across(tail, bytes, delimiter).or_else(|| find(bytes, delimiter).map(|at| at + delimiter.len()));
    *tail = match end {
        Some(_) => Vec::new(),
        None => last_bytes(tail, bytes, delimiter.len() - 1),
    };
    end
}
