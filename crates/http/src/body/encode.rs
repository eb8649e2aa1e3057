//! [`BodyEncoder`]: frames the body bytes we send, and holds us to the
//! framing we announced.

use crate::body::BodyFraming;
use crate::error::SendError;
use crate::wire::HeaderMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Length {
        declared: u64,
        left: u64,
    },
    Chunked,
    UntilClose,
    /// The answer to a HEAD: the head announced a body that is not sent;
    /// body bytes written anyway are dropped, as the same code serves GET.
    Discard,
    /// A message that cannot have a body (1xx, 204, 304, a bodiless request).
    Forbidden,
    Done,
}

/// Frames one outgoing body.
///
/// ```
/// use gyre_http::body::{BodyEncoder, BodyFraming};
/// use gyre_http::HeaderMap;
///
/// let mut out = Vec::new();
/// let mut chunked = BodyEncoder::new(BodyFraming::Chunked);
/// chunked.encode(b"hello", &mut out).unwrap();
/// let mut trailers = HeaderMap::new();
/// trailers.append("Checksum", "abc").unwrap();
/// chunked.finish(&trailers, &mut out).unwrap();
/// assert_eq!(out, b"5\r\nhello\r\n0\r\nChecksum: abc\r\n\r\n");
///
/// let mut exact = BodyEncoder::new(BodyFraming::Length(3));
/// assert!(exact.encode(b"four", &mut out).is_err(), "never more than declared");
/// assert!(exact.finish(&HeaderMap::new(), &mut out).is_err(), "never less");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyEncoder {
    kind: Kind,
}

impl BodyEncoder {
    /// An encoder for `framing` (`Empty` refuses any body byte).
    pub fn new(framing: BodyFraming) -> Self {
        let kind = match framing {
            BodyFraming::Empty => Kind::Forbidden,
            BodyFraming::Length(declared) => Kind::Length {
                declared,
                left: declared,
            },
            BodyFraming::Chunked => Kind::Chunked,
            BodyFraming::UntilClose => Kind::UntilClose,
        };
        BodyEncoder { kind }
    }

    /// An encoder that drops the body (the response to a HEAD request).
    pub fn discard() -> Self {
        BodyEncoder { kind: Kind::Discard }
    }

    /// Whether [`finish`](Self::finish) was called.
    pub fn is_done(&self) -> bool {
        self.kind == Kind::Done
    }

    /// Whether this body ends only when the connection closes.
    pub fn is_close_delimited(&self) -> bool {
        self.kind == Kind::UntilClose
    }

    /// Appends `data`, framed, to `out`. Writes nothing and fails when the
    /// data would break the framing.
    pub fn encode(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), SendError> {
        match &mut self.kind {
            Kind::Length { declared, left } => {
                if data.len() as u64 > *left {
                    return Err(SendError::BodyTooLong { declared: *declared });
                }
                *left -= data.len() as u64;
                out.extend_from_slice(data);
            }
            Kind::Chunked if data.is_empty() => {}
            Kind::Chunked => {
                write_hex(data.len() as u64, out);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            Kind::UntilClose => out.extend_from_slice(data),
            Kind::Discard => {}
            Kind::Forbidden if data.is_empty() => {}
            Kind::Forbidden => return Err(SendError::BodyNotAllowed),
            Kind::Done => return Err(SendError::WrongState("body data after the end of the body")),
        }
        Ok(())
    }

    /// Ends the body: the last chunk and `trailers` for chunked bodies
    /// (other framings cannot carry trailers; they are dropped). Fails when
    /// a `Content-Length` body is short.
    pub fn finish(&mut self, trailers: &HeaderMap, out: &mut Vec<u8>) -> Result<(), SendError> {
        match self.kind {
            Kind::Length { left, .. } if left > 0 => return Err(SendError::BodyTooShort { missing: left }),
            Kind::Chunked => {
                out.extend_from_slice(b"0\r\n");
                trailers.write_to(out);
                out.extend_from_slice(b"\r\n");
            }
            Kind::Done => return Err(SendError::WrongState("the body has already ended")),
            _ => {}
        }
        self.kind = Kind::Done;
        Ok(())
    }
}

fn write_hex(mut value: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}
