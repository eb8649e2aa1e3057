//! [`AmpMachine`]: the sans-IO state of one AMP conversation.
//!
//! The machine turns received bytes into [`Event`]s (commands to answer,
//! answers and errors to our questions) and our commands and replies into
//! bytes. It owns every rule of the conversation: `_ask` tags (a hex
//! counter from 1, as Twisted's), which answers are expected, how replies
//! are shaped, and the limits that keep a hostile peer from exhausting
//! memory. It does no I/O and calls nobody: bytes in through
//! [`handle_input`](AmpMachine::handle_input), events out through
//! [`poll_event`](AmpMachine::poll_event), bytes out through
//! [`poll_transmit`](AmpMachine::poll_transmit). Errors are sticky.
//!
//! Backpressure: each received command holds a [`Ticket`] until it is
//! answered with [`complete`](AmpMachine::complete). While the commands
//! still being answered reach [`AmpConfig::max_in_flight_commands`] or
//! [`AmpConfig::max_in_flight_bytes`], `handle_input` stops consuming and
//! the caller stops reading from the peer, so a peer pipelining commands
//! faster than they are answered slows down instead of growing our memory.
//! (A responder that itself waits for the peer's answer to a call of ours
//! while the limit is reached would wait forever; keep the limit above the
//! number of such nested calls.)

use std::collections::{BTreeSet, VecDeque};

use super::config::AmpConfig;
use super::errors::{DecodeError, EncodeError, ProtocolError, SendError};
use super::wire::{AmpBox, BoxDecoder, MAX_VALUE_LENGTH};

/// The reserved key that asks for an answer, with the question's tag.
pub const ASK: &str = "_ask";
/// The reserved key of an answer, with the question's tag.
pub const ANSWER: &str = "_answer";
/// The reserved key naming the command.
pub const COMMAND: &str = "_command";
/// The reserved key of an error answer, with the question's tag.
pub const ERROR: &str = "_error";
/// The error answer's code.
pub const ERROR_CODE: &str = "_error_code";
/// The error answer's description.
pub const ERROR_DESCRIPTION: &str = "_error_description";
/// The code of a failure the responder did not declare.
pub const UNKNOWN_ERROR_CODE: &str = "UNKNOWN";
/// The code for a command nobody responds to.
pub const UNHANDLED_ERROR_CODE: &str = "UNHANDLED";

/// A received command the caller must answer through
/// [`AmpMachine::complete`]; until then it counts against the in-flight
/// limits.
#[derive(Debug, PartialEq, Eq)]
pub struct Ticket {
    ask: Option<Vec<u8>>,
    bytes: usize,
}

impl Ticket {
    /// Whether the peer asked for an answer.
    pub fn wants_answer(&self) -> bool {
        self.ask.is_some()
    }

    /// The peer's `_ask` tag, if it asked for an answer.
    pub fn ask(&self) -> Option<&[u8]> {
        self.ask.as_deref()
    }
}

/// What happened on the connection.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The peer sent a command; `arguments` holds its box without the
    /// reserved `_command` and `_ask` keys.
    Command {
        /// The command name.
        name: Vec<u8>,
        /// The arguments.
        arguments: AmpBox,
        /// Answer it with [`AmpMachine::complete`].
        ticket: Ticket,
    },
    /// The peer answered our question `tag`; `response` is without `_answer`.
    Answer {
        /// The tag [`AmpMachine::ask`] returned.
        tag: u64,
        /// The response fields.
        response: AmpBox,
    },
    /// The peer answered our question `tag` with an error.
    Error {
        /// The tag [`AmpMachine::ask`] returned.
        tag: u64,
        /// `_error_code`.
        code: Vec<u8>,
        /// `_error_description`, decoded as UTF-8 with replacement (as Twisted does).
        description: String,
    },
    /// The peer broke the protocol; nothing more is read or sent. The
    /// caller closes the connection.
    Failed(ProtocolError),
}

/// How to answer a received command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Success, with the response fields.
    Answer(AmpBox),
    /// An error with a code and description.
    Error {
        /// `_error_code`.
        code: Vec<u8>,
        /// `_error_description`.
        description: String,
    },
}

/// The sans-IO AMP conversation (see the module documentation).
#[derive(Debug)]
pub struct AmpMachine {
    config: AmpConfig,
    decoder: BoxDecoder,
    last_tag: u64,
    outstanding: BTreeSet<u64>,
    in_flight: usize,
    in_flight_bytes: usize,
    events: VecDeque<Event>,
    output: Vec<u8>,
    failed: bool,
    closed: bool,
}

impl AmpMachine {
    /// A machine for a new connection.
    pub fn new(config: AmpConfig) -> Self {
        AmpMachine {
            decoder: BoxDecoder::new(config.limits),
            config,
            last_tag: 0,
            outstanding: BTreeSet::new(),
            in_flight: 0,
            in_flight_bytes: 0,
            events: VecDeque::new(),
            output: Vec::new(),
            failed: false,
            closed: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AmpConfig {
        &self.config
    }

    /// Whether [`handle_input`](Self::handle_input) would consume bytes now
    /// (false while the in-flight limits are reached; always true once
    /// failed or closed, when input is discarded).
    pub fn wants_input(&self) -> bool {
        self.failed
            || self.closed
            || (self.in_flight < self.config.max_in_flight_commands
                && self.in_flight_bytes < self.config.max_in_flight_bytes)
    }

    /// Whether the peer broke the protocol.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// How many of our calls wait for answers.
    pub fn outstanding_calls(&self) -> usize {
        self.outstanding.len()
    }

    /// How many received commands wait for [`complete`](Self::complete).
    pub fn in_flight_commands(&self) -> usize {
        self.in_flight
    }

    /// Consumes received bytes, queueing events, until the input is used up
    /// or the in-flight limits are reached; returns how many bytes were
    /// consumed. The caller keeps the rest and offers it again once
    /// [`wants_input`](Self::wants_input). After a failure or the end of the
    /// connection, input is discarded.
    pub fn handle_input(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while used < data.len() {
            if self.failed || self.closed {
                return data.len();
            }
            if !self.wants_input() {
                break;
            }
            match self.decoder.decode(&data[used..]) {
                Ok((consumed, decoded)) => {
                    used += consumed;
                    if let Some(received) = decoded {
                        self.box_received(received);
                    }
                }
                Err(error) => {
                    self.fail(ProtocolError::Decode(error));
                    return data.len();
                }
            }
        }
        used
    }

    /// The next event, in the order the boxes arrived.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.output.is_empty()).then(|| std::mem::take(&mut self.output))
    }

    fn fail(&mut self, error: ProtocolError) {
        self.failed = true;
        self.events.push_back(Event::Failed(error));
    }

    fn box_received(&mut self, mut received: AmpBox) {
        let bytes = received.encoded_len();
        if let Some(tag) = received.remove(ANSWER) {
            if let Some(tag) = self.take_outstanding(&tag) {
                self.events.push_back(Event::Answer {
                    tag,
                    response: received,
                });
            }
        } else if let Some(tag) = received.remove(ERROR) {
            let Some(code) = received.remove(ERROR_CODE) else {
                return self.fail(ProtocolError::MalformedError { missing: ERROR_CODE });
            };
            let Some(description) = received.remove(ERROR_DESCRIPTION) else {
                return self.fail(ProtocolError::MalformedError {
                    missing: ERROR_DESCRIPTION,
                });
            };
            if let Some(tag) = self.take_outstanding(&tag) {
                self.events.push_back(Event::Error {
                    tag,
                    code,
                    description: String::from_utf8_lossy(&description).into_owned(),
                });
            }
        } else if let Some(name) = received.remove(COMMAND) {
            let ask = received.remove(ASK);
            self.in_flight += 1;
            self.in_flight_bytes += bytes;
            self.events.push_back(Event::Command {
                name,
                arguments: received,
                ticket: Ticket { ask, bytes },
            });
        } else {
            self.fail(ProtocolError::NotACommandOrAnswer);
        }
    }

    /// The question a received tag answers, which must be one we asked and
    /// spelled as we spelled it.
    fn take_outstanding(&mut self, tag: &[u8]) -> Option<u64> {
        let number = std::str::from_utf8(tag)
            .ok()
            .and_then(|text| u64::from_str_radix(text, 16).ok())
            .filter(|number| format!("{number:x}").as_bytes() == tag)
            .filter(|number| self.outstanding.remove(number));
        if number.is_none() {
            self.fail(ProtocolError::UnknownAnswer {
                tag: String::from_utf8_lossy(tag).into_owned(),
            });
        }
        number
    }

    fn check_open(&self) -> Result<(), SendError> {
        if self.failed || self.closed {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    /// Sends command `name` asking for an answer; returns the tag its
    /// [`Event::Answer`] or [`Event::Error`] will carry.
    pub fn ask(&mut self, name: &[u8], mut arguments: AmpBox) -> Result<u64, SendError> {
        self.check_open()?;
        if self.outstanding.len() >= self.config.max_outstanding_calls {
            return Err(SendError::TooManyOutstandingCalls {
                limit: self.config.max_outstanding_calls,
            });
        }
        let tag = self.last_tag + 1;
        arguments.insert(COMMAND, name);
        arguments.insert(ASK, format!("{tag:x}"));
        arguments.encode(&mut self.output)?;
        self.last_tag = tag;
        self.outstanding.insert(tag);
        Ok(tag)
    }

    /// Sends command `name` without asking for an answer (Twisted's
    /// `requiresAnswer = False`). It still uses up a tag, as in Twisted.
    pub fn tell(&mut self, name: &[u8], mut arguments: AmpBox) -> Result<(), SendError> {
        self.check_open()?;
        arguments.insert(COMMAND, name);
        arguments.encode(&mut self.output)?;
        self.last_tag += 1;
        Ok(())
    }

    /// Answers a received command (nothing is sent when the peer did not
    /// ask) and releases its place in the in-flight limits. An answer that
    /// does not fit the wire is replaced by an `UNKNOWN` error and the
    /// encoding error returned.
    pub fn complete(&mut self, ticket: Ticket, reply: Reply) -> Result<(), EncodeError> {
        self.in_flight -= 1;
        self.in_flight_bytes -= ticket.bytes;
        let Some(ask) = ticket.ask else {
            return Ok(());
        };
        if self.failed || self.closed {
            return Ok(());
        }
        match reply {
            Reply::Answer(mut response) => {
                response.insert(ANSWER, ask.clone());
                match response.encode(&mut self.output) {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        let description = format!("the response could not be encoded: {error}");
                        self.write_error(ask, UNKNOWN_ERROR_CODE.as_bytes(), &description);
                        Err(error)
                    }
                }
            }
            Reply::Error { code, description } => {
                self.write_error(ask, &code, &description);
                Ok(())
            }
        }
    }

    fn write_error(&mut self, ask: Vec<u8>, code: &[u8], description: &str) {
        let mut error = AmpBox::new();
        let code = if code.is_empty() || code.len() > MAX_VALUE_LENGTH {
            UNKNOWN_ERROR_CODE.as_bytes()
        } else {
            code
        };
        let mut end = description.len().min(MAX_VALUE_LENGTH);
        while !description.is_char_boundary(end) {
            end -= 1;
        }
        error.insert(ERROR, ask);
        error.insert(ERROR_CODE, code);
        error.insert(ERROR_DESCRIPTION, &description.as_bytes()[..end]);
        error
            .encode(&mut self.output)
            .expect("error boxes are built within the limits");
    }

    /// The connection ended: no more input or output; returns the tags of
    /// our calls that will never be answered, in order.
    pub fn connection_lost(&mut self) -> Vec<u64> {
        self.closed = true;
        self.events.clear();
        self.output.clear();
        std::mem::take(&mut self.outstanding).into_iter().collect()
    }

    /// Whether the decoder sits between boxes (the peer may close here
    /// without cutting a box short).
    pub fn is_between_boxes(&self) -> bool {
        self.decoder.is_between_boxes()
    }

    /// The error that stopped the decoder, if that is why the machine failed.
    pub fn decode_error(&self) -> Option<&DecodeError> {
        self.decoder.error()
    }
}
