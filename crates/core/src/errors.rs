//! The framework's standard error types.
//!
//! These are the errors every part of gyre agrees on, so a protocol can match
//! on `reason.is::<ConnectionDone>()` whatever transport it ran over. All are
//! `#[non_exhaustive]`: build them with their constructors, which leaves room
//! to add detail later without breaking callers.

use std::error::Error;
use std::fmt;
use std::io;

use crate::address::Address;
use crate::failure::Failure;
use crate::process::ExitStatus;

/// Defines a standard error without fields: the struct (`Debug`, `Clone`,
/// `Default`, `PartialEq`, `Eq`, `#[non_exhaustive]`), a `new` constructor,
/// `Display` with the fixed message, and `Error`. Exported (hidden) so the
/// other gyre crates define their own unit errors the same way.
#[doc(hidden)]
#[macro_export]
macro_rules! simple_error {
    ($(#[$meta:meta])* $name:ident, $message:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name;

        impl $name {
            /// Makes the error.
            pub fn new() -> Self {
                $name
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($message)
            }
        }

        impl ::std::error::Error for $name {}
    };
}

simple_error!(
    /// The peer refused the connection (`ECONNREFUSED`).
    ConnectionRefused,
    "connection was refused by the other side"
);
simple_error!(
    /// The connection was closed cleanly: the normal reason given to
    /// `connection_lost` after `lose_connection` or a clean close by the peer.
    ConnectionDone,
    "connection was closed cleanly"
);
simple_error!(
    /// The connection was lost in a non-clean fashion (reset, broken pipe,
    /// TLS truncation).
    ConnectionLost,
    "connection to the other side was lost in a non-clean fashion"
);
simple_error!(
    /// The connection was closed by this side with `abort_connection`,
    /// dropping buffered data.
    ConnectionAborted,
    "connection was aborted locally"
);
simple_error!(
    /// An operation took longer than its deadline (connect timeout,
    /// `Deferred::add_timeout`, protocol idle timeouts).
    TimedOut,
    "operation timed out"
);
simple_error!(
    /// The operation was cancelled, usually through `Deferred::cancel`.
    Cancelled,
    "operation was cancelled"
);
simple_error!(
    /// The child process exited with status 0: the normal end of a process.
    ProcessDone,
    "process finished with exit code 0"
);
simple_error!(
    /// A `Resolver` fired a Deferred that had already been fired.
    AlreadyFired,
    "Deferred was already fired"
);
simple_error!(
    /// A producer was registered on a transport that already has one.
    ProducerAlreadyRegistered,
    "a producer is already registered on this transport"
);
simple_error!(
    /// `DeferredQueue::put` on a queue that is at its size limit.
    QueueOverflow,
    "queue is full"
);
simple_error!(
    /// `DeferredQueue::get` while the backlog of waiting getters is at its limit.
    QueueUnderflow,
    "too many callers are already waiting on the queue"
);
simple_error!(
    /// A cooperative task was stopped before its iterator was exhausted.
    TaskStopped,
    "cooperative task was stopped"
);
simple_error!(
    /// The transport is closed, so the operation could not be carried out.
    TransportClosed,
    "transport is closed"
);

/// A host name could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DnsLookupFailed {
    /// The name that was looked up.
    pub host: String,
    /// What the resolver said, when it said anything.
    pub detail: Option<String>,
}

impl DnsLookupFailed {
    /// Lookup of `host` failed; `detail` is the resolver's message, if any.
    pub fn new(host: impl Into<String>, detail: Option<String>) -> Self {
        DnsLookupFailed {
            host: host.into(),
            detail,
        }
    }
}

impl fmt::Display for DnsLookupFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DNS lookup failed for {:?}", self.host)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl Error for DnsLookupFailed {}

/// A listening socket could not be opened (address in use, permission
/// denied, bad interface).
#[derive(Debug)]
#[non_exhaustive]
pub struct CannotListen {
    /// Where we tried to listen.
    pub address: Address,
    /// The operating system's reason.
    pub source: io::Error,
}

impl CannotListen {
    /// Listening on `address` failed with `source`.
    pub fn new(address: Address, source: io::Error) -> Self {
        CannotListen { address, source }
    }
}

impl fmt::Display for CannotListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot listen on {}: {}", self.address, self.source)
    }
}

impl Error for CannotListen {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// The child process ended with a non-zero exit code or was killed by a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessTerminated {
    /// How the process ended.
    pub status: ExitStatus,
}

impl ProcessTerminated {
    /// The process ended with `status`.
    pub fn new(status: ExitStatus) -> Self {
        ProcessTerminated { status }
    }
}

impl fmt::Display for ProcessTerminated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process ended: {}", self.status)
    }
}

impl Error for ProcessTerminated {}

/// A transport was asked for a capability it does not have (the peer
/// certificate of a plain TCP connection, the pid of a socket).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotSupportedByTransport {
    /// The name of the capability, such as `"tls peer certificates"`.
    pub capability: &'static str,
    /// The kind of transport that was asked, such as `"tcp"`.
    pub transport: &'static str,
}

impl NotSupportedByTransport {
    /// `transport` does not support `capability`.
    pub fn new(capability: &'static str, transport: &'static str) -> Self {
        NotSupportedByTransport {
            capability,
            transport,
        }
    }
}

impl fmt::Display for NotSupportedByTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not supported by this {} transport",
            self.capability, self.transport
        )
    }
}

impl Error for NotSupportedByTransport {}

/// The first failure of a `DeferredList` created with `fire_on_one_errback`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FirstError {
    /// Position of the failed Deferred in the list.
    pub index: usize,
    /// Its failure.
    pub failure: Failure,
}

impl FirstError {
    /// The Deferred at `index` failed with `failure`.
    pub fn new(index: usize, failure: Failure) -> Self {
        FirstError { index, failure }
    }
}

impl fmt::Display for FirstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Deferred #{} failed: {}", self.index, self.failure)
    }
}

impl Error for FirstError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.failure.as_error())
    }
}

/// Every Deferred given to `race` failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AllFailed {
    /// The failures, in the order of the Deferreds given.
    pub failures: Vec<Failure>,
}

impl AllFailed {
    /// All of them failed, with these failures.
    pub fn new(failures: Vec<Failure>) -> Self {
        AllFailed { failures }
    }
}

impl fmt::Display for AllFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all {} alternatives failed", self.failures.len())?;
        for (index, failure) in self.failures.iter().enumerate() {
            write!(f, "; #{index}: {failure}")?;
        }
        Ok(())
    }
}

impl Error for AllFailed {}
