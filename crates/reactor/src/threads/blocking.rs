//! The way back from a worker thread: [`blocking_call_from_thread`], and
//! the errors of the thread pool.
//!
//! A [`Failure`] is `!Send` (it shares its error through an `Rc`, which keeps
//! it cheap to clone on the reactor thread), so a failure cannot cross to a
//! worker as it is. It crosses as a [`RemoteFailure`]: the full text of the
//! failure (contexts, error, causes) plus a fresh copy of the standard gyre
//! or I/O error found in it, when there is one. `RemoteFailure` is an
//! ordinary `Send + Sync` error, so a pool job can return it (`?` in a
//! `defer_to_thread` closure), and it becomes a `Failure` again wherever one
//! is needed, with the copied error as its source: `failure.is::<TimedOut>()`
//! and `failure.downcast_ref::<io::Error>()` work on both sides of the thread
//! boundary, while other error types are known by their message only.

use std::error::Error;
use std::fmt;
use std::io;

use gyre_core::errors::{
    Cancelled, ConnectionAborted, ConnectionDone, ConnectionLost, ConnectionRefused, DnsLookupFailed,
    NotSupportedByTransport, ProcessDone, ProcessTerminated, TimedOut, TransportClosed,
};
use gyre_core::{Deferred, Failure};

use crate::{NotRunning, Reactor, ReactorHandle};

/// Runs `f` on the reactor's thread (during its next turn) and waits, on the
/// calling thread, for the Deferred it returns (Twisted's
/// `blockingCallFromThread`).
///
/// For code on a worker thread (a pool job, or a thread of its own) that
/// needs something only the reactor thread can do: write to a connection,
/// wait for a network reply, read a value owned by protocol objects.
///
/// Returns the Deferred's value, or its failure carried across as a
/// [`RemoteFailure`] (standard errors keep their type; see the module docs).
/// The error is a `RemoteFailure` rather than a `Failure` so that it is
/// `Send`: a pool job can pass it on as its own error. Fails with
/// [`CalledOnReactorThread`] when called on the reactor's own thread
/// (waiting there could never end), and with [`NoAnswer`] when the
/// reactor was dropped or closed before answering, or dropped the Deferred
/// unfired. A reactor that exists
/// but is never run again leaves the caller waiting.
///
/// ```
/// use gyre_core::deferred::succeed;
/// use gyre_reactor::{Reactor, threads::blocking_call_from_thread};
///
/// let reactor = Reactor::new().unwrap();
/// let handle = reactor.handle();
/// let job = reactor.defer_to_thread(move || {
///     // On a worker: ask the reactor thread, and wait for its answer.
///     blocking_call_from_thread(&handle, |_reactor| succeed(20)).map(|n| n + 1)
/// });
/// assert_eq!(reactor.run_until(job).unwrap(), 21);
/// ```
pub fn blocking_call_from_thread<T, F>(handle: &ReactorHandle, f: F) -> Result<T, RemoteFailure>
where
    T: Send + 'static,
    F: FnOnce(&Reactor) -> Deferred<T> + Send + 'static,
{
    if handle.is_reactor_thread() {
        return Err(RemoteFailure::new(CalledOnReactorThread::new()));
    }
    let (reply, answer) = crossbeam_channel::bounded::<Result<T, RemoteFailure>>(1);
    handle.call_from_thread(move |reactor| {
        let deferred = f(reactor);
        drop(deferred.then(move |result| {
            let _ = reply.send(result.map_err(|failure| RemoteFailure::from_failure(&failure)));
        }));
    });
    // If the reactor drops the call (or the Deferred) without firing it, the
    // reply sender is dropped with it and `recv` returns.
    answer
        .recv()
        .unwrap_or_else(|_| Err(RemoteFailure::new(NoAnswer::new())))
}

/// A [`Failure`] from the reactor thread, described so that it can cross to
/// another thread (`Send + Sync`).
#[derive(Debug)]
pub struct RemoteFailure {
    message: String,
    cause: Option<Box<dyn Error + Send + Sync>>,
}

impl RemoteFailure {
    /// Wraps an error that is already `Send`: its text is the message, and
    /// it is the source.
    pub fn new(error: impl Error + Send + Sync + 'static) -> RemoteFailure {
        RemoteFailure {
            message: error.to_string(),
            cause: Some(Box::new(error)),
        }
    }

    /// Describes `failure`: its full text, and a copy of the standard error
    /// in it (the framework's errors from `gyre_core::errors`, the reactor's,
    /// and `std::io::Error` by kind and message).
    pub fn from_failure(failure: &Failure) -> RemoteFailure {
        RemoteFailure {
            message: format!("{failure:#}"),
            cause: standard_cause(failure),
        }
    }

    /// The failure's text, with its contexts and causes.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the carried error is an `E` (only standard errors are
    /// carried by type; see [`from_failure`](Self::from_failure)).
    pub fn is<E: Error + 'static>(&self) -> bool {
        self.cause.as_deref().is_some_and(|cause| cause.is::<E>())
    }

    /// A failure on this thread; the carried error is its `source`, so
    /// `Failure::is` and `downcast_ref` find it. (`?` does the same.)
    pub fn into_failure(self) -> Failure {
        Failure::new(self)
    }
}

impl fmt::Display for RemoteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for RemoteFailure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|cause| cause as &(dyn Error + 'static))
    }
}

/// A copy of the first standard error found in `failure`, most specific
/// first (a timeout is reported as `Cancelled` wrapped in `TimedOut`).
fn standard_cause(failure: &Failure) -> Option<Box<dyn Error + Send + Sync>> {
    macro_rules! copy_first {
        ($($error:ty),* $(,)?) => {
            $(
                if let Some(error) = failure.downcast_ref::<$error>() {
                    return Some(Box::new(error.clone()));
                }
            )*
        };
    }
    copy_first!(
        TimedOut,
        Cancelled,
        ConnectionRefused,
        ConnectionDone,
        ConnectionLost,
        ConnectionAborted,
        TransportClosed,
        ProcessDone,
        ProcessTerminated,
        DnsLookupFailed,
        NotSupportedByTransport,
        NotRunning,
        JobPanicked,
        CalledOnReactorThread,
        NoAnswer,
    );
    failure.downcast_ref::<io::Error>().map(|error| {
        Box::new(io::Error::new(error.kind(), error.to_string())) as Box<dyn Error + Send + Sync>
    })
}

/// A job on the thread pool panicked; its Deferred fails with this.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobPanicked {
    /// The panic message.
    pub message: String,
}

impl JobPanicked {
    /// A job panicked with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        JobPanicked {
            message: message.into(),
        }
    }
}

impl fmt::Display for JobPanicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a thread-pool job panicked: {}", self.message)
    }
}

impl Error for JobPanicked {}

gyre_core::simple_error!(
    /// [`blocking_call_from_thread`] was called on the reactor's own thread,
    /// where waiting for the reactor would never end.
    CalledOnReactorThread,
    "blocking_call_from_thread called on the reactor thread"
);
gyre_core::simple_error!(
    /// [`blocking_call_from_thread`] got no answer: the reactor was dropped
    /// or closed before running the call, or the Deferred the call returned
    /// was dropped without firing.
    NoAnswer,
    "the reactor dropped the call without answering"
);
