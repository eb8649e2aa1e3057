//! Netstrings (D. J. Bernstein's `LEN:DATA,`, Twisted's
//! `NetstringReceiver`): the wire format ([`encode_netstring`]) and the
//! strict sans-IO [`NetstringDecoder`].
//!
//! Parsing is strict, as djb specifies and Twisted enforces: the length is
//! decimal digits with no leading zero (except `0` itself), then `:`, the
//! data, and `,`. A length over `max_length` is refused as soon as its
//! digits say so, before any data is buffered. Any violation is a
//! [`NetstringError`] naming the offending byte's offset, and the decoder
//! stays failed: a netstring stream cannot be resynchronised.

use super::buffer::{Buffer, PAUSED_SLACK};
use super::error::{BufferLimitExceeded, NetstringError, NetstringErrorKind};
use super::input::Input;
use super::int_decoder::DEFAULT_MAX_STRING_LENGTH;

/// The longest length header: the digits of `u64::MAX` and the colon.
const MAX_HEADER: usize = 21;

/// The `LEN:` header of a netstring of `length` bytes, on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetstringHeader {
    bytes: [u8; MAX_HEADER],
    start: usize,
}

impl NetstringHeader {
    /// The header for `length` bytes of data.
    pub fn new(length: usize) -> Self {
        let mut bytes = [0; MAX_HEADER];
        bytes[MAX_HEADER - 1] = b':';
        let mut start = MAX_HEADER - 1;
        let mut value = length as u64;
        loop {
            start -= 1;
            bytes[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        NetstringHeader { bytes, start }
    }

    /// The header's bytes, such as `b"12:"`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// Appends `data` as a netstring to `out`.
///
/// ```
/// let mut out = Vec::new();
/// gyre_protocols::framing::encode_netstring(b"hello world!", &mut out);
/// assert_eq!(out, b"12:hello world!,");
/// ```
pub fn encode_netstring(data: &[u8], out: &mut Vec<u8>) {
    let header = NetstringHeader::new(data.len());
    out.reserve(header.as_bytes().len() + data.len() + 1);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.push(b',');
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length { value: u64, digits: u32 },
    Data { length: usize },
    Failed(NetstringError),
}

/// Splits a byte stream into netstrings, sans-IO.
///
/// ```
/// use gyre_protocols::framing::{Input, NetstringDecoder, NetstringErrorKind};
///
/// let mut decoder = NetstringDecoder::new();
/// let mut input = Input::new(b"5:hello,0:,01:x,");
/// assert_eq!(decoder.decode(&mut input), Ok(Some(&b"hello"[..])));
/// assert_eq!(decoder.decode(&mut input), Ok(Some(&b""[..])));
/// let error = decoder.decode(&mut input).unwrap_err();
/// assert_eq!(error.kind, NetstringErrorKind::LeadingZero);
/// assert_eq!(error.offset, 12); // the `1` after the leading `0`
/// assert!(decoder.decode(&mut Input::new(b"1:x,")).is_err(), "stays failed");
/// ```
#[derive(Debug, Clone)]
pub struct NetstringDecoder {
    max_length: usize,
    max_buffered: Option<usize>,
    buf: Buffer,
    state: State,
    /// Stream offset of the next byte to parse.
    offset: u64,
}

impl Default for NetstringDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl NetstringDecoder {
    /// A decoder accepting netstrings up to Twisted's 99,999 bytes.
    pub fn new() -> Self {
        NetstringDecoder {
            max_length: DEFAULT_MAX_STRING_LENGTH,
            max_buffered: None,
            buf: Buffer::default(),
            state: State::Length { value: 0, digits: 0 },
            offset: 0,
        }
    }

    /// Accepts netstrings up to `max_length` bytes of data (at most
    /// `usize::MAX - 1`, so that the data and its comma have a length).
    pub fn with_max_length(mut self, max_length: usize) -> Self {
        self.max_length = max_length.min(usize::MAX - 1);
        self
    }

    /// Keeps at most `max_buffered` bytes for a paused receiver (default:
    /// one maximal netstring plus [`PAUSED_SLACK`]).
    pub fn with_max_buffered(mut self, max_buffered: usize) -> Self {
        self.max_buffered = Some(max_buffered);
        self
    }

    /// The longest netstring accepted.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The most bytes [`hold`](Self::hold) keeps.
    pub fn max_buffered(&self) -> usize {
        self.max_buffered.unwrap_or(
            self.max_length
                .saturating_add(MAX_HEADER + 1)
                .saturating_add(PAUSED_SLACK),
        )
    }

    /// Bytes received and not handed out yet (the header of an unfinished
    /// netstring is parsed as it arrives and not kept).
    pub fn buffered(&self) -> &[u8] {
        self.buf.pending()
    }

    /// Whether the stream was found malformed (every later call fails).
    pub fn is_failed(&self) -> bool {
        matches!(self.state, State::Failed(_))
    }

    /// Whether a netstring has begun and not ended.
    pub fn is_mid_frame(&self) -> bool {
        !matches!(self.state, State::Length { digits: 0, .. } | State::Failed(_))
            || !self.buffered().is_empty()
    }

    /// The next netstring's data, from the buffered bytes first and then
    /// from `input`; `Ok(None)` once `input` is used up.
    pub fn decode<'s, 'd: 's>(
        &'s mut self,
        input: &mut Input<'d>,
    ) -> Result<Option<&'s [u8]>, NetstringError> {
        self.buf.compact();
        let length = loop {
            match self.state {
                State::Failed(error) => return Err(error),
                State::Data { length } => break length,
                State::Length { value, digits } => {
                    let Some(byte) = self.next_byte(input) else {
                        return Ok(None);
                    };
                    self.state = self.length_byte(value, digits, byte);
                }
            }
        };
        let data = input.data();
        let need = length + 1;
        let pending = self.buf.pending().len();
        if pending == 0 && input.remaining().len() >= need {
            let from = input.consumed();
            input.advance(need);
            self.end_of_data(data[from + length], length)?;
            return Ok(Some(&data[from..from + length]));
        }
        if pending < need && !self.buf.fill(input, need - pending) {
            return Ok(None);
        }
        let from = self.buf.start();
        self.buf.consume(need);
        self.end_of_data(self.buf.get(from..from + need)[length], length)?;
        Ok(Some(self.buf.get(from..from + length)))
    }

    /// Keeps all of `input` for later without decoding it (a paused
    /// receiver). Refuses, taking nothing, beyond
    /// [`max_buffered`](Self::max_buffered).
    pub fn hold(&mut self, input: &mut Input<'_>) -> Result<(), BufferLimitExceeded> {
        let limit = self.max_buffered();
        self.buf.hold(input, limit)
    }

    /// The next header byte: held bytes first, then `input`.
    fn next_byte(&mut self, input: &mut Input<'_>) -> Option<u8> {
        let byte = match self.buf.pending().first() {
            Some(&byte) => {
                self.buf.consume(1);
                byte
            }
            None => {
                let byte = *input.remaining().first()?;
                input.advance(1);
                byte
            }
        };
        self.offset += 1;
        Some(byte)
    }

    fn fail(&self, kind: NetstringErrorKind, offset: u64) -> State {
        State::Failed(NetstringError::new(kind, offset))
    }

    /// The state after length byte `byte` (already counted in `offset`).
    fn length_byte(&self, value: u64, digits: u32, byte: u8) -> State {
        let at = self.offset - 1;
        match byte {
            b'0'..=b'9' if digits > 0 && value == 0 => self.fail(NetstringErrorKind::LeadingZero, at),
            b'0'..=b'9' => match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(byte - b'0')))
            {
                None => self.fail(NetstringErrorKind::LengthOverflow, at),
                Some(value) if value > self.max_length as u64 => self.fail(
                    NetstringErrorKind::TooLong {
                        limit: self.max_length,
                    },
                    at,
                ),
                Some(value) => State::Length {
                    value,
                    digits: digits + 1,
                },
            },
            b':' if digits == 0 => self.fail(NetstringErrorKind::EmptyLength, at),
            b':' => State::Data {
                length: value as usize,
            },
            byte => self.fail(NetstringErrorKind::NonDigitLength { byte }, at),
        }
    }

    /// Checks the byte after the data; the next netstring starts after it.
    fn end_of_data(&mut self, byte: u8, length: usize) -> Result<(), NetstringError> {
        let at = self.offset + length as u64;
        self.offset = at + 1;
        if byte != b',' {
            let error = NetstringError::new(NetstringErrorKind::MissingComma { byte }, at);
            self.state = State::Failed(error);
            return Err(error);
        }
        self.state = State::Length { value: 0, digits: 0 };
        Ok(())
    }
}
