//! The chunked transfer coding decoder (RFC 9112 §7.1), strict.
//!
//! The decoder walks the control bytes (chunk-size lines, CRLFs) one byte
//! at a time, so it needs no buffer of its own and accepts its input split
//! anywhere; chunk data is handed out as slices of the input. Only the
//! trailer section is parsed as a whole, which is why
//! [`decode`](ChunkedDecoder::decode) may ask for more without consuming
//! anything there, bounded by [`BodyLimits::max_trailers`].
//!
//! Strictness, each a request-smuggling vector elsewhere: a chunk size is
//! 1–16 hex digits and overflow is an error; a chunk-size line (with its
//! extensions, which are ignored) is at most [`BodyLimits::max_chunk_line`]
//! bytes; every line ends with CRLF (no bare LF, no bare CR); the data of a
//! chunk is followed by exactly CRLF.

use crate::body::{BodyLimits, Decoded};
use crate::error::{ErrorKind, HttpError};
use crate::wire::{HeadLimits, find_head_end, parse_response_head};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size; `digits` so far (saturating).
    Size { digits: u8 },
    /// After the size: whitespace or extensions until CR.
    Extension,
    /// Saw the CR ending a size line.
    SizeLf,
    /// In chunk data with this much left.
    Data { left: u64 },
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// After the last chunk: the trailer section.
    Trailers,
    /// The body ended.
    Done,
}

/// Decodes one chunked body.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    line_len: usize,
    limits: BodyLimits,
    total: u64,
    /// How much of an incomplete trailer section was searched already.
    trailers_scanned: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new(limits: BodyLimits) -> Self {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            size: 0,
            line_len: 0,
            limits,
            total: 0,
            trailers_scanned: 0,
        }
    }

    /// Whether the whole body, trailers included, was decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`: see [`Decoded`]. After an error the decoder
    /// must not be used again.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, HttpError> {
        let mut at = 0;
        while at < input.len() {
            let byte = input[at];
            match self.state {
                State::Data { left } => {
                    let take = (input.len() - at).min(usize::try_from(left).unwrap_or(usize::MAX));
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { left }
                    };
                    return Ok(Decoded::Data {
                        consumed: at + take,
                        data: &input[at..at + take],
                    });
                }
                State::Trailers => return self.trailers(input, at),
                State::Done => break,
                _ => self.control(byte)?,
            }
            at += 1;
        }
        if self.state == State::Trailers {
            return self.trailers(input, at);
        }
        Ok(Decoded::NeedMore { consumed: at })
    }

    /// One byte of a size line or chunk delimiter.
    fn control(&mut self, byte: u8) -> Result<(), HttpError> {
        let fail = |kind: ErrorKind| Err(HttpError::new(kind));
        match self.state {
            State::Size { .. } | State::Extension => {
                self.line_len += 1;
                if self.line_len > self.limits.max_chunk_line {
                    return fail(ErrorKind::ChunkLineTooLong);
                }
            }
            _ => {}
        }
        match (self.state, byte) {
            (State::Size { digits }, _) if byte.is_ascii_hexdigit() => {
                // Leading zeros never overflow; the line limit bounds them.
                if self.size > u64::MAX >> 4 {
                    return fail(ErrorKind::ChunkSizeOverflow);
                }
                let value = (byte as char).to_digit(16).unwrap_or(0) as u64;
                self.size = (self.size << 4) | value;
                self.state = State::Size {
                    digits: digits.saturating_add(1),
                };
            }
            (State::Size { digits: 0 }, _) => return fail(ErrorKind::InvalidChunkSize),
            (State::Size { .. }, b'\r') | (State::Extension, b'\r') => self.state = State::SizeLf,
            (State::Size { .. }, b';' | b' ' | b'\t') => self.state = State::Extension,
            (State::Size { .. }, _) => return fail(ErrorKind::InvalidChunkSize),
            (State::Extension, _) if byte == b'\t' || (byte >= 0x20 && byte != 0x7f) => {}
            (State::Extension, _) => return fail(ErrorKind::InvalidChunkSize),
            (State::SizeLf, b'\n') => self.start_chunk()?,
            (State::SizeLf, _) => return fail(ErrorKind::BareCr),
            (State::DataCr, b'\r') => self.state = State::DataLf,
            (State::DataLf, b'\n') => self.state = State::Size { digits: 0 },
            (State::DataCr | State::DataLf, _) => return fail(ErrorKind::InvalidChunkDelimiter),
            (State::Data { .. } | State::Trailers | State::Done, _) => {}
        }
        Ok(())
    }

    fn start_chunk(&mut self) -> Result<(), HttpError> {
        let size = std::mem::take(&mut self.size);
        self.line_len = 0;
        if size == 0 {
            self.state = State::Trailers;
            return Ok(());
        }
        self.total = self.total.saturating_add(size);
        if self.limits.max_body.is_some_and(|max| self.total > max) {
            return Err(ErrorKind::BodyTooLarge.into());
        }
        self.state = State::Data { left: size };
        Ok(())
    }

    /// The trailer section at `input[at..]`: an empty line, or fields and
    /// an empty line, parsed once complete.
    fn trailers<'a>(&mut self, input: &'a [u8], at: usize) -> Result<Decoded<'a>, HttpError> {
        let rest = &input[at..];
        let invalid = || HttpError::new(ErrorKind::InvalidTrailers);
        match rest {
            [] | [b'\r'] => return Ok(Decoded::NeedMore { consumed: at }),
            [b'\r', b'\n', ..] => {
                self.state = State::Done;
                return Ok(Decoded::End {
                    consumed: at + 2,
                    trailers: crate::wire::HeaderMap::new(),
                });
            }
            [b'\r', _, ..] => return Err(ErrorKind::BareCr.into()),
            _ => {}
        }
        // Fields: reuse the response-head parser on a synthetic status line.
        // The section is offered again from its start with more after it:
        // search only what is new.
        let Some(end) = find_head_end(rest, self.trailers_scanned) else {
            if rest.len() > self.limits.max_trailers {
                return Err(invalid());
            }
            self.trailers_scanned = rest.len();
            return Ok(Decoded::NeedMore { consumed: at });
        };
        if end > self.limits.max_trailers || has_bare_lf(&rest[..end]) {
            return Err(invalid());
        }
        let mut section = Vec::with_capacity(end + 17);
        section.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        section.extend_from_slice(&rest[..end]);
        let limits = HeadLimits {
            max_start_line: 32,
            max_head: self.limits.max_trailers + 17,
            max_headers: self.limits.max_trailer_fields,
        };
        let head = parse_response_head(&section, &limits).map_err(|_| invalid())?;
        self.state = State::Done;
        Ok(Decoded::End {
            consumed: at + end,
            trailers: head.headers,
        })
    }
}

/// Whether a line in `section` ends with a bare LF (trailers need CRLF).
fn has_bare_lf(section: &[u8]) -> bool {
    section
        .iter()
        .enumerate()
        .any(|(at, &b)| b == b'\n' && (at == 0 || section[at - 1] != b'\r'))
}
