//! The typed errors of AMP: on the wire, in argument conversion, in the
//! conversation, and the errors a peer reports back.
//!
//! A failed call's `Failure` holds one of these (or the command's declared
//! error type), so callers match with `failure.downcast_ref::<T>()`.

use std::error::Error;
use std::fmt;

/// A received byte stream that is not a valid sequence of boxes, or breaks a
/// limit. The connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A key length over 255 (Twisted's `TooLong` on a received key).
    KeyTooLong {
        /// The announced length.
        length: usize,
    },
    /// The box grew past [`BoxLimits::max_box_bytes`](super::BoxLimits).
    BoxTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The box held more than [`BoxLimits::max_keys`](super::BoxLimits) keys.
    TooManyKeys {
        /// The limit.
        limit: usize,
    },
    /// A key appeared twice in one box (Twisted never sends that, and which
    /// value counts would be a guess).
    DuplicateKey {
        /// The key, lossily decoded.
        key: String,
    },
    /// A byte string that should hold whole boxes ended inside one.
    Truncated,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::KeyTooLong { length } => write!(f, "AMP key of {length} bytes (at most 255)"),
            DecodeError::BoxTooLarge { limit } => write!(f, "AMP box larger than {limit} bytes"),
            DecodeError::TooManyKeys { limit } => write!(f, "AMP box with more than {limit} keys"),
            DecodeError::DuplicateKey { key } => write!(f, "AMP box repeats the key {key:?}"),
            DecodeError::Truncated => f.write_str("AMP box data ends inside a box"),
        }
    }
}

impl Error for DecodeError {}

/// A box that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// An empty key would read as the end of the box.
    EmptyKey,
    /// A key over 255 bytes.
    KeyTooLong {
        /// The key's length.
        length: usize,
    },
    /// A value over 65,535 bytes.
    ValueTooLong {
        /// The key it belongs to, lossily decoded.
        key: String,
        /// The value's length.
        length: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::EmptyKey => f.write_str("AMP keys cannot be empty"),
            EncodeError::KeyTooLong { length } => write!(f, "AMP key of {length} bytes (at most 255)"),
            EncodeError::ValueTooLong { key, length } => {
                write!(f, "AMP value for {key:?} of {length} bytes (at most 65535)")
            }
        }
    }
}

impl Error for EncodeError {}

/// A peer that broke the conversation: a box that is neither a command nor
/// an answer, an answer to a question never asked, or a malformed error. The
/// connection is closed and calls still waiting fail with this error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The byte stream itself was invalid.
    Decode(DecodeError),
    /// A box with none of `_command`, `_answer` and `_error` (Twisted's
    /// `NoEmptyBoxes`).
    NotACommandOrAnswer,
    /// An `_answer` or `_error` for a tag this side is not waiting on.
    UnknownAnswer {
        /// The tag, lossily decoded.
        tag: String,
    },
    /// An `_error` box without `_error_code` or `_error_description`.
    MalformedError {
        /// The missing key.
        missing: &'static str,
    },
    /// The peer passed more file descriptors than it used, past the limit.
    TooManyDescriptors {
        /// The limit.
        limit: usize,
    },
    /// More bytes arrived while reading was paused than may wait (a
    /// transport that kept delivering after `pause_reading`).
    Overrun {
        /// The most bytes that may wait.
        limit: usize,
    },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Decode(error) => write!(f, "invalid AMP data: {error}"),
            ProtocolError::NotACommandOrAnswer => {
                f.write_str("AMP box with no _command, _answer or _error key")
            }
            ProtocolError::UnknownAnswer { tag } => write!(f, "AMP answer to unknown question {tag:?}"),
            ProtocolError::MalformedError { missing } => write!(f, "AMP error box without {missing}"),
            ProtocolError::TooManyDescriptors { limit } => {
                write!(f, "peer passed more than {limit} unclaimed file descriptors")
            }
            ProtocolError::Overrun { limit } => {
                write!(f, "more than {limit} bytes arrived while reading was paused")
            }
        }
    }
}

/// The inner error is part of the message, so it is not also a `source()`
/// (which would print it twice in a chain).
impl Error for ProtocolError {}

/// A value that is not valid for its argument type, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// The AMP type expected ("Integer", "DateTime", ...).
    pub expected: &'static str,
    /// What is wrong.
    pub detail: String,
}

impl ValueError {
    /// A value that is not a valid `expected`, because of `detail`.
    pub fn new(expected: &'static str, detail: impl Into<String>) -> Self {
        ValueError {
            expected,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid AMP {}: {}", self.expected, self.detail)
    }
}

impl Error for ValueError {}

/// Arguments or a response that do not match the command's declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgumentError {
    /// A required key is absent.
    Missing {
        /// The key.
        key: &'static str,
    },
    /// A key's value is not valid for its type.
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong with the value.
        error: ValueError,
    },
    /// An encoded value would not fit in 65,535 bytes.
    TooLong {
        /// The key.
        key: &'static str,
        /// The encoded length.
        length: usize,
    },
}

impl fmt::Display for ArgumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgumentError::Missing { key } => write!(f, "missing AMP argument {key:?}"),
            ArgumentError::Invalid { key, error } => write!(f, "AMP argument {key:?}: {error}"),
            ArgumentError::TooLong { key, length } => {
                write!(
                    f,
                    "AMP argument {key:?} encodes to {length} bytes (at most 65535)"
                )
            }
        }
    }
}

/// The inner error is part of the message, so it is not also a `source()`
/// (which would print it twice in a chain).
impl Error for ArgumentError {}

/// Why a command could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The box does not fit the wire format.
    Encode(EncodeError),
    /// This side already waits for as many answers as
    /// [`AmpConfig::max_outstanding_calls`](super::AmpConfig) allows.
    TooManyOutstandingCalls {
        /// The limit.
        limit: usize,
    },
    /// The connection has ended or broke the protocol.
    Closed,
    /// The command carries file descriptors and there is no connection yet
    /// to ask whether it can pass them.
    NotConnected,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Encode(error) => write!(f, "cannot encode the AMP command: {error}"),
            SendError::TooManyOutstandingCalls { limit } => {
                write!(f, "already {limit} AMP calls waiting for answers")
            }
            SendError::Closed => f.write_str("the AMP connection is closed"),
            SendError::NotConnected => f.write_str("file descriptors need a connected AMP transport"),
        }
    }
}

/// The inner error is part of the message, so it is not also a `source()`
/// (which would print it twice in a chain).
impl Error for SendError {}

impl From<EncodeError> for SendError {
    fn from(error: EncodeError) -> Self {
        SendError::Encode(error)
    }
}

macro_rules! remote_error {
    ($(#[$meta:meta])* $name:ident, $code:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The peer's description.
            pub description: String,
        }

        impl $name {
            /// The error code on the wire.
            pub const CODE: &'static [u8] = $code;

            /// An error with the peer's `description`.
            pub fn new(description: impl Into<String>) -> Self {
                $name { description: description.into() }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "AMP peer answered {}: {}", String::from_utf8_lossy(Self::CODE), self.description)
            }
        }

        impl Error for $name {}
    };
}

remote_error!(
    /// The peer failed with an error the command did not declare (code
    /// `UNKNOWN`; Twisted's `UnknownRemoteError`). Twisted closes the
    /// connection after sending it.
    UnknownRemoteError,
    b"UNKNOWN"
);

remote_error!(
    /// The peer has no responder for the command (code `UNHANDLED`;
    /// Twisted's `UnhandledCommand`).
    UnhandledCommand,
    b"UNHANDLED"
);

/// The peer answered with an error code that is neither `UNKNOWN`,
/// `UNHANDLED` nor one the command declares (Twisted's `RemoteAmpError`).
/// Raw responders fail with this to send a chosen code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAmpError {
    /// The error code.
    pub code: Vec<u8>,
    /// The peer's description.
    pub description: String,
    /// Whether the side sending it closes the connection afterwards
    /// (Twisted's `fatalErrors`).
    pub fatal: bool,
}

impl RemoteAmpError {
    /// An error with `code` and `description`, not fatal.
    pub fn new(code: impl Into<Vec<u8>>, description: impl Into<String>) -> Self {
        RemoteAmpError {
            code: code.into(),
            description: description.into(),
            fatal: false,
        }
    }
}

impl fmt::Display for RemoteAmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AMP error {}: {}",
            String::from_utf8_lossy(&self.code),
            self.description
        )
    }
}

impl Error for RemoteAmpError {}
