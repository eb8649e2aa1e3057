//! Body framing: how the end of a body is found, decoders that hand body
//! bytes out as they arrive, and encoders that frame what is sent.
//!
//! A message body is delimited in one of four ways ([`BodyFraming`]),
//! decided by [`crate::proto`] from the head. The decoders never hold a body
//! in memory: [`BodyDecoder::decode`] returns the body bytes found in its
//! input as a slice of that input, and the caller consumes them and moves
//! on. The encoders refuse to produce a message that lies about its length.
//!
//! ```
//! use gyre_http::body::{BodyDecoder, BodyFraming, BodyLimits, Decoded};
//!
//! let mut decoder = BodyDecoder::new(BodyFraming::Chunked, BodyLimits::default());
//! let mut input: &[u8] = b"5\r\nhello\r\n0\r\n\r\n";
//! let mut body = Vec::new();
//! loop {
//!     match decoder.decode(input).unwrap() {
//!         Decoded::Data { consumed, data } => {
//!             body.extend_from_slice(data);
//!             input = &input[consumed..];
//!         }
//!         Decoded::End { .. } => break,
//!         Decoded::NeedMore { .. } => unreachable!("the whole body is there"),
//!     }
//! }
//! assert_eq!(body, b"hello");
//! ```

mod chunked;
mod encode;

pub use chunked::ChunkedDecoder;
pub use encode::BodyEncoder;

use crate::error::{ErrorKind, HttpError};
use crate::wire::HeaderMap;

/// How the end of a body is found (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body at all (a GET, a 204, the answer to a HEAD).
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Everything until the connection closes (responses only).
    UntilClose,
}

/// Limits on a received body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// The largest body: more is `413 Content Too Large`. `None`: unlimited
    /// (the body is streamed, so this only bounds what a handler agrees to
    /// receive). Default 1 GiB.
    pub max_body: Option<u64>,
    /// The longest chunk-size line, extensions included. Default 4 KiB.
    pub max_chunk_line: usize,
    /// The largest trailer section. Default 8 KiB.
    pub max_trailers: usize,
    /// The most trailer fields. Default 32.
    pub max_trailer_fields: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_body: Some(1 << 30),
            max_chunk_line: 4096,
            max_trailers: 8192,
            max_trailer_fields: 32,
        }
    }
}

/// What one call to a decoder found.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// Body bytes (a slice of the input). `consumed` input bytes are done
    /// with, the data and any framing before it included.
    Data {
        /// Input bytes used up.
        consumed: usize,
        /// The body bytes.
        data: &'a [u8],
    },
    /// The input held no body bytes; `consumed` framing bytes are done
    /// with and the rest must be offered again with more input after it.
    NeedMore {
        /// Input bytes used up.
        consumed: usize,
    },
    /// The body ended; the trailer fields (empty unless chunked with
    /// trailers) are attached.
    End {
        /// Input bytes used up.
        consumed: usize,
        /// Trailer fields.
        trailers: HeaderMap,
    },
}

#[derive(Debug, Clone)]
enum Kind {
    Length { left: u64 },
    Chunked(ChunkedDecoder),
    UntilClose,
    Done,
}

/// Decodes one received body with the framing its head chose.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    kind: Kind,
}

impl BodyDecoder {
    /// A decoder for a body framed as `framing`. A `Length` over
    /// `limits.max_body` is the caller's to refuse before (it knows the
    /// status to answer); this decoder enforces the limit on chunked and
    /// close-delimited bodies as they arrive.
    pub fn new(framing: BodyFraming, limits: BodyLimits) -> Self {
        let kind = match framing {
            BodyFraming::Empty | BodyFraming::Length(0) => Kind::Done,
            BodyFraming::Length(left) => Kind::Length { left },
            BodyFraming::Chunked => Kind::Chunked(ChunkedDecoder::new(limits)),
            BodyFraming::UntilClose => Kind::UntilClose,
        };
        BodyDecoder { kind }
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        matches!(self.kind, Kind::Done)
    }

    /// Finds the next body bytes (or the end) in `input`.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, HttpError> {
        match &mut self.kind {
            Kind::Done => Ok(Decoded::End {
                consumed: 0,
                trailers: HeaderMap::new(),
            }),
            Kind::Length { left } => {
                if input.is_empty() {
                    return Ok(Decoded::NeedMore { consumed: 0 });
                }
                let take = input.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= take as u64;
                if *left == 0 {
                    self.kind = Kind::Done;
                }
                Ok(Decoded::Data {
                    consumed: take,
                    data: &input[..take],
                })
            }
            Kind::Chunked(chunked) => {
                let decoded = chunked.decode(input)?;
                if chunked.is_done() {
                    self.kind = Kind::Done;
                }
                Ok(decoded)
            }
            Kind::UntilClose if input.is_empty() => Ok(Decoded::NeedMore { consumed: 0 }),
            Kind::UntilClose => Ok(Decoded::Data {
                consumed: input.len(),
                data: input,
            }),
        }
    }

    /// The connection closed: the end of a close-delimited body, and an
    /// error for any other body that has not ended.
    pub fn finish_at_close(&mut self) -> Result<HeaderMap, HttpError> {
        match self.kind {
            Kind::UntilClose | Kind::Done => {
                self.kind = Kind::Done;
                Ok(HeaderMap::new())
            }
            _ => Err(ErrorKind::IncompleteBody.into()),
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
