//! # AMP, the Asynchronous Messaging Protocol (wire-compatible with Twisted)
//!
//! AMP carries request/response pairs in both directions over one
//! connection. Every message is a *box* of key/value byte strings; a command
//! box names the command (`_command`) and, when it wants an answer, a tag
//! (`_ask`); the answer echoes the tag (`_answer`) or reports an error
//! (`_error`, `_error_code`, `_error_description`). gyre speaks exactly the
//! bytes `twisted.protocols.amp` speaks, so Python Twisted programs and gyre
//! programs call each other.
//!
//! ```text
//!   wire      AmpBox · BoxDecoder (sans-IO, any chunking, limits) · encode
//!   types     Argument (value ↔ bytes) · BoxField (required/optional) · Fields (struct ↔ box)
//!             Integer String Unicode Path Float Boolean Decimal DateTime ListOf AmpList Descriptor
//!   commands  Command (name, Arguments, Response, Error, REQUIRES_ANSWER) · CommandError
//!   proto     AmpMachine: tags, answers, replies, in-flight limits (sans-IO)
//!   adapter   AmpProtocol (a gyre Protocol) · Amp handle: call_remote / send
//!             Responders (name → typed handler) · AmpFactory · connect_amp
//! ```
//!
//! A command is declared once, as types, and both sides use it: the
//! compiler checks the arguments a caller passes, the response a responder
//! returns, and the declared errors (`Failure::downcast_ref::<DivideError>()`
//! on the caller's side). No handler sees a string-keyed map unless it asks
//! for one ([`Responders::add_box`], [`Amp::call_remote_box`]).
//!
//! ```
//! use gyre_core::Failure;
//! use gyre_protocols::amp::{AmpProtocol, Command, NoErrors, Responders};
//! use gyre_testing::{connect_pair, failure_result_of, success_result_of};
//!
//! gyre_protocols::amp_fields! {
//!     /// Sum's arguments.
//!     pub struct Pair { pub a: i64, pub b: i64 }
//! }
//! gyre_protocols::amp_fields! {
//!     /// Sum's response.
//!     pub struct Total { pub total: i64 }
//! }
//! gyre_protocols::amp_fields! {
//!     /// Divide's arguments.
//!     pub struct Fraction { pub numerator: i64, pub denominator: i64 }
//! }
//! gyre_protocols::amp_fields! {
//!     /// Divide's response.
//!     pub struct Quotient { pub result: f64 }
//! }
//! gyre_protocols::amp_errors! {
//!     /// Divide's declared errors.
//!     pub enum DivideError {
//!         /// Division by zero.
//!         ZeroDivision = "ZERO_DIVISION",
//!     }
//! }
//!
//! /// `class Sum(amp.Command)` in Twisted.
//! pub struct Sum;
//! impl Command for Sum {
//!     const NAME: &'static str = "Sum";
//!     type Arguments = Pair;
//!     type Response = Total;
//!     type Error = NoErrors;
//! }
//!
//! /// `class Divide(amp.Command)` with `errors = {ZeroDivisionError: b"ZERO_DIVISION"}`.
//! pub struct Divide;
//! impl Command for Divide {
//!     const NAME: &'static str = "Divide";
//!     type Arguments = Fraction;
//!     type Response = Quotient;
//!     type Error = DivideError;
//! }
//!
//! let mut responders = Responders::new();
//! responders
//!     .add(Sum, |pair| Ok(Total { total: pair.a + pair.b }))
//!     .add(Divide, |f| {
//!         if f.denominator == 0 {
//!             return Err(DivideError::ZeroDivision("division by zero".into()).into());
//!         }
//!         Ok(Quotient { result: f.numerator as f64 / f.denominator as f64 })
//!     });
//!
//! let client = AmpProtocol::default();
//! let amp = client.amp();
//! let mut pair = connect_pair(AmpProtocol::new(responders), client);
//! let total = amp.call_remote::<Sum>(Pair { a: 13, b: 81 });
//! let zero = amp.call_remote::<Divide>(Fraction { numerator: 1, denominator: 0 });
//! pair.pump();
//! assert_eq!(success_result_of(total).total, 94);
//! let failure: Failure = failure_result_of(zero);
//! assert_eq!(failure.downcast_ref::<DivideError>(), Some(&DivideError::ZeroDivision("division by zero".into())));
//! ```
//!
//! Differences from Twisted, by design: received boxes are bounded
//! ([`BoxLimits`]), so are calls waiting for answers and commands being
//! answered ([`AmpConfig`]); a box repeating a key, a list value with
//! trailing garbage and a malformed `DateTime` are errors rather than
//! guesses; the `UNKNOWN` error carries the failure's text unless
//! [`AmpConfig::describe_unknown_errors`] is off. `StartTLS` and
//! `ProtocolSwitchCommand` are not implemented.

mod command;
mod config;
mod connection;
mod datetime;
mod decimal;
mod dispatch;
pub mod errors;
mod factory;
mod float;
mod macros;
pub mod proto;
mod responders;
pub mod types;
mod values;
pub mod wire;

pub use command::{Command, CommandError, NoErrors};
pub use config::AmpConfig;
pub use connection::{Amp, AmpProtocol};
pub use datetime::DateTime;
pub use decimal::Decimal;
pub use errors::{
    ArgumentError, DecodeError, EncodeError, ProtocolError, RemoteAmpError, SendError, UnhandledCommand,
    UnknownRemoteError, ValueError,
};
pub use factory::{AmpFactory, connect_amp};
pub use proto::{AmpMachine, Event, Reply, Ticket};
pub use responders::Responders;
pub use types::{Argument, BoxField, DecodeContext, Empty, EncodeContext, Fields, ReceivedDescriptors};
pub use values::AmpList;
pub use wire::{AmpBox, BoxDecoder, BoxLimits, MAX_KEY_LENGTH, MAX_VALUE_LENGTH, decode_boxes};
