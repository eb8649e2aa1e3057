//! [`Failure`]: the error value that travels along Deferred errbacks and into
//! `connection_lost`.
//!
//! Twisted's `Failure` captures an exception with its traceback so that it can
//! be handed around and inspected later. gyre's is the same idea in Rust: it
//! wraps any `std::error::Error + 'static`, keeps an optional backtrace and a
//! chain of context messages, and can be matched by type with
//! [`Failure::is`], [`Failure::downcast_ref`] and [`Failure::trap`].
//!
//! `Failure` is cheap to clone (the error itself is shared), because one
//! failure is often delivered to several places (a `DeferredList` result and
//! the Deferred it came from, the protocol and its factory).
//!
//! `Failure` deliberately does not implement `std::error::Error`: that lets it
//! implement `From<E>` for every error type, so `?` converts any error into a
//! `Failure` inside callbacks. Use [`Failure::as_error`] where an
//! `&dyn Error` is needed.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::error::Error;
use std::fmt;
use std::io;
use std::rc::Rc;

/// An error with its context, cheap to clone and matchable by type.
///
/// ```
/// use gyre_core::{Failure, errors::ConnectionRefused};
///
/// let failure = Failure::new(ConnectionRefused::new()).context("connecting to the mail relay");
/// assert!(failure.is::<ConnectionRefused>());
/// assert_eq!(failure.to_string(), "connecting to the mail relay: connection was refused by the other side");
/// // `trap` hands back the failure unchanged when it does not match, so `?` re-raises it.
/// assert!(failure.clone().trap::<std::io::Error>().is_err());
/// assert!(failure.trap::<ConnectionRefused>().is_ok());
/// ```
#[derive(Clone)]
pub struct Failure {
    error: Rc<dyn Error + 'static>,
    /// Context messages, innermost first (the order they were added).
    context: Vec<Rc<str>>,
    backtrace: Option<Rc<Backtrace>>,
}

impl Failure {
    /// Wraps an error. A backtrace is captured when `RUST_BACKTRACE` or
    /// `RUST_LIB_BACKTRACE` asks for one (the check is cheap otherwise).
    pub fn new<E: Error + 'static>(error: E) -> Self {
        Self::from_rc(Rc::new(error))
    }

    /// Wraps an error that reports an expected end rather than a fault (a
    /// connection closed cleanly): no backtrace is captured even when
    /// `RUST_BACKTRACE` asks for one, since nothing went wrong and a capture
    /// costs tens of microseconds, once per closed connection.
    pub fn without_backtrace<E: Error + 'static>(error: E) -> Self {
        Failure {
            error: Rc::new(error),
            context: Vec::new(),
            backtrace: None,
        }
    }

    /// Wraps an already boxed error.
    pub fn from_boxed(error: Box<dyn Error + 'static>) -> Self {
        Self::from_rc(Rc::from(error))
    }

    fn from_rc(error: Rc<dyn Error + 'static>) -> Self {
        let backtrace = Backtrace::capture();
        let backtrace = match backtrace.status() {
            BacktraceStatus::Captured => Some(Rc::new(backtrace)),
            _ => None,
        };
        Failure {
            error,
            context: Vec::new(),
            backtrace,
        }
    }

    /// A failure carrying only a message, for errors that have no type of
    /// their own. Prefer a typed error where callers may want to match it.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new(MessageError(message.into()))
    }

    /// Adds a context message ("while doing X") and returns the failure.
    /// The newest context is printed first.
    #[must_use]
    pub fn context(mut self, message: impl Into<String>) -> Self {
        self.context.push(Rc::from(message.into()));
        self
    }

    /// The context messages, newest first.
    pub fn contexts(&self) -> impl Iterator<Item = &str> {
        self.context.iter().rev().map(|c| &**c)
    }

    /// The wrapped error.
    pub fn as_error(&self) -> &(dyn Error + 'static) {
        &*self.error
    }

    /// The backtrace captured when the failure was made, if backtraces were
    /// enabled through the environment.
    pub fn backtrace(&self) -> Option<&Backtrace> {
        self.backtrace.as_deref()
    }

    /// Whether the wrapped error, or any error in its `source()` chain, is an `E`.
    pub fn is<E: Error + 'static>(&self) -> bool {
        self.downcast_ref::<E>().is_some()
    }

    /// The wrapped error as an `E`, looking through the `source()` chain too,
    /// and into `std::io::Error`s made with `io::Error::other(e)` (whose
    /// `source()` skips `e`), so a `ConnectionRefused` wrapped in an I/O
    /// error is still found.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.chain().find_map(|error| error.downcast_ref::<E>())
    }

    /// The wrapped error and its causes, outermost first, looking into
    /// `std::io::Error`s that wrap another error.
    pub fn chain(&self) -> impl Iterator<Item = &(dyn Error + 'static)> {
        std::iter::successors(Some(self.as_error()), |error| next_cause(*error))
    }

    /// Twisted's `trap`: `Ok(self)` when the failure is an `E`, otherwise
    /// `Err(self)` unchanged, so that `failure.trap::<E>()?` in an errback
    /// re-raises everything it does not handle.
    #[allow(clippy::result_large_err)]
    pub fn trap<E: Error + 'static>(self) -> Result<Failure, Failure> {
        if self.is::<E>() { Ok(self) } else { Err(self) }
    }

    /// The innermost error of [`chain`](Self::chain).
    pub fn root_cause(&self) -> &(dyn Error + 'static) {
        self.chain().last().unwrap_or(self.as_error())
    }
}

fn next_cause<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    match error.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
        Some(inner) => Some(inner),
        None => error.source(),
    }
}

impl<E: Error + 'static> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::new(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for context in self.contexts() {
            write!(f, "{context}: ")?;
        }
        write!(f, "{}", self.error)?;
        if f.alternate() {
            let mut source = self.error.source();
            while let Some(error) = source {
                write!(f, ": {error}")?;
                source = error.source();
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alternate = f.alternate();
        let mut debug = f.debug_struct("Failure");
        debug.field("error", &self.error);
        if !self.context.is_empty() {
            debug.field("context", &self.contexts().collect::<Vec<_>>());
        }
        // The backtrace only in `{:#?}`: `{:?}` of a `Result` should stay one line.
        match &self.backtrace {
            Some(backtrace) if alternate => debug.field("backtrace", &format_args!("{backtrace}")).finish(),
            Some(_) => debug.finish_non_exhaustive(),
            None => debug.finish(),
        }
    }
}

/// The error behind [`Failure::msg`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageError(pub String);

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for MessageError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{ConnectionLost, ConnectionRefused};

    #[test]
    fn routine_ends_carry_no_backtrace_but_are_ordinary_failures() {
        let done = Failure::without_backtrace(crate::errors::ConnectionDone::new());
        assert!(done.backtrace().is_none());
        assert!(done.is::<crate::errors::ConnectionDone>());
        assert_eq!(
            done.to_string(),
            Failure::new(crate::errors::ConnectionDone::new()).to_string()
        );
    }

    #[test]
    fn finds_errors_through_the_source_chain() {
        let wrapped = io::Error::other(ConnectionRefused::new());
        let failure = Failure::new(wrapped);
        assert!(failure.is::<io::Error>());
        assert!(failure.is::<ConnectionRefused>());
        assert!(!failure.is::<ConnectionLost>());
        assert!(failure.root_cause().is::<ConnectionRefused>());
    }

    #[test]
    fn context_is_printed_newest_first() {
        let failure = Failure::msg("disk full")
            .context("writing mailbox")
            .context("delivering");
        assert_eq!(failure.to_string(), "delivering: writing mailbox: disk full");
        assert_eq!(
            failure.contexts().collect::<Vec<_>>(),
            ["delivering", "writing mailbox"]
        );
    }

    #[derive(Debug)]
    struct Wrapper(ConnectionLost);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("relay failed")
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn alternate_display_includes_sources() {
        let failure = Failure::new(Wrapper(ConnectionLost::new()));
        assert_eq!(failure.to_string(), "relay failed");
        assert_eq!(
            format!("{failure:#}"),
            "relay failed: connection to the other side was lost in a non-clean fashion"
        );
        assert!(failure.is::<ConnectionLost>());
    }

    #[test]
    fn question_mark_converts_any_error() {
        fn parse(s: &str) -> Result<u32, Failure> {
            Ok(s.parse::<u32>()?)
        }
        assert!(parse("x").unwrap_err().is::<std::num::ParseIntError>());
        assert_eq!(parse("7").unwrap(), 7);
    }

    #[test]
    fn clones_share_the_error() {
        let a = Failure::msg("x");
        let b = a.clone().context("more");
        assert!(std::ptr::addr_eq(a.as_error(), b.as_error()));
        assert_eq!(a.contexts().count(), 0);
    }
}
