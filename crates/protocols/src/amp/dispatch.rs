//! The adapter's inner workings: feeding received bytes to the machine
//! (with backpressure), handing events to responders and waiting calls,
//! answering, passing file descriptors, and the end of the connection.

use std::rc::Weak;

use gyre_core::Failure;
#[cfg(unix)]
use gyre_core::capability::{FdSender, UnixFdPassing};
use gyre_core::deferred::Deferred;

use super::connection::{Amp, Inner, State};
use super::errors::{ProtocolError, RemoteAmpError, SendError, UnhandledCommand, UnknownRemoteError};
use super::proto::{Event, Reply, Ticket, UNHANDLED_ERROR_CODE, UNKNOWN_ERROR_CODE};
use super::responders::{Answer, invalid_arguments};
use super::types::{DecodeContext, EncodeContext};
use super::wire::AmpBox;

const LOG_TARGET: &str = "gyre::amp";

/// How one of our calls ended.
pub(crate) enum CallOutcome {
    Answer(AmpBox),
    Error { code: Vec<u8>, description: String },
    Failed(Failure),
}

/// Decodes and delivers the outcome of one call (borrows only what it needs).
pub(crate) type PendingCall = Box<dyn FnOnce(&Inner, CallOutcome)>;

/// The failure for an error code no command declared.
pub(crate) fn generic_remote_failure(code: &[u8], description: String) -> Failure {
    match code {
        b"UNKNOWN" => Failure::new(UnknownRemoteError::new(description)),
        b"UNHANDLED" => Failure::new(UnhandledCommand::new(description)),
        _ => Failure::new(RemoteAmpError::new(code, description)),
    }
}

/// Python's `repr()` of a bytes object, for Twisted's `Unhandled Command:
/// b'Name'` description.
pub(crate) fn python_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if char::from(byte) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push(quote);
    out
}

/// What passes `context`'s descriptors, checked before anything is sent.
#[cfg(unix)]
pub(crate) fn descriptor_sender(state: &State, context: &EncodeContext) -> Result<Option<FdSender>, Failure> {
    if context.descriptor_count() == 0 {
        return Ok(None);
    }
    let transport = state
        .transport
        .as_ref()
        .ok_or_else(|| Failure::new(SendError::NotConnected))?;
    Ok(Some(transport.capability::<UnixFdPassing>()?))
}

/// Off Unix nothing is ever passed.
#[cfg(not(unix))]
pub(crate) fn descriptor_sender(_state: &State, _context: &EncodeContext) -> Result<Option<()>, Failure> {
    Ok(None)
}

/// Queues the descriptors to go with the next bytes written (call before
/// [`flush`]) and counts them: both sides number every descriptor passed.
#[cfg(unix)]
pub(crate) fn pass_descriptors(state: &mut State, sender: Option<FdSender>, context: EncodeContext) {
    let fds = context.into_descriptors();
    let (Some(sender), false) = (sender, fds.is_empty()) else {
        return;
    };
    state.sent_descriptors += fds.len() as u64;
    if let Err(failure) = sender.send(fds) {
        // Only a closed transport refuses; connection_lost fails the call.
        tracing::debug!(target: LOG_TARGET, %failure, "passing file descriptors");
    }
}

#[cfg(not(unix))]
pub(crate) fn pass_descriptors(_state: &mut State, _sender: Option<()>, _context: EncodeContext) {}

/// Writes what the machine has to send, once connected.
pub(crate) fn flush(state: &mut State) {
    if let Some(transport) = state.transport.clone()
        && let Some(bytes) = state.machine.poll_transmit()
    {
        transport.write(&bytes);
    }
}

/// How many received bytes may wait while reading is paused: a transport
/// stops delivering once paused, so one read (at most 64 KiB) past a box
/// is all that should ever wait.
fn overrun_limit(amp: &Amp) -> usize {
    amp.inner.config.limits.max_box_bytes + (64 << 10)
}

/// Received bytes: to the machine, or kept while it takes no more.
pub(crate) fn feed(amp: &Amp, data: &[u8]) {
    let overrun = {
        let mut guard = amp.inner.state.borrow_mut();
        let state = &mut *guard;
        if state.leftover.is_empty() && state.machine.wants_input() {
            let used = state.machine.handle_input(data);
            state.leftover.extend_from_slice(&data[used..]);
        } else {
            // Bytes the machine already took go before the new ones come in.
            state.leftover.drain(..state.leftover_start);
            state.leftover_start = 0;
            state.leftover.extend_from_slice(data);
        }
        if !state.leftover.is_empty() && !state.reading_paused {
            state.reading_paused = true;
            if let Some(transport) = &state.transport {
                transport.pause_reading();
            }
        }
        state.leftover.len() > overrun_limit(amp)
    };
    if overrun {
        // A transport that keeps delivering while paused: stop buffering.
        let mut state = amp.inner.state.borrow_mut();
        state.leftover = Vec::new();
        state.leftover_start = 0;
        drop(state);
        violation(
            amp,
            ProtocolError::Overrun {
                limit: overrun_limit(amp),
            },
        );
    }
    pump(amp);
}

/// Handles events until none is left, feeding kept bytes as the machine
/// takes them again. Re-entrant calls (a responder answering at once)
/// return at once; the outer loop goes on.
pub(crate) fn pump(amp: &Amp) {
    {
        let mut state = amp.inner.state.borrow_mut();
        if state.pumping {
            return;
        }
        state.pumping = true;
    }
    loop {
        let event = {
            let mut guard = amp.inner.state.borrow_mut();
            let state = &mut *guard;
            if !state.leftover.is_empty() && state.machine.wants_input() {
                // Only the start moves: a paused read of many small
                // commands, taken one at a time as each is answered, is
                // not shifted down once per command.
                let used = state
                    .machine
                    .handle_input(&state.leftover[state.leftover_start..]);
                state.leftover_start += used;
                if state.leftover_start == state.leftover.len() {
                    state.leftover.clear();
                    state.leftover_start = 0;
                }
            }
            if state.leftover.is_empty() && state.reading_paused {
                state.reading_paused = false;
                if let Some(transport) = &state.transport {
                    transport.resume_reading();
                }
            }
            state.machine.poll_event()
        };
        match event {
            Some(event) => handle(amp, event),
            None => break,
        }
    }
    amp.inner.state.borrow_mut().pumping = false;
}

fn handle(amp: &Amp, event: Event) {
    match event {
        Event::Command {
            name,
            arguments,
            ticket,
        } => dispatch(amp, name, arguments, ticket),
        Event::Answer { tag, response } => deliver(amp, tag, CallOutcome::Answer(response)),
        Event::Error {
            tag,
            code,
            description,
        } => deliver(amp, tag, CallOutcome::Error { code, description }),
        Event::Failed(error) => violation(amp, error),
    }
}

fn deliver(amp: &Amp, tag: u64, outcome: CallOutcome) {
    let call = amp.inner.state.borrow_mut().calls.remove(&tag);
    if let Some(call) = call {
        call(&amp.inner, outcome);
    }
}

/// The peer broke the protocol: remember why, and close.
pub(crate) fn violation(amp: &Amp, error: ProtocolError) {
    tracing::warn!(target: LOG_TARGET, %error, "closing the AMP connection");
    let transport = {
        let mut state = amp.inner.state.borrow_mut();
        state.violation.get_or_insert_with(|| Failure::new(error));
        state.transport.clone()
    };
    if let Some(transport) = transport {
        transport.lose_connection();
    }
}

/// Runs the responder for a received command.
fn dispatch(amp: &Amp, name: Vec<u8>, arguments: AmpBox, ticket: Ticket) {
    let prepared = {
        let responders = amp.inner.responders.borrow();
        let mut received = amp.inner.received.borrow_mut();
        responders.as_ref().and_then(|responders| {
            responders.prepare(&name, arguments, &mut DecodeContext::new(&mut received))
        })
    };
    let answer: Deferred<Answer> = match prepared {
        Some(Ok(invoke)) => invoke(amp),
        Some(Err(error)) => invalid_arguments(&name, error),
        None => Deferred::fail(UnhandledCommand::new(format!(
            "Unhandled Command: {}",
            python_bytes_repr(&name)
        ))),
    };
    let guard = Answering {
        amp: amp.downgrade(),
        ticket: Some(ticket),
    };
    drop(answer.then(move |result| guard.finish(result)));
}

/// A received command being answered. If the responder's Deferred is
/// dropped without firing, the peer is answered `UNKNOWN` rather than left
/// waiting forever.
struct Answering {
    amp: Weak<Inner>,
    ticket: Option<Ticket>,
}

impl Answering {
    fn finish(mut self, result: Result<Answer, Failure>) {
        if let (Some(inner), Some(ticket)) = (self.amp.upgrade(), self.ticket.take()) {
            finish(&Amp::from_inner(inner), ticket, result);
        }
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        let Some(inner) = self.amp.upgrade() else {
            return;
        };
        if inner.state.try_borrow_mut().is_err() {
            tracing::error!(target: LOG_TARGET, "an AMP responder was dropped while the connection was busy");
            return;
        }
        let abandoned = Failure::msg("the responder dropped its Deferred without answering");
        finish(&Amp::from_inner(inner), ticket, Err(abandoned));
    }
}

/// What to send for a responder's result, and whether to close afterwards.
fn reply_for(
    amp: &Amp,
    ticket: &Ticket,
    result: Result<Answer, Failure>,
) -> (Reply, bool, Option<EncodeContext>) {
    let config = &amp.inner.config;
    let unknown = |failure: Failure| {
        tracing::warn!(
            target: LOG_TARGET,
            failure = %format!("{failure:#}"),
            answered = ticket.wants_answer(),
            "AMP responder failed with an undeclared error"
        );
        let description = if config.describe_unknown_errors {
            format!("{failure:#}")
        } else {
            "Unknown Error".to_owned()
        };
        let reply = Reply::Error {
            code: UNKNOWN_ERROR_CODE.as_bytes().to_vec(),
            description,
        };
        (reply, config.close_on_unknown_error, None)
    };
    match result {
        Ok(Answer::Fields(encode)) => {
            let mut response = AmpBox::new();
            let mut context = EncodeContext::new(amp.inner.state.borrow().sent_descriptors);
            match encode(&mut response, &mut context) {
                Ok(()) => (Reply::Answer(response), false, Some(context)),
                Err(error) => unknown(Failure::new(error).context("encoding the response")),
            }
        }
        Ok(Answer::Declared {
            code,
            description,
            fatal,
        }) => (Reply::Error { code, description }, fatal, None),
        Err(failure) => {
            let passed_through = if let Some(error) = failure.downcast_ref::<RemoteAmpError>() {
                Some((error.code.clone(), error.description.clone(), error.fatal))
            } else if let Some(error) = failure.downcast_ref::<UnhandledCommand>() {
                Some((
                    UNHANDLED_ERROR_CODE.as_bytes().to_vec(),
                    error.description.clone(),
                    false,
                ))
            } else {
                failure.downcast_ref::<UnknownRemoteError>().map(|error| {
                    (
                        UNKNOWN_ERROR_CODE.as_bytes().to_vec(),
                        error.description.clone(),
                        false,
                    )
                })
            };
            match passed_through {
                // Unhandled commands that asked for no answer: Twisted closes.
                Some((code, _, _)) if !ticket.wants_answer() && code == UNHANDLED_ERROR_CODE.as_bytes() => {
                    unknown(failure)
                }
                Some((code, description, fatal)) => (Reply::Error { code, description }, fatal, None),
                None => unknown(failure),
            }
        }
    }
}

/// Sends the answer to a received command and releases its ticket.
fn finish(amp: &Amp, ticket: Ticket, result: Result<Answer, Failure>) {
    {
        let mut state = amp.inner.state.borrow_mut();
        if state.ended.is_some() {
            // Nobody to answer any more: just release the ticket.
            let _ = state.machine.complete(ticket, Reply::Answer(AmpBox::new()));
            return;
        }
    }
    let (mut reply, mut close, mut context) = reply_for(amp, &ticket, result);
    // A response passing descriptors needs a transport that can pass them.
    let sender = match &context {
        Some(context) => descriptor_sender(&amp.inner.state.borrow(), context),
        None => Ok(None),
    };
    let sender = sender.unwrap_or_else(|failure| {
        (reply, close, context) = reply_for(amp, &ticket, Err(failure.context("passing file descriptors")));
        None
    });
    let transport = {
        let mut state = amp.inner.state.borrow_mut();
        if state.machine.complete(ticket, reply).is_err() {
            close |= amp.inner.config.close_on_unknown_error;
        }
        if let Some(context) = context {
            pass_descriptors(&mut state, sender, context);
        }
        flush(&mut state);
        state.transport.clone()
    };
    if close && let Some(transport) = transport {
        transport.lose_connection();
    }
    pump(amp);
}

/// The connection ended: every waiting call fails with the reason (or the
/// peer's protocol violation), and the handlers are dropped.
pub(crate) fn connection_lost(amp: &Amp, reason: Failure) {
    let (calls, reason) = {
        let mut state = amp.inner.state.borrow_mut();
        let reason = state.violation.clone().unwrap_or(reason);
        state.ended = Some(reason.clone());
        let tags = state.machine.connection_lost();
        let calls: Vec<_> = tags.iter().filter_map(|tag| state.calls.remove(tag)).collect();
        state.calls.clear();
        state.leftover = Vec::new();
        state.leftover_start = 0;
        (calls, reason)
    };
    drop(amp.inner.responders.borrow_mut().take());
    amp.inner.received.borrow_mut().clear();
    for call in calls {
        call(&amp.inner, CallOutcome::Failed(reason.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::python_bytes_repr;

    #[test]
    fn bytes_are_shown_as_python_shows_them() {
        // Each expected string is what Python 3.11 prints for `repr(bytes)`.
        let cases: [(&[u8], &str); 5] = [
            (b"Nope", r"b'Nope'"),
            (b"it's", r#"b"it's""#),
            (br#"say "hi""#, r#"b'say "hi"'"#),
            (br#"both '""#, r#"b'both \'"'"#),
            (b"\x00\xff\\\t\n\r\x7f", r"b'\x00\xff\\\t\n\r\x7f'"),
        ];
        for (bytes, shown) in cases {
            assert_eq!(python_bytes_repr(bytes), shown);
        }
    }
}
