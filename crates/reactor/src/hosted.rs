//! Runs driven by a host loop: [`Reactor::start_hosted`] and [`HostedRun`]
//! (documented there: this module is private, its types are re-exported).

use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::Reactor;

/// A run of a reactor driven by a host event loop ([`Reactor::start_hosted`]).
///
/// `run()` owns the thread: it waits in epoll itself. A GUI toolkit or an
/// async runtime owns the thread too, so there the host loop waits, and the
/// reactor only turns when the host says so. A [`HostedRun`] is such a run:
/// the reactor is *running* (startup triggers fired, `stop()` works,
/// `call_when_running` runs at once) while the host watches
/// [`Reactor::poll_fd`] (or [`AsFd`](std::os::fd::AsFd)), keeps one timer
/// armed for [`HostedRun::wake_at`], and calls [`HostedRun::turn`] when
/// either fires.
///
/// Between turns, host code (a button handler, another task on the thread)
/// may call into the reactor: add a timer earlier than the one the host
/// armed, write to a connection, queue a call. Such work wakes the
/// descriptor (once per turn, an eventfd write), so the host needs no hook
/// that runs before it sleeps; a host that has one may still check
/// `wake_at` there and save the wake-up.
///
/// Shutdown goes both ways. `reactor.stop()` runs the usual graceful
/// shutdown over the following turns, then [`HostedRun::is_finished`] is
/// true and the host leaves its loop (or detaches) and calls
/// [`HostedRun::finish`]. A host that quits first calls `finish` (or drops
/// the run): it stops the reactor and turns it by itself, waiting in epoll,
/// until the shutdown is done, so connections are closed and shutdown
/// triggers run either way. Signals are not watched (the host owns them).
///
/// Dropping it ends the run as [`finish`](Self::finish) does.
#[derive(Debug)]
pub struct HostedRun {
    reactor: Reactor,
    ended: bool,
}

impl Reactor {
    /// Starts a run that a host loop drives (instead of [`run`](Self::run)):
    /// marks the reactor running and fires the startup triggers. Fails when
    /// the reactor is closed or already running.
    pub fn start_hosted(&self) -> io::Result<HostedRun> {
        self.enter_run()?;
        self.fire_startup();
        let run = HostedRun {
            reactor: self.clone(),
            ended: false,
        };
        run.set_host_waiting(true);
        Ok(run)
    }
}

impl HostedRun {
    /// The reactor this run drives.
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// One turn of the reactor without waiting (I/O that is ready, due
    /// timers, queued calls). Call it when the descriptor is readable, when
    /// the timer armed for [`wake_at`](Self::wake_at) fires, or whenever
    /// `wake_at` is already past. Does nothing once the run is finished.
    pub fn turn(&self) -> io::Result<()> {
        if self.ended || self.is_finished() {
            return Ok(());
        }
        self.set_host_waiting(false);
        let result = self.reactor.run_once(Some(Duration::ZERO));
        self.set_host_waiting(true);
        result
    }

    /// When the host must turn the reactor even if its descriptor stays
    /// quiet: now when work is queued, the next timer's deadline, or never
    /// (`None`). Read it after every turn to re-arm the host's timer.
    pub fn wake_at(&self) -> Option<Instant> {
        if self.reactor.has_pending_work() {
            Some(Instant::now())
        } else {
            self.reactor.next_deadline()
        }
    }

    /// Whether the reactor's run is over: a `stop()` finished its shutdown
    /// (the thread pool's results included), or `crash()` was called. The
    /// host then stops driving it and calls [`finish`](Self::finish).
    pub fn is_finished(&self) -> bool {
        self.ended || self.reactor.run_finished()
    }

    /// Ends the run. When the reactor is still running (the host quit
    /// first), stops it and turns it by itself, waiting in epoll, until the
    /// shutdown is done: connections close and shutdown triggers run as
    /// after `run()`. Then delivers what is left and marks the reactor
    /// stopped; it can be run again.
    pub fn finish(mut self) -> io::Result<()> {
        self.end()
    }

    fn end(&mut self) -> io::Result<()> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        self.set_host_waiting(false);
        // The host quit first: stop gracefully. Not after a crash (the run
        // is over, without a shutdown) nor when a `stop()` is under way
        // (then `stop` fails with "not running" and that one goes on).
        if !self.reactor.run_finished() {
            let _ = self.reactor.stop();
        }
        let mut result = Ok(());
        while !self.reactor.run_finished() {
            if let Err(error) = self.reactor.run_once(None) {
                result = Err(error);
                break;
            }
        }
        self.reactor.leave_run();
        result
    }

    fn set_host_waiting(&self, waiting: bool) {
        self.reactor
            .inner
            .handle
            .host_waiting
            .store(waiting, Ordering::Release);
    }
}

impl Drop for HostedRun {
    fn drop(&mut self) {
        if let Err(error) = self.end() {
            tracing::error!(target: "gyre::reactor", %error, "ending a hosted run failed");
        }
    }
}
