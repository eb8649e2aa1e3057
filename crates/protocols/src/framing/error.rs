//! The typed errors of the framers.
//!
//! A framer that closes a connection says why: the handler's
//! `connection_lost` receives one of these (matchable with
//! `reason.is::<LineTooLong>()`) instead of a bare `ConnectionDone`, so a
//! server can log "line too long from 10.0.0.7" rather than "closed".

use std::error::Error;
use std::fmt;

/// A line longer than the receiver's maximum line length (Twisted's
/// `lineLengthExceeded`). The default hook closes the connection with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LineTooLong {
    /// The maximum line length in bytes, without the delimiter.
    pub limit: usize,
    /// Bytes of the line received when it was refused: more than `limit`,
    /// though not necessarily the whole line, which may never end.
    pub received: usize,
}

impl LineTooLong {
    /// A line of at least `received` bytes went over `limit`.
    pub fn new(limit: usize, received: usize) -> Self {
        LineTooLong { limit, received }
    }
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line too long: {} bytes received, the limit is {}",
            self.received, self.limit
        )
    }
}

impl Error for LineTooLong {}

/// A length prefix announced a string longer than the receiver accepts
/// (Twisted's `lengthLimitExceeded`). The default hook closes the
/// connection with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LengthLimitExceeded {
    /// The announced length.
    pub length: u64,
    /// The receiver's maximum length.
    pub limit: usize,
}

impl LengthLimitExceeded {
    /// A prefix announced `length` bytes where at most `limit` are accepted.
    pub fn new(length: u64, limit: usize) -> Self {
        LengthLimitExceeded { length, limit }
    }
}

impl fmt::Display for LengthLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "length prefix announces {} bytes, the limit is {}",
            self.length, self.limit
        )
    }
}

impl Error for LengthLimitExceeded {}

/// `send_string` was given more bytes than the length prefix can express
/// (Twisted's `StringTooLongError`): 255 for an 8-bit prefix, 65,535 for a
/// 16-bit one, 4,294,967,295 for a 32-bit one. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StringTooLong {
    /// The length of the refused string.
    pub length: usize,
    /// The largest length the prefix can express.
    pub max: u64,
}

impl StringTooLong {
    /// A string of `length` bytes does not fit a prefix whose maximum is `max`.
    pub fn new(length: usize, max: u64) -> Self {
        StringTooLong { length, max }
    }
}

impl fmt::Display for StringTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot send {} bytes: the length prefix holds at most {}",
            self.length, self.max
        )
    }
}

impl Error for StringTooLong {}

/// A paused receiver was handed more bytes than it may keep.
///
/// Pausing a receiver pauses its transport, so normally only the rest of
/// the read in progress arrives afterwards; this error means the transport
/// went on delivering anyway, and the receiver closed the connection rather
/// than grow without bound.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferLimitExceeded {
    /// The most bytes the receiver keeps while paused.
    pub limit: usize,
}

impl BufferLimitExceeded {
    /// More than `limit` bytes arrived while paused.
    pub fn new(limit: usize) -> Self {
        BufferLimitExceeded { limit }
    }
}

impl fmt::Display for BufferLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "more than {} bytes arrived while the receiver was paused",
            self.limit
        )
    }
}

impl Error for BufferLimitExceeded {}

/// What was wrong with a netstring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetstringErrorKind {
    /// A byte other than a digit or `:` in the length.
    NonDigitLength {
        /// The offending byte.
        byte: u8,
    },
    /// `:` with no digits before it.
    EmptyLength,
    /// A length with a leading zero, such as `01:`; only `0` itself may
    /// start with one.
    LeadingZero,
    /// A length over the receiver's maximum.
    TooLong {
        /// The receiver's maximum length.
        limit: usize,
    },
    /// A length too large to represent at all.
    LengthOverflow,
    /// The byte after the data was not the closing `,`.
    MissingComma {
        /// The byte found instead.
        byte: u8,
    },
}

/// A malformed netstring (Twisted's `NetstringParseError`). Netstrings have
/// no way to resynchronise, so the decoder stays failed and the receiver
/// closes the connection with this error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetstringError {
    /// What was wrong.
    pub kind: NetstringErrorKind,
    /// Offset of the offending byte in the stream, counting from 0.
    pub offset: u64,
}

impl NetstringError {
    /// A netstring error of `kind` at stream offset `offset`.
    pub fn new(kind: NetstringErrorKind, offset: u64) -> Self {
        NetstringError { kind, offset }
    }
}

impl fmt::Display for NetstringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed netstring: ")?;
        match self.kind {
            NetstringErrorKind::NonDigitLength { byte } => {
                write!(f, "byte {:?} in the length", char::from(byte))?
            }
            NetstringErrorKind::EmptyLength => f.write_str("no digits before ':'")?,
            NetstringErrorKind::LeadingZero => f.write_str("length with a leading zero")?,
            NetstringErrorKind::TooLong { limit } => write!(f, "length over the limit of {limit}")?,
            NetstringErrorKind::LengthOverflow => f.write_str("length too large to represent")?,
            NetstringErrorKind::MissingComma { byte } => {
                write!(f, "expected ',' after the data, found {:?}", char::from(byte))?
            }
        }
        write!(f, " (at byte {})", self.offset)
    }
}

impl Error for NetstringError {}

gyre_core::simple_error!(
    /// A line receiver was switched to raw mode but its handler does not
    /// implement `raw_data_received`: the default closes the connection
    /// with this error rather than drop the bytes silently.
    RawDataUnhandled,
    "raw data received by a line handler that does not implement raw_data_received"
);

/// A file transfer stopped before the end of the file because the
/// connection closed or the consumer asked the producer to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferInterrupted {
    /// Bytes written to the transport before the stop (after the transform).
    pub sent: u64,
}

impl TransferInterrupted {
    /// The transfer stopped after `sent` bytes.
    pub fn new(sent: u64) -> Self {
        TransferInterrupted { sent }
    }
}

impl fmt::Display for TransferInterrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "file transfer interrupted after {} bytes: the consumer stopped it",
            self.sent
        )
    }
}

impl Error for TransferInterrupted {}
