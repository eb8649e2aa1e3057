//! The adapter: [`Amp`], the handle that calls the peer, and
//! [`AmpProtocol`], the gyre [`Protocol`] that drives an [`AmpMachine`] on a
//! transport, dispatches received commands to [`Responders`] and fires the
//! Deferreds of our calls.
//!
//! Re-entrancy: no borrow of the connection's state is held while user code
//! runs (responders, Deferred callbacks), so any of them may call the peer,
//! answer later, or close the connection.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::rc::{Rc, Weak};

use gyre_core::deferred::{Deferred, Resolver};
use gyre_core::{Failure, Protocol, Transport};

use super::command::{Command, CommandError};
use super::config::AmpConfig;
use super::dispatch::{self, CallOutcome, PendingCall};
use super::errors::SendError;
use super::proto::AmpMachine;
use super::responders::Responders;
use super::types::{DecodeContext, EncodeContext, Fields, ReceivedDescriptors};
use super::wire::AmpBox;

/// A handle to one AMP connection: call the peer with
/// [`call_remote`](Self::call_remote). Cheap to clone; every clone talks to
/// the same connection.
#[derive(Clone)]
pub struct Amp {
    pub(crate) inner: Rc<Inner>,
}

/// Runs once the connection is made.
type ConnectionHook = Box<dyn FnOnce(&Amp)>;

pub(crate) struct Inner {
    pub(crate) config: AmpConfig,
    pub(crate) state: RefCell<State>,
    /// `None` once the connection ended (dropping the handlers breaks any
    /// reference cycle through them).
    pub(crate) responders: RefCell<Option<Responders>>,
    pub(crate) received: RefCell<ReceivedDescriptors>,
    on_connection_made: RefCell<Option<ConnectionHook>>,
}

pub(crate) struct State {
    pub(crate) machine: AmpMachine,
    pub(crate) transport: Option<Transport>,
    /// Our calls waiting for answers, by tag.
    pub(crate) calls: HashMap<u64, PendingCall>,
    /// How many descriptors this side has passed (the next ordinal).
    pub(crate) sent_descriptors: u64,
    /// Received bytes the machine could not take yet (reading is paused):
    /// `leftover[leftover_start..]`; the machine's progress through them
    /// moves `leftover_start` instead of shifting the bytes, and both are
    /// reset once everything was taken.
    pub(crate) leftover: Vec<u8>,
    pub(crate) leftover_start: usize,
    pub(crate) reading_paused: bool,
    pub(crate) pumping: bool,
    /// Why the connection can no longer be used.
    pub(crate) ended: Option<Failure>,
    /// How the peer broke the protocol, reported to waiting calls.
    pub(crate) violation: Option<Failure>,
}

impl Amp {
    fn new(responders: Responders, config: AmpConfig) -> Amp {
        Amp {
            inner: Rc::new(Inner {
                received: RefCell::new(ReceivedDescriptors::new(config.max_received_descriptors)),
                state: RefCell::new(State {
                    machine: AmpMachine::new(config.clone()),
                    transport: None,
                    calls: HashMap::new(),
                    sent_descriptors: 0,
                    leftover: Vec::new(),
                    leftover_start: 0,
                    reading_paused: false,
                    pumping: false,
                    ended: None,
                    violation: None,
                }),
                config,
                responders: RefCell::new(Some(responders)),
                on_connection_made: RefCell::new(None),
            }),
        }
    }

    pub(crate) fn from_inner(inner: Rc<Inner>) -> Amp {
        Amp { inner }
    }

    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Rc::downgrade(&self.inner)
    }

    /// Calls command `C` on the peer; the Deferred fires with its typed
    /// response, or fails with the command's declared error type,
    /// [`UnknownRemoteError`](super::UnknownRemoteError),
    /// [`UnhandledCommand`](super::UnhandledCommand),
    /// [`RemoteAmpError`](super::RemoteAmpError), an
    /// [`ArgumentError`](super::ArgumentError), a
    /// [`SendError`](super::SendError), or the reason the connection ended.
    ///
    /// Only compiles for commands with `REQUIRES_ANSWER = true`; use
    /// [`send`](Self::send) for the others:
    ///
    /// ```compile_fail
    /// # use gyre_protocols::amp::{AmpProtocol, Command, Empty, NoErrors};
    /// struct Log;
    /// impl Command for Log {
    ///     const NAME: &'static str = "Log";
    ///     const REQUIRES_ANSWER: bool = false;
    ///     type Arguments = Empty;
    ///     type Response = Empty;
    ///     type Error = NoErrors;
    /// }
    /// let amp = AmpProtocol::default().amp();
    /// let _ = amp.call_remote::<Log>(Empty);
    /// ```
    pub fn call_remote<C: Command>(&self, arguments: C::Arguments) -> Deferred<C::Response> {
        const {
            assert!(
                C::REQUIRES_ANSWER,
                "this command has REQUIRES_ANSWER = false: send it with Amp::send"
            );
        }
        let (deferred, resolver) = Deferred::new();
        let waiting = resolver.clone();
        let on_outcome: PendingCall = Box::new(move |inner: &Inner, outcome: CallOutcome| {
            let result = match outcome {
                CallOutcome::Answer(response) => {
                    let mut received = inner.received.borrow_mut();
                    C::Response::decode_fields(&response, &mut DecodeContext::new(&mut received))
                        .map_err(|error| Failure::new(error).context(format!("the answer to {}", C::NAME)))
                }
                CallOutcome::Error { code, description } => {
                    Err(remote_failure::<C::Error>(&code, description)
                        .context(format!("calling {}", C::NAME)))
                }
                CallOutcome::Failed(failure) => Err(failure),
            };
            waiting.fire(result);
        });
        let sent = self.start(
            C::NAME.as_bytes(),
            |out, context| arguments.encode_fields(out, context),
            Some(on_outcome),
        );
        if let Err(failure) = sent {
            resolver.errback(failure.context(format!("calling {}", C::NAME)));
        }
        deferred
    }

    /// Sends command `C` without asking for an answer (no `_ask`). Only
    /// compiles for commands with `REQUIRES_ANSWER = false`.
    pub fn send<C: Command>(&self, arguments: C::Arguments) -> Result<(), Failure> {
        const {
            assert!(
                !C::REQUIRES_ANSWER,
                "this command expects an answer: call it with Amp::call_remote"
            );
        }
        self.start(
            C::NAME.as_bytes(),
            |out, context| arguments.encode_fields(out, context),
            None,
        )
        .map_err(|failure| failure.context(format!("sending {}", C::NAME)))
    }

    /// Calls command `name` with an untyped box; the Deferred fires with the
    /// response box (without `_answer`). Remote errors arrive as
    /// [`UnknownRemoteError`](super::UnknownRemoteError),
    /// [`UnhandledCommand`](super::UnhandledCommand) or
    /// [`RemoteAmpError`](super::RemoteAmpError).
    pub fn call_remote_box(&self, name: impl AsRef<[u8]>, arguments: AmpBox) -> Deferred<AmpBox> {
        let (deferred, resolver) = Deferred::new();
        let waiting: Resolver<AmpBox> = resolver.clone();
        let on_outcome: PendingCall = Box::new(move |_: &Inner, outcome: CallOutcome| {
            waiting.fire(match outcome {
                CallOutcome::Answer(response) => Ok(response),
                CallOutcome::Error { code, description } => {
                    Err(dispatch::generic_remote_failure(&code, description))
                }
                CallOutcome::Failed(failure) => Err(failure),
            });
        });
        let name = name.as_ref();
        let sent = self.start(
            name,
            |out, _| {
                out.extend(arguments);
                Ok(())
            },
            Some(on_outcome),
        );
        if let Err(failure) = sent {
            resolver.errback(failure.context(format!("calling {}", String::from_utf8_lossy(name))));
        }
        deferred
    }

    /// Sends command `name` with an untyped box, asking for no answer.
    pub fn send_box(&self, name: impl AsRef<[u8]>, arguments: AmpBox) -> Result<(), Failure> {
        self.start(
            name.as_ref(),
            |out, _| {
                out.extend(arguments);
                Ok(())
            },
            None,
        )
    }

    /// Encodes and sends a command; registers `on_outcome` when an answer is
    /// asked for.
    fn start(
        &self,
        name: &[u8],
        encode: impl FnOnce(&mut AmpBox, &mut EncodeContext) -> Result<(), super::ArgumentError>,
        on_outcome: Option<PendingCall>,
    ) -> Result<(), Failure> {
        let mut state = self.inner.state.borrow_mut();
        if let Some(reason) = &state.ended {
            return Err(reason.clone());
        }
        let mut arguments = AmpBox::new();
        let mut context = EncodeContext::new(state.sent_descriptors);
        encode(&mut arguments, &mut context)?;
        let sender = dispatch::descriptor_sender(&state, &context)?;
        let closed = |error: SendError, state: &State| match (&error, &state.ended) {
            (SendError::Closed, Some(reason)) => reason.clone(),
            _ => Failure::new(error),
        };
        match on_outcome {
            Some(on_outcome) => {
                let tag = state
                    .machine
                    .ask(name, arguments)
                    .map_err(|error| closed(error, &state))?;
                state.calls.insert(tag, on_outcome);
            }
            None => state
                .machine
                .tell(name, arguments)
                .map_err(|error| closed(error, &state))?,
        }
        dispatch::pass_descriptors(&mut state, sender, context);
        dispatch::flush(&mut state);
        Ok(())
    }

    /// The transport, once connected.
    pub fn transport(&self) -> Option<Transport> {
        self.inner.state.borrow().transport.clone()
    }

    /// Whether the connection is up (made and not yet ended).
    pub fn is_connected(&self) -> bool {
        let state = self.inner.state.borrow();
        state.transport.is_some() && state.ended.is_none()
    }

    /// Why the connection ended, once it did.
    pub fn end_reason(&self) -> Option<Failure> {
        self.inner.state.borrow().ended.clone()
    }

    /// How many of our calls wait for answers.
    pub fn outstanding_calls(&self) -> usize {
        self.inner.state.borrow().calls.len()
    }

    /// Closes the connection after sending what is buffered; calls still
    /// waiting fail with `ConnectionDone`.
    pub fn lose_connection(&self) {
        if let Some(transport) = self.transport() {
            transport.lose_connection();
        }
    }
}

/// The failure for an error answer to a typed call: the declared error if
/// the code is one, otherwise the generic remote errors.
fn remote_failure<E: CommandError>(code: &[u8], description: String) -> Failure {
    match E::from_code(code, &description) {
        Some(error) => Failure::new(error),
        None => dispatch::generic_remote_failure(code, description),
    }
}

impl fmt::Debug for Amp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("Amp")
            .field("connected", &state.transport.is_some())
            .field("ended", &state.ended.as_ref().map(ToString::to_string))
            .field("outstanding_calls", &state.calls.len())
            .field("in_flight_commands", &state.machine.in_flight_commands())
            .finish()
    }
}

/// An AMP connection as a gyre [`Protocol`]: it both sends commands (through
/// [`amp`](Self::amp)) and answers the peer's with its [`Responders`].
pub struct AmpProtocol {
    amp: Amp,
}

impl Default for AmpProtocol {
    /// A connection that only calls: every command the peer sends is
    /// answered `UNHANDLED`.
    fn default() -> Self {
        AmpProtocol::new(Responders::new())
    }
}

impl AmpProtocol {
    /// A connection answering with `responders`, with the default limits.
    pub fn new(responders: Responders) -> Self {
        AmpProtocol::with_config(responders, AmpConfig::default())
    }

    /// A connection answering with `responders`, with `config`.
    pub fn with_config(responders: Responders, config: AmpConfig) -> Self {
        AmpProtocol {
            amp: Amp::new(responders, config),
        }
    }

    /// Runs `f` once the connection is made (to start calling the peer).
    pub fn on_connection_made(self, f: impl FnOnce(&Amp) + 'static) -> Self {
        *self.amp.inner.on_connection_made.borrow_mut() = Some(Box::new(f));
        self
    }

    /// The handle to call the peer with; calls made before the connection
    /// is up are sent once it is.
    pub fn amp(&self) -> Amp {
        self.amp.clone()
    }
}

impl Protocol for AmpProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        {
            let mut state = self.amp.inner.state.borrow_mut();
            state.transport = Some(transport.clone());
            dispatch::flush(&mut state);
        }
        let hook = self.amp.inner.on_connection_made.borrow_mut().take();
        if let Some(hook) = hook {
            hook(&self.amp);
        }
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        dispatch::feed(&self.amp, data);
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        dispatch::connection_lost(&self.amp, reason);
    }

    #[cfg(unix)]
    fn file_descriptors_received(&mut self, _transport: &Transport, fds: Vec<OwnedFd>) {
        let refused = self.amp.inner.received.borrow_mut().receive(fds);
        if let Err(error) = refused {
            dispatch::violation(&self.amp, error);
        }
    }
}

impl fmt::Debug for AmpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AmpProtocol").field(&self.amp).finish()
    }
}
