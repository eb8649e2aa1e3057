//! The sans-IO grammar of endpoint description strings, as in Twisted:
//! `prefix:arg:key=value:...`.
//!
//! A description is split on unescaped `:` into segments. The first segment
//! is the prefix; each later segment is either a positional argument or,
//! when it holds an unescaped `=`, a `key=value` pair. As in Twisted, only
//! the first `=` of a segment separates: the rest of the segment is the
//! value, so `path=a=b` has the value `a=b`. A backslash makes the next
//! character literal (`\:`, `\=`, `\\`). `prefix` and `prefix:` both have
//! no arguments.
//!
//! Parsing never panics and never allocates more than the input's size;
//! every error carries the byte offset of the part that is wrong (see
//! [`ParseError`]). [`Description`]'s `Display` is the inverse of
//! [`Description::parse`]: it escapes what needs escaping, so parsing the
//! formatted string gives an equal description.

use std::fmt;

use crate::error::{ParseError, ParseErrorKind};

/// A piece of a description and where it started (byte offset in the
/// original string), so later errors can point at it.
#[derive(Debug, Clone)]
pub struct Token {
    /// The unescaped text.
    pub value: String,
    /// Byte offset of the token's first character in the description.
    pub start: usize,
}

impl PartialEq for Token {
    /// Tokens are equal when their text is; offsets only serve error messages.
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Token {}

/// A parsed description: prefix, positional arguments and keyword arguments
/// in the order written. Equality compares the parts, not the spelling.
#[derive(Debug, Clone)]
pub struct Description {
    /// The endpoint type (`tcp`, `unix`, ...), as written.
    pub prefix: Token,
    /// Positional arguments.
    pub args: Vec<Token>,
    /// `key=value` arguments; keys are unique.
    pub kwargs: Vec<(Token, Token)>,
    /// The original string, for error messages.
    pub source: String,
}

impl PartialEq for Description {
    fn eq(&self, other: &Self) -> bool {
        self.prefix == other.prefix && self.args == other.args && self.kwargs == other.kwargs
    }
}

impl Eq for Description {}

/// One segment while splitting: its text so far, where it began, and the
/// key if an `=` was seen.
struct Segment {
    start: usize,
    text: String,
    key: Option<Token>,
}

impl Description {
    /// Parses `input` with the grammar described in the module docs.
    pub fn parse(input: &str) -> Result<Description, ParseError> {
        let error = |kind, position| ParseError::new(input, kind, position);
        let mut segments: Vec<Segment> = Vec::new();
        let mut current = Segment {
            start: 0,
            text: String::new(),
            key: None,
        };
        let mut chars = input.char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped)) => current.text.push(escaped),
                    None => return Err(error(ParseErrorKind::TrailingBackslash, offset)),
                },
                ':' => {
                    let next = Segment {
                        start: offset + 1,
                        text: String::new(),
                        key: None,
                    };
                    segments.push(std::mem::replace(&mut current, next));
                }
                '=' if current.key.is_none() && !segments.is_empty() => {
                    let key = Token {
                        value: std::mem::take(&mut current.text),
                        start: current.start,
                    };
                    if key.value.is_empty() {
                        return Err(error(ParseErrorKind::EmptyKey, offset));
                    }
                    current.key = Some(key);
                    current.start = offset + 1;
                }
                _ => current.text.push(c),
            }
        }
        segments.push(current);
        let mut segments = segments.into_iter();
        let Some(first) = segments.next() else {
            return Err(error(ParseErrorKind::Empty, 0));
        };
        if first.text.is_empty() {
            return Err(error(ParseErrorKind::Empty, 0));
        }
        let prefix = Token {
            value: first.text,
            start: first.start,
        };
        let rest: Vec<Segment> = segments.collect();
        // "prefix:" has no arguments rather than one empty one.
        let only_empty = rest.len() == 1 && rest[0].key.is_none() && rest[0].text.is_empty();
        let mut args = Vec::new();
        let mut kwargs: Vec<(Token, Token)> = Vec::new();
        for segment in rest.into_iter().filter(|_| !only_empty) {
            let value = Token {
                value: segment.text,
                start: segment.start,
            };
            match segment.key {
                None => args.push(value),
                Some(key) => {
                    if kwargs.iter().any(|(k, _)| k.value == key.value) {
                        let start = key.start;
                        return Err(error(ParseErrorKind::DuplicateKey(key.value), start));
                    }
                    kwargs.push((key, value));
                }
            }
        }
        Ok(Description {
            prefix,
            args,
            kwargs,
            source: input.to_owned(),
        })
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&Token> {
        self.kwargs.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
    }

    /// An error about this description at `position`.
    pub fn error(&self, kind: ParseErrorKind, position: usize) -> ParseError {
        ParseError::new(&self.source, kind, position)
    }
}

/// Writes `text` with `\`, `:` and `=` escaped.
pub fn escape(text: &str, out: &mut impl fmt::Write) -> fmt::Result {
    for c in text.chars() {
        if matches!(c, '\\' | ':' | '=') {
            out.write_char('\\')?;
        }
        out.write_char(c)?;
    }
    Ok(())
}

impl fmt::Display for Description {
    /// The canonical spelling: every special character escaped, keyword
    /// arguments after positional ones. Parsing it gives an equal
    /// description (positional order and keyword order kept).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape(&self.prefix.value, f)?;
        for arg in &self.args {
            f.write_str(":")?;
            escape(&arg.value, f)?;
        }
        for (key, value) in &self.kwargs {
            f.write_str(":")?;
            escape(&key.value, f)?;
            f.write_str("=")?;
            escape(&value.value, f)?;
        }
        Ok(())
    }
}
