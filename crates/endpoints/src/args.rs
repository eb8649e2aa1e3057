//! [`Arguments`]: typed access to a [`Description`]'s arguments that
//! reports unknown, missing and malformed ones as [`ParseError`]s pointing
//! at the offending part.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{ParseError, ParseErrorKind};
use crate::grammar::{Description, Token};

/// A description's arguments being consumed by an endpoint type's parser.
/// Each argument is taken once; [`finish`](Self::finish) rejects what was
/// not taken, so a typo such as `interfase=` is an error rather than ignored.
pub struct Arguments<'a> {
    description: &'a Description,
    next_positional: usize,
    taken: Vec<bool>,
}

impl<'a> Arguments<'a> {
    /// Starts consuming `description`'s arguments.
    pub fn new(description: &'a Description) -> Self {
        Arguments {
            description,
            next_positional: 0,
            taken: vec![false; description.kwargs.len()],
        }
    }

    /// The description being parsed.
    pub fn description(&self) -> &'a Description {
        self.description
    }

    /// The next positional argument, if any.
    pub fn positional(&mut self) -> Option<&'a Token> {
        let token = self.description.args.get(self.next_positional)?;
        self.next_positional += 1;
        Some(token)
    }

    /// The keyword argument `key`, if given.
    pub fn keyword(&mut self, key: &str) -> Option<&'a Token> {
        let index = self.description.kwargs.iter().position(|(k, _)| k.value == key)?;
        self.taken[index] = true;
        Some(&self.description.kwargs[index].1)
    }

    /// The next positional argument, or else the keyword `key` (Twisted
    /// accepts `tcp:80` and `tcp:port=80` alike).
    pub fn positional_or_keyword(&mut self, key: &str) -> Option<&'a Token> {
        match self.keyword(key) {
            Some(token) => Some(token),
            None => self.positional(),
        }
    }

    /// Like [`positional_or_keyword`](Self::positional_or_keyword), but required.
    pub fn required(&mut self, key: &'static str) -> Result<&'a Token, ParseError> {
        self.positional_or_keyword(key).ok_or_else(|| {
            let end = self.description.source.len();
            self.description.error(ParseErrorKind::MissingArgument(key), end)
        })
    }

    /// Rejects arguments nobody took.
    pub fn finish(self) -> Result<(), ParseError> {
        if let Some(extra) = self.description.args.get(self.next_positional) {
            let kind = ParseErrorKind::UnexpectedArgument(extra.value.clone());
            return Err(self.description.error(kind, extra.start));
        }
        for ((key, _), taken) in self.description.kwargs.iter().zip(&self.taken) {
            if !taken {
                let kind = ParseErrorKind::UnknownKey(key.value.clone());
                return Err(self.description.error(kind, key.start));
            }
        }
        Ok(())
    }

    /// An "invalid value" error for `token`.
    pub fn invalid(&self, argument: &str, token: &Token, expected: &'static str) -> ParseError {
        let kind = ParseErrorKind::InvalidValue {
            argument: argument.to_owned(),
            value: token.value.clone(),
            expected,
        };
        self.description.error(kind, token.start)
    }

    /// Parses `token` with `FromStr`, naming `expected` on failure.
    pub fn parse<T: FromStr>(
        &self,
        argument: &str,
        token: &Token,
        expected: &'static str,
    ) -> Result<T, ParseError> {
        token
            .value
            .parse()
            .map_err(|_| self.invalid(argument, token, expected))
    }

    /// An optional keyword parsed with `FromStr`.
    pub fn optional<T: FromStr>(
        &mut self,
        key: &str,
        expected: &'static str,
    ) -> Result<Option<T>, ParseError> {
        match self.keyword(key) {
            Some(token) => self.parse(key, token, expected).map(Some),
            None => Ok(None),
        }
    }

    /// A port number (0–65535).
    pub fn port(&self, argument: &str, token: &Token) -> Result<u16, ParseError> {
        self.parse(argument, token, "a port number 0-65535")
    }

    /// An optional IP address keyword.
    pub fn ip(&mut self, key: &str) -> Result<Option<IpAddr>, ParseError> {
        self.optional(key, "an IP address")
    }

    /// An optional timeout in seconds (fractions allowed).
    pub fn timeout(&mut self, key: &str) -> Result<Option<Duration>, ParseError> {
        let Some(token) = self.keyword(key) else {
            return Ok(None);
        };
        let seconds: f64 = self.parse(key, token, "a number of seconds")?;
        Duration::try_from_secs_f64(seconds)
            .map(Some)
            .map_err(|_| self.invalid(key, token, "a non-negative number of seconds"))
    }

    /// An optional boolean written `0`/`1` (also `true`/`false`, `yes`/`no`).
    pub fn flag(&mut self, key: &str) -> Result<Option<bool>, ParseError> {
        let Some(token) = self.keyword(key) else {
            return Ok(None);
        };
        match token.value.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Ok(Some(true)),
            "0" | "false" | "no" => Ok(Some(false)),
            _ => Err(self.invalid(key, token, "0 or 1")),
        }
    }

    /// An optional non-empty file path.
    pub fn path(&mut self, key: &str) -> Result<Option<PathBuf>, ParseError> {
        match self.keyword(key) {
            Some(token) if token.value.is_empty() => Err(self.invalid(key, token, "a file path")),
            Some(token) => Ok(Some(PathBuf::from(&token.value))),
            None => Ok(None),
        }
    }
}
