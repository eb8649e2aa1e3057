//! A gyre reactor inside a tokio runtime, so gyre protocols and tokio
//! crates (hyper, reqwest, tokio-postgres) live in one program.
//!
//! # Who drives whom
//! tokio drives. [`run`] is a future that owns a run of the reactor: it
//! waits, with [`AsyncFd`], for the reactor's epoll descriptor to become
//! readable, or with `sleep_until` for the reactor's next timer, then runs
//! one turn ([`HostedRun::turn`](gyre_reactor::HostedRun::turn), never blocking) and waits again. Await it
//! on the reactor's thread: `runtime.block_on(run(&reactor))` on a
//! current-thread or a multi-thread runtime (`block_on` runs it on the
//! calling thread; the workers keep running `Send` tasks), or
//! `LocalSet::spawn_local`. The reactor is `!Send`, so is the future.
//! Timers fire within tokio's timer resolution (1 ms, rounded up).
//!
//! # Shutdown, both ways
//! * `reactor.stop()`: once the reactor's graceful shutdown is done the
//!   future completes with `Ok(())`.
//! * The host stops first (the future is dropped: a `select!` branch won,
//!   the runtime shut down): the drop stops the reactor and turns it by
//!   itself, blocking that thread until its shutdown is done, so
//!   connections close and shutdown triggers run.
//!
//! # Values crossing between the two
//! * Deferred → future: a [`Deferred`] is `IntoFuture` and can be awaited
//!   by any future on the reactor's thread. For a `Send` task on another
//!   worker, [`future_from_deferred`] turns it into a `Send` future (the
//!   value must be `Send`; a failure arrives as a [`RemoteFailure`]).
//! * future → Deferred: [`deferred_from_future`] spawns a `Send` future on
//!   the runtime (`tokio::spawn`) and returns a Deferred, fired on the
//!   reactor's thread with its output; cancelling the Deferred aborts it.
//!
//! ```
//! use gyre_core::prelude::*;
//! use gyre_reactor::Reactor;
//! use std::time::Duration;
//!
//! let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
//! let reactor = Reactor::new().unwrap();
//! runtime.block_on(async {
//!     // tokio → gyre: a tokio future's output as a Deferred.
//!     let answer = gyre_loops::tokio::deferred_from_future(&reactor, async {
//!         tokio::time::sleep(Duration::from_millis(5)).await;
//!         Ok::<_, std::io::Error>(21)
//!     });
//!     // gyre → tokio: a Deferred (from a gyre timer) awaited by a Send task.
//!     let later = gyre_core::deferred::defer_later(&reactor, Duration::from_millis(5), || Ok(2));
//!     let later = tokio::spawn(gyre_loops::tokio::future_from_deferred(later));
//!     let stopper = reactor.clone();
//!     drop(answer.map(move |n| {
//!         assert_eq!(n, 21);
//!         stopper.stop().unwrap();
//!     }));
//!     gyre_loops::tokio::run(&reactor).await.unwrap();
//!     assert_eq!(later.await.unwrap().unwrap(), 2);
//! });
//! ```

use std::future::Future;
use std::io;
use std::os::fd::AsFd;
use std::time::Instant;

use gyre_core::{Deferred, Failure};
use gyre_reactor::Reactor;
use gyre_reactor::threads::RemoteFailure;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use tokio::io::unix::AsyncFd;

mod register;

/// Runs `reactor` inside the current tokio runtime until it stops; see the
/// [module docs](self). Fails at once when the reactor is closed or
/// already running, or when called outside a runtime with I/O and time
/// enabled; later, only when the reactor's poller fails.
pub async fn run(reactor: &Reactor) -> io::Result<()> {
    let run = reactor.start_hosted()?;
    // A duplicate of the epoll descriptor (the same epoll instance) that
    // tokio may own and register; the reactor keeps its own.
    let fd = register::readable(reactor.as_fd().try_clone_to_owned()?)?;
    loop {
        run.turn()?;
        if run.is_finished() {
            return run.finish();
        }
        let wake_at = run.wake_at();
        if wake_at.is_some_and(|at| at <= Instant::now()) || readable_now(&fd) {
            // More to do now (queued work, events a turn left): let the
            // runtime's other tasks run first, then turn again.
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            ready = fd.readable() => {
                // Cleared before the turn: an event that arrives during
                // it sets readiness again (a new edge on the epoll fd).
                ready?.clear_ready();
            }
            () = sleep_until(wake_at) => {}
        }
    }
}

/// Whether the epoll descriptor has events now (a turn takes at most 1,024;
/// more stay queued). A zero-timeout `poll(2)`, no waiting.
fn readable_now(fd: &AsyncFd<std::os::fd::OwnedFd>) -> bool {
    let mut fds = [PollFd::new(fd.get_ref(), PollFlags::IN)];
    matches!(poll(&mut fds, Some(&Timespec::default())), Ok(n) if n > 0)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Spawns `future` on the current tokio runtime and returns a Deferred of
/// its output, fired on the reactor's thread. An `Err` becomes the
/// Deferred's failure; a panic of the task fails it too. Cancelling the
/// Deferred aborts the task.
///
/// # Panics
/// When called outside a tokio runtime (as `tokio::spawn` does).
pub fn deferred_from_future<T, E, F>(reactor: &Reactor, future: F) -> Deferred<T>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Into<Failure> + Send + 'static,
{
    let task = AbortOnDrop(tokio::spawn(future));
    reactor.spawn(async move {
        let mut task = task;
        match (&mut task.0).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(error.into()),
            Err(join) => Err(Failure::new(join)),
        }
    })
}

/// Aborts the tokio task when the gyre task awaiting it is dropped (its
/// Deferred was cancelled, or the reactor closed).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A `Send` future of `deferred`'s result, for tokio tasks on any thread.
/// Call this on the reactor's thread (where the Deferred lives); the
/// future may be awaited anywhere. It resolves once the Deferred fires
/// (the reactor must be running for that); a failure arrives as a
/// [`RemoteFailure`] (its text, and the standard gyre error inside, so
/// `is::<TimedOut>()` still works). When the Deferred is dropped unfired
/// (its reactor closed), the future resolves with a failure saying so; a
/// Deferred waiting on a timer of a reactor that stopped (and was not
/// closed) waits for its next run.
pub fn future_from_deferred<T: Send + 'static>(
    deferred: Deferred<T>,
) -> impl Future<Output = Result<T, RemoteFailure>> + Send + 'static {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    // The chain ends here (its result handed over); dropping the returned
    // Deferred does not cancel anything.
    drop(deferred.then(move |result: Result<T, Failure>| {
        let _ = sender.send(result.map_err(|failure| RemoteFailure::from_failure(&failure)));
        Ok::<(), Failure>(())
    }));
    async move {
        receiver.await.unwrap_or_else(|_| {
            Err(RemoteFailure::new(io::Error::other(
                "the Deferred was dropped unfired",
            )))
        })
    }
}
