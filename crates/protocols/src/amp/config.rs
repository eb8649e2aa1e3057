//! [`AmpConfig`]: the limits and policies of an AMP connection, with
//! defaults chosen so that a Twisted peer sees Twisted's behaviour and a
//! hostile peer cannot make a connection hold more than a bounded amount of
//! memory.

use super::wire::BoxLimits;

/// The limits and policies of one AMP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmpConfig {
    /// Limits on each received box.
    pub limits: BoxLimits,
    /// Our calls that may wait for answers at once; further calls fail with
    /// [`SendError::TooManyOutstandingCalls`](super::SendError::TooManyOutstandingCalls) (default 4,096).
    pub max_outstanding_calls: usize,
    /// Received commands that may be in the responders' hands at once
    /// before reading pauses (default 64).
    pub max_in_flight_commands: usize,
    /// Wire bytes of received commands in the responders' hands before
    /// reading pauses (default 16 MiB).
    pub max_in_flight_bytes: usize,
    /// File descriptors the peer may pass ahead of the commands that claim
    /// them (default 64).
    pub max_received_descriptors: usize,
    /// Close the connection after answering `UNKNOWN` (a responder failure
    /// the command did not declare), as Twisted does (default true).
    pub close_on_unknown_error: bool,
    /// Send the failure's text as the `UNKNOWN` description; when false send
    /// Twisted's fixed `Unknown Error`, revealing nothing (default true).
    pub describe_unknown_errors: bool,
}

impl Default for AmpConfig {
    fn default() -> Self {
        AmpConfig {
            limits: BoxLimits::default(),
            max_outstanding_calls: 4096,
            max_in_flight_commands: 64,
            max_in_flight_bytes: 16 << 20,
            max_received_descriptors: 64,
            close_on_unknown_error: true,
            describe_unknown_errors: true,
        }
    }
}
