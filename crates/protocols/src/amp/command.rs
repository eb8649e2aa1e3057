//! Typed commands: [`Command`] names a command and its argument, response
//! and error types; [`CommandError`] maps declared errors to wire codes.

use std::error::Error;
use std::fmt;

use super::types::Fields;

/// An AMP command, declared once and used by both sides: callers get
/// `Deferred<Self::Response>` from
/// [`Amp::call_remote`](super::Amp::call_remote), responders receive
/// `Self::Arguments`, and both are checked by the compiler.
///
/// ```
/// use gyre_protocols::amp::{Command, NoErrors};
///
/// gyre_protocols::amp_fields! {
///     /// Two numbers to add.
///     pub struct SumArguments { pub a: i64, pub b: i64 }
/// }
/// gyre_protocols::amp_fields! {
///     /// Their sum.
///     pub struct Total { pub total: i64 }
/// }
///
/// /// Adds two integers (Twisted's `class Sum(amp.Command)`).
/// pub struct Sum;
///
/// impl Command for Sum {
///     const NAME: &'static str = "Sum";
///     type Arguments = SumArguments;
///     type Response = Total;
///     type Error = NoErrors;
/// }
/// ```
pub trait Command: 'static {
    /// The command name on the wire (`_command`; Twisted's `commandName`,
    /// which defaults to the class name).
    const NAME: &'static str;
    /// Whether callers wait for an answer (Twisted's `requiresAnswer`).
    /// When false, [`Amp::send`](super::Amp::send) sends it without `_ask`
    /// and [`Amp::call_remote`](super::Amp::call_remote) does not compile.
    const REQUIRES_ANSWER: bool = true;
    /// What the caller sends.
    type Arguments: Fields;
    /// What the responder answers.
    type Response: Fields;
    /// The errors the responder may answer with instead (Twisted's
    /// `errors`), or [`NoErrors`].
    type Error: CommandError;
}

/// A command's declared errors: each maps to a wire code and back. A
/// responder failing with this type answers with its code and description;
/// a caller receiving that code gets this type back in its `Failure`.
/// Usually written with [`amp_errors!`](crate::amp_errors).
pub trait CommandError: Error + Sized + 'static {
    /// The error code to send (`_error_code`).
    fn code(&self) -> &'static str;

    /// The description to send (`_error_description`); Twisted sends
    /// `str(exception)`.
    fn description(&self) -> String {
        self.to_string()
    }

    /// The error a received `code` stands for, or `None` when the command
    /// does not declare that code.
    fn from_code(code: &[u8], description: &str) -> Option<Self>;

    /// Whether the responder closes the connection after sending this error
    /// (Twisted's `fatalErrors`).
    fn is_fatal(&self) -> bool {
        false
    }
}

/// The error type of a command that declares no errors; it has no values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoErrors {}

impl fmt::Display for NoErrors {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl Error for NoErrors {}

impl CommandError for NoErrors {
    fn code(&self) -> &'static str {
        match *self {}
    }

    fn from_code(_code: &[u8], _description: &str) -> Option<Self> {
        None
    }
}
