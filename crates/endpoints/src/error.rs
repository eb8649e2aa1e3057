//! [`ParseError`]: what is wrong with a description string, and where.

use std::error::Error;
use std::fmt;

/// What is wrong with a description.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The string (or its prefix) is empty.
    Empty,
    /// The string ends with a backslash that escapes nothing.
    TrailingBackslash,
    /// A `=value` segment without a key.
    EmptyKey,
    /// A keyword argument given twice.
    DuplicateKey(String),
    /// No endpoint type is registered under this prefix.
    UnknownPrefix(String),
    /// A required argument is missing.
    MissingArgument(&'static str),
    /// More positional arguments than the endpoint type takes.
    UnexpectedArgument(String),
    /// A keyword the endpoint type does not know.
    UnknownKey(String),
    /// A value that does not parse as what the argument needs.
    InvalidValue {
        /// The argument's name.
        argument: String,
        /// The value given.
        value: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// A file or setting named by an argument cannot be used (an unreadable
    /// certificate, a key that does not match it).
    Unusable {
        /// The argument's name.
        argument: String,
        /// Why, in words.
        detail: String,
    },
    /// The endpoint type is not available here (for example `ssl` without a
    /// TLS configuration, abstract Unix names off Linux).
    Unsupported(String),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Empty => f.write_str("empty endpoint type"),
            ParseErrorKind::TrailingBackslash => f.write_str("backslash at the end escapes nothing"),
            ParseErrorKind::EmptyKey => f.write_str("'=' without a key before it"),
            ParseErrorKind::DuplicateKey(key) => write!(f, "argument '{key}' given twice"),
            ParseErrorKind::UnknownPrefix(prefix) => write!(f, "unknown endpoint type '{prefix}'"),
            ParseErrorKind::MissingArgument(name) => write!(f, "missing argument '{name}'"),
            ParseErrorKind::UnexpectedArgument(value) => write!(f, "unexpected argument '{value}'"),
            ParseErrorKind::UnknownKey(key) => write!(f, "unknown argument '{key}'"),
            ParseErrorKind::InvalidValue {
                argument,
                value,
                expected,
            } => write!(f, "invalid {argument} '{value}': expected {expected}"),
            ParseErrorKind::Unusable { argument, detail } => write!(f, "unusable {argument}: {detail}"),
            ParseErrorKind::Unsupported(what) => write!(f, "not supported: {what}"),
        }
    }
}

/// A description string that could not be parsed: what is wrong
/// ([`kind`](Self::kind)) and the byte offset of the part that is wrong
/// ([`position`](Self::position)), so a command line can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    description: String,
    kind: ParseErrorKind,
    position: usize,
}

impl ParseError {
    /// An error in `description` at byte offset `position`.
    pub fn new(description: &str, kind: ParseErrorKind, position: usize) -> Self {
        ParseError {
            description: description.to_owned(),
            kind,
            position: position.min(description.len()),
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Byte offset in the description of the part that is wrong.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The description that failed.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "endpoint description {:?}, at byte {}: {}",
            self.description, self.position, self.kind
        )
    }
}

impl Error for ParseError {}
