//! [`Responders`]: the registry that maps command names to the code that
//! answers them (Twisted's `CommandLocator` and `@Command.responder`).

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use gyre_core::deferred::{Outcome, fail, maybe};
use gyre_core::{Deferred, Failure};

use super::command::{Command, CommandError};
use super::connection::Amp;
use super::errors::ArgumentError;
use super::types::{DecodeContext, EncodeContext, Fields};
use super::wire::AmpBox;

/// Writes a successful response into a box, once the connection is ready
/// to number the file descriptors it passes.
pub(crate) type EncodeResponse =
    Box<dyn FnOnce(&mut AmpBox, &mut EncodeContext) -> Result<(), ArgumentError>>;

/// What a responder answered, before encoding. Failures that are not
/// declared travel as the Deferred's failure.
pub(crate) enum Answer {
    /// The response fields.
    Fields(EncodeResponse),
    /// A declared error.
    Declared {
        code: Vec<u8>,
        description: String,
        fatal: bool,
    },
}

/// Runs the responder on decoded arguments.
pub(crate) type Invoke = Box<dyn FnOnce(&Amp) -> Deferred<Answer>>;

/// Decodes a command's arguments (claiming passed descriptors) and returns
/// the call to make; decoding happens before any user code runs.
type Erased = Rc<dyn Fn(AmpBox, &mut DecodeContext<'_>) -> Result<Invoke, ArgumentError>>;

/// The responders of an AMP connection, by command name.
///
/// A responder receives the command's typed arguments and returns its
/// response now (`Ok(response)`), a failure (`Err(DeclaredError.into())`
/// for a declared error; anything else answers `UNKNOWN`), or a
/// `Deferred` that fires later. Registries are cheap to clone (the
/// handlers are shared), so a server builds one and hands a clone to each
/// connection; keep per-connection state out of handlers, or in `Cell`s.
///
/// ```
/// use gyre_protocols::amp::{Command, NoErrors, Responders};
///
/// gyre_protocols::amp_fields! {
///     /// Two numbers.
///     pub struct Pair { pub a: i64, pub b: i64 }
/// }
/// gyre_protocols::amp_fields! {
///     /// Their sum.
///     pub struct Total { pub total: i64 }
/// }
/// /// Adds.
/// pub struct Sum;
/// impl Command for Sum {
///     const NAME: &'static str = "Sum";
///     type Arguments = Pair;
///     type Response = Total;
///     type Error = NoErrors;
/// }
///
/// let mut responders = Responders::new();
/// responders.add(Sum, |pair| Ok(Total { total: pair.a + pair.b }));
/// assert!(responders.contains("Sum"));
/// ```
#[derive(Clone, Default)]
pub struct Responders {
    handlers: HashMap<Vec<u8>, Erased>,
}

/// The typed result of a responder as an [`Answer`]: declared errors are
/// recognised by type (anywhere in the failure's source chain).
fn answer_for<C: Command>(result: Result<C::Response, Failure>) -> Result<Answer, Failure> {
    match result {
        Ok(response) => Ok(Answer::Fields(Box::new(move |out, context| {
            response.encode_fields(out, context)
        }))),
        Err(failure) => match failure.downcast_ref::<C::Error>() {
            Some(error) => Ok(Answer::Declared {
                code: error.code().as_bytes().to_vec(),
                description: error.description(),
                fatal: error.is_fatal(),
            }),
            None => Err(failure),
        },
    }
}

impl Responders {
    /// An empty registry (every command is answered `UNHANDLED`).
    pub fn new() -> Self {
        Responders::default()
    }

    /// Answers command `C` with `handler`, replacing any responder for the
    /// same name. The command is passed as a value (`responders.add(Sum,
    /// |arguments| ...)`) so the handler's argument type is known.
    pub fn add<C, R>(&mut self, command: C, handler: impl Fn(C::Arguments) -> R + 'static) -> &mut Self
    where
        C: Command,
        R: Outcome<Value = C::Response>,
    {
        self.add_with_connection(command, move |_: &Amp, arguments| handler(arguments))
    }

    /// Like [`add`](Self::add), for a handler that also uses the connection
    /// (to call the peer back, or to close it). Use this `&Amp` rather than
    /// capturing the connection's own handle in the handler, which would
    /// make a reference cycle until the connection ends.
    pub fn add_with_connection<C, R>(
        &mut self,
        command: C,
        handler: impl Fn(&Amp, C::Arguments) -> R + 'static,
    ) -> &mut Self
    where
        C: Command,
        R: Outcome<Value = C::Response>,
    {
        let _ = command;
        let handler = Rc::new(handler);
        let erased: Erased = Rc::new(move |arguments: AmpBox, context: &mut DecodeContext<'_>| {
            let arguments = C::Arguments::decode_fields(&arguments, context)?;
            let handler = handler.clone();
            Ok(Box::new(move |amp: &Amp| maybe(|| handler(amp, arguments)).then(answer_for::<C>)) as Invoke)
        });
        self.handlers.insert(C::NAME.as_bytes().to_vec(), erased);
        self
    }

    /// Answers command `name` with an untyped handler that receives the
    /// argument box (without `_command` and `_ask`) and returns the
    /// response box. To answer a specific error code, fail with
    /// [`RemoteAmpError`](super::RemoteAmpError).
    pub fn add_box<R>(
        &mut self,
        name: impl Into<Vec<u8>>,
        handler: impl Fn(&Amp, AmpBox) -> R + 'static,
    ) -> &mut Self
    where
        R: Outcome<Value = AmpBox>,
    {
        let handler = Rc::new(handler);
        let erased: Erased = Rc::new(move |arguments: AmpBox, _context: &mut DecodeContext<'_>| {
            let handler = handler.clone();
            Ok(Box::new(move |amp: &Amp| {
                maybe(|| handler(amp, arguments)).map(|response| {
                    Answer::Fields(Box::new(move |out: &mut AmpBox, _: &mut EncodeContext| {
                        out.extend(response);
                        Ok(())
                    }))
                })
            }) as Invoke)
        });
        self.handlers.insert(name.into(), erased);
        self
    }

    /// Removes the responder for `name`; whether there was one.
    pub fn remove(&mut self, name: impl AsRef<[u8]>) -> bool {
        self.handlers.remove(name.as_ref()).is_some()
    }

    /// Whether a responder answers `name`.
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        self.handlers.contains_key(name.as_ref())
    }

    /// Decodes `arguments` for the responder of `name` and returns the call
    /// to make, or `None` when nobody answers `name`.
    pub(crate) fn prepare(
        &self,
        name: &[u8],
        arguments: AmpBox,
        context: &mut DecodeContext<'_>,
    ) -> Option<Result<Invoke, ArgumentError>> {
        let handler = self.handlers.get(name)?.clone();
        Some(handler(arguments, context))
    }
}

/// A failed [`Invoke`] for arguments that did not decode.
pub(crate) fn invalid_arguments(name: &[u8], error: ArgumentError) -> Deferred<Answer> {
    fail(Failure::new(error).context(format!(
        "decoding the arguments of {}",
        String::from_utf8_lossy(name)
    )))
}

impl fmt::Debug for Responders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<String> = self
            .handlers
            .keys()
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        names.sort();
        f.debug_struct("Responders").field("commands", &names).finish()
    }
}
