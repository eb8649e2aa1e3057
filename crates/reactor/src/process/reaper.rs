//! [`Children`]: reaping a reactor's own child processes.
//!
//! Each reactor with live children watches SIGCHLD through its own
//! signal-hook self-pipe, registered with its poller before the first fork so
//! no exit goes unnoticed. On every SIGCHLD it asks, for each of *its*
//! children, `waitpid(pid, WNOHANG)`; it never calls `waitpid(-1)`, which
//! would steal the children of other reactors, of other libraries and of
//! `std::process` users in the same program. Every reactor in the process is
//! woken by every SIGCHLD, and each checks only its own.
//!
//! Because a SIGCHLD can be lost (another library may replace the handler
//! with a plain `sigaction`, or a watch could not be set up), a timer also
//! polls the children every [`FALLBACK_INTERVAL`] while there are any. The
//! watch and the timer go away with the last child.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::clock::{ClockExt, DelayedCall};
use mio::{Interest, Token};
use signal_hook::consts::SIGCHLD;
use signal_hook_mio::v1_0::Signals;

use super::child::Process;
use crate::reactor::{Reactor, WeakReactor};
use crate::sources::{Readiness, Source};

/// How often children are polled in case a SIGCHLD was lost.
pub(crate) const FALLBACK_INTERVAL: Duration = Duration::from_millis(250);

/// The children of one reactor that have not been reaped yet.
#[derive(Default)]
pub(crate) struct Children {
    live: RefCell<Vec<Rc<Process>>>,
    watch: RefCell<Option<(Rc<SigchldWatch>, Token)>>,
    fallback: RefCell<Option<DelayedCall>>,
}

impl Children {
    /// Makes sure SIGCHLD is watched; call before forking.
    pub(crate) fn prepare(&self, reactor: &Reactor) {
        if self.watch.borrow().is_some() {
            return;
        }
        let watch = match Signals::new([SIGCHLD]) {
            Ok(signals) => Rc::new(SigchldWatch {
                signals: RefCell::new(signals),
                reactor: reactor.downgrade(),
            }),
            Err(error) => {
                tracing::warn!(target: "gyre::process", %error, "cannot watch SIGCHLD; polling children instead");
                return;
            }
        };
        let registered = reactor.register(
            &mut *watch.signals.borrow_mut(),
            watch.clone(),
            Interest::READABLE,
        );
        match registered {
            Ok(token) => *self.watch.borrow_mut() = Some((watch, token)),
            Err(error) => {
                tracing::warn!(target: "gyre::process", %error, "cannot watch SIGCHLD; polling children instead");
            }
        }
    }

    /// Tracks a newly spawned child until it is reaped.
    pub(crate) fn add(&self, reactor: &Reactor, process: Rc<Process>) {
        self.live.borrow_mut().push(process);
        self.arm_fallback(reactor);
    }

    /// How many children have not been reaped yet.
    pub(crate) fn len(&self) -> usize {
        self.live.borrow().len()
    }

    fn arm_fallback(&self, reactor: &Reactor) {
        if self.fallback.borrow().as_ref().is_some_and(DelayedCall::active) {
            return;
        }
        let weak = reactor.downgrade();
        let call = reactor.call_later(FALLBACK_INTERVAL, move || {
            if let Some(reactor) = weak.upgrade() {
                let children = &reactor.inner.children;
                children.fallback.borrow_mut().take();
                children.reap(&reactor);
                if children.len() > 0 {
                    children.arm_fallback(&reactor);
                }
            }
        });
        *self.fallback.borrow_mut() = Some(call);
    }

    /// Reaps every child of this reactor that exited, then tells each
    /// process (no borrow is held while protocols run).
    pub(crate) fn reap(&self, reactor: &Reactor) {
        let candidates = self.live.borrow().clone();
        let mut reaped = Vec::new();
        for process in candidates {
            if let Some(status) = process.poll_exit() {
                reaped.push((process, status));
            }
        }
        if !reaped.is_empty() {
            self.live
                .borrow_mut()
                .retain(|live| !reaped.iter().any(|(gone, _)| Rc::ptr_eq(live, gone)));
        }
        if self.live.borrow().is_empty() {
            self.stop_watching(reactor);
        }
        for (process, status) in reaped {
            process.exited(status);
        }
    }

    /// Stops watching SIGCHLD when no child is left (after a failed spawn).
    pub(crate) fn release_if_idle(&self, reactor: &Reactor) {
        if self.live.borrow().is_empty() {
            self.stop_watching(reactor);
        }
    }

    /// At [`Reactor::close`]: forgets every live child. Each process's
    /// protocol and pipes are dropped (breaking the cycle of a protocol that
    /// holds the reactor), and the children are handed to a detached thread
    /// that waits for each with a blocking `waitpid(pid)`, so none is left a
    /// zombie although the reactor will never reap it. The children are not
    /// killed.
    pub(crate) fn release_on_close(&self, reactor: &Reactor) -> bool {
        let live = std::mem::take(&mut *self.live.borrow_mut());
        self.stop_watching(reactor);
        if live.is_empty() {
            return false;
        }
        let mut orphans = Vec::with_capacity(live.len());
        for process in &live {
            let (protocol, pipes, child) = process.release();
            // Dropped outside every borrow: a protocol's drop may run user code.
            drop(protocol);
            drop(pipes);
            orphans.extend(child);
        }
        drop(live);
        if !orphans.is_empty() {
            let waiting = orphans.iter().map(std::process::Child::id).collect::<Vec<_>>();
            let spawned = std::thread::Builder::new()
                .name("gyre-orphan-reaper".into())
                .spawn(move || {
                    for mut child in orphans {
                        if let Err(error) = child.wait() {
                            tracing::debug!(target: "gyre::process", %error, pid = child.id(), "cannot reap a child of a closed reactor");
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(target: "gyre::process", %error, ?waiting, "cannot start a thread to reap the children of a closed reactor");
            }
        }
        true
    }

    fn stop_watching(&self, reactor: &Reactor) {
        if let Some(call) = self.fallback.borrow_mut().take() {
            call.cancel();
        }
        let watch = self.watch.borrow_mut().take();
        if let Some((watch, token)) = watch {
            reactor.deregister(&mut *watch.signals.borrow_mut(), token);
        }
    }
}

/// The SIGCHLD self-pipe of one reactor.
struct SigchldWatch {
    signals: RefCell<Signals>,
    reactor: WeakReactor,
}

impl Source for SigchldWatch {
    fn ready(self: Rc<Self>, _readiness: Readiness) {
        // Empty the self-pipe; several SIGCHLDs may have been merged into one.
        self.signals.borrow_mut().pending().for_each(drop);
        if let Some(reactor) = self.reactor.upgrade() {
            reactor.inner.children.reap(&reactor);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Instant;

    use gyre_core::process::{ExitStatus, ProcessProtocol, ProcessTransport};

    use super::*;
    use crate::process::ProcessOptions;

    struct StopOnEnd(Reactor, Rc<Cell<Option<ExitStatus>>>);

    impl ProcessProtocol for StopOnEnd {
        fn process_ended(&mut self, _: &ProcessTransport, status: ExitStatus) {
            self.1.set(Some(status));
            drop(self.0.stop());
        }
    }

    #[test]
    fn children_are_reaped_by_the_fallback_timer_when_sigchld_is_lost() {
        let reactor = Reactor::new().unwrap();
        let status = Rc::new(Cell::new(None));
        let options = ProcessOptions::new("sh").args(["-c", "exit 7"]);
        let started = Instant::now();
        let process = reactor
            .spawn_process_with(StopOnEnd(reactor.clone(), status.clone()), options)
            .unwrap();
        // Lose every SIGCHLD: drop the watch, as if another library had
        // replaced the handler.
        let (watch, token) = reactor
            .inner
            .children
            .watch
            .borrow_mut()
            .take()
            .expect("watching SIGCHLD");
        reactor.deregister(&mut *watch.signals.borrow_mut(), token);
        let stopper = reactor.clone();
        let guard = reactor.call_later(Duration::from_secs(10), move || drop(stopper.stop()));
        reactor.run().unwrap();
        assert!(guard.cancel(), "reaped in time");
        assert_eq!(status.get(), Some(ExitStatus::Code(7)));
        assert!(
            started.elapsed() >= FALLBACK_INTERVAL,
            "found by the timer, not a signal"
        );
        assert_eq!(process.exit_status(), Some(ExitStatus::Code(7)));
        assert_eq!(reactor.child_count(), 0);
        assert!(
            reactor.inner.children.fallback.borrow().is_none(),
            "the timer stops with the last child"
        );
    }
}
