//! [`Process`]: one running child, its pipes and its protocol. This is the
//! `ProcessBackend` behind every [`ProcessTransport`] the reactor hands out.
//!
//! Event order for the protocol: `connection_made` (at the end of the turn
//! in which the process was spawned, never inside `spawn_process`), then
//! `child_data_received` and `child_connection_lost` per pipe and
//! `process_exited` when the child is reaped, in whatever order they happen,
//! and last, exactly once, `process_ended` when it has exited and every pipe
//! is closed and reported. The protocol is dropped after `process_ended`,
//! which breaks the usual cycle of a protocol that keeps its transport.
//!
//! Pipe I/O is in `child_io.rs`, the transport's methods in `backend.rs`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::{Rc, Weak};

use gyre_core::process::{ChildFd, ExitStatus, ProcessBackend, ProcessProtocol, ProcessTransport};
use gyre_core::producer::FlowControl;
use mio::Interest;
use mio::unix::SourceFd;

use super::pipe::{Direction, Pipe, PipeSource};
use crate::reactor::{Reactor, WeakReactor};

/// Reads per readiness event before yielding to other sources.
pub(super) const MAX_READS_PER_EVENT: usize = 16;
/// The key of a terminal's master side, which serves descriptors 0 to 2.
pub(super) const TERMINAL_KEY: u32 = 1;

pub(crate) struct Process {
    pub(super) me: Weak<Process>,
    pub(super) reactor: WeakReactor,
    pub(super) protocol: RefCell<Option<Box<dyn ProcessProtocol>>>,
    pub(super) child: RefCell<Option<std::process::Child>>,
    pub(super) pid: Cell<Option<u32>>,
    pub(super) pipes: RefCell<BTreeMap<u32, Pipe>>,
    /// In PTY mode, the terminal's end-of-file character.
    pub(super) terminal_eof: Option<u8>,
    pub(super) started: Cell<bool>,
    pub(super) status: Cell<Option<ExitStatus>>,
    pub(super) exited_delivered: Cell<bool>,
    pub(super) ended: Cell<bool>,
    /// `child_connection_lost` notifications queued and not yet delivered.
    pub(super) lost_pending: Cell<usize>,
    pub(super) flush_scheduled: Cell<bool>,
    pub(super) reading_paused: Cell<bool>,
    /// Producer bookkeeping for the pipe carrying stdin.
    pub(crate) flow: FlowControl,
}

impl Process {
    pub(crate) fn new(
        reactor: &Reactor,
        protocol: Box<dyn ProcessProtocol>,
        child: std::process::Child,
        terminal_eof: Option<u8>,
    ) -> Rc<Process> {
        Rc::new_cyclic(|me| Process {
            me: me.clone(),
            reactor: reactor.downgrade(),
            protocol: RefCell::new(Some(protocol)),
            pid: Cell::new(Some(child.id())),
            child: RefCell::new(Some(child)),
            pipes: RefCell::default(),
            terminal_eof,
            started: Cell::new(false),
            status: Cell::new(None),
            exited_delivered: Cell::new(false),
            ended: Cell::new(false),
            lost_pending: Cell::new(0),
            flush_scheduled: Cell::new(false),
            reading_paused: Cell::new(false),
            flow: FlowControl::new(),
        })
    }

    pub(super) fn rc(&self) -> Rc<Process> {
        self.me.upgrade().expect("a process is only used while alive")
    }

    pub(crate) fn transport(&self) -> ProcessTransport {
        ProcessTransport::new(self.rc())
    }

    /// The pipe that serves child descriptor `fd`.
    pub(super) fn key_of(&self, fd: ChildFd) -> u32 {
        if self.terminal_eof.is_some() && fd.0 <= 2 {
            TERMINAL_KEY
        } else {
            fd.0
        }
    }

    pub(super) fn with_protocol(&self, f: impl FnOnce(&mut dyn ProcessProtocol, &ProcessTransport)) {
        if !self.started.get() {
            return;
        }
        let transport = self.transport();
        let Ok(mut slot) = self.protocol.try_borrow_mut() else {
            tracing::error!(target: "gyre::process", "process protocol callback re-entered; event dropped");
            return;
        };
        if let Some(protocol) = slot.as_mut() {
            f(protocol.as_mut(), &transport);
        }
    }

    /// Registers our end of a child descriptor with the loop.
    pub(crate) fn add_pipe(
        &self,
        reactor: &Reactor,
        key: u32,
        fd: OwnedFd,
        direction: Direction,
    ) -> io::Result<()> {
        rustix::io::ioctl_fionbio(&fd, true)?;
        let interest = match direction {
            Direction::FromChild => Interest::READABLE,
            Direction::ToChild | Direction::Terminal => Interest::READABLE | Interest::WRITABLE,
        };
        let source = Rc::new(PipeSource {
            process: self.rc(),
            key,
        });
        let token = reactor.register(&mut SourceFd(&fd.as_raw_fd()), source, interest)?;
        let mut pipe = Pipe::new(fd, direction);
        pipe.token = Some(token);
        self.pipes.borrow_mut().insert(key, pipe);
        Ok(())
    }

    /// Delivers `connection_made`, then whatever arrived before it.
    pub(crate) fn start(&self) {
        if self.started.replace(true) {
            return;
        }
        self.with_protocol(|protocol, transport| protocol.connection_made(transport));
        let pending: Vec<u32> = self
            .pipes
            .borrow()
            .iter()
            .filter(|(_, pipe)| pipe.read_pending)
            .map(|(&key, _)| key)
            .collect();
        for key in pending {
            self.read_pipe(key);
        }
        self.deliver_exited();
    }

    /// Spawning failed after the child started: it is killed, reaped later,
    /// and its protocol never hears of it.
    pub(crate) fn abandon(&self) {
        drop(self.protocol.borrow_mut().take());
        drop(self.signal(libc::SIGKILL));
        let keys: Vec<u32> = self.pipes.borrow().keys().copied().collect();
        for key in keys {
            self.close_pipe(key);
        }
    }

    /// The reactor is closing: gives up the protocol, the pipes (each
    /// deregistered) and the `std` child handle, for the caller to drop and
    /// reap. The transport reports no pid afterwards, since the child may be
    /// reaped (and its pid reused) at any time.
    #[allow(clippy::type_complexity)]
    pub(crate) fn release(
        &self,
    ) -> (
        Option<Box<dyn ProcessProtocol>>,
        BTreeMap<u32, Pipe>,
        Option<std::process::Child>,
    ) {
        let protocol = self.protocol.borrow_mut().take();
        let mut pipes = std::mem::take(&mut *self.pipes.borrow_mut());
        if let Some(reactor) = self.reactor.upgrade() {
            for pipe in pipes.values_mut() {
                if let Some(token) = pipe.token.take() {
                    reactor.deregister(&mut SourceFd(&pipe.fd.as_raw_fd()), token);
                }
            }
        }
        self.flow.stop();
        self.pid.set(None);
        self.ended.set(true);
        let child = self.child.borrow_mut().take();
        (protocol, pipes, child)
    }

    pub(super) fn deliver_lost(&self, key: u32) {
        self.lost_pending.set(self.lost_pending.get() - 1);
        // A terminal serves stdin, stdout and stderr at once.
        let single = [key];
        let fds: &[u32] = if self.terminal_eof.is_some() && key == TERMINAL_KEY {
            &[0, 1, 2]
        } else {
            &single
        };
        for &fd in fds {
            self.with_protocol(|protocol, transport| protocol.child_connection_lost(transport, ChildFd(fd)));
        }
        self.maybe_end();
    }

    /// Asks the operating system whether the child exited (`waitpid` on its
    /// pid, without blocking). Only the reaper calls this.
    pub(crate) fn poll_exit(&self) -> Option<ExitStatus> {
        let mut child = self.child.borrow_mut();
        let status = match child.as_mut()?.try_wait() {
            Ok(None) => return None,
            Ok(Some(status)) => convert_status(status),
            Err(error) => {
                // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN, or a
                // `waitpid(-1)` elsewhere). The status is lost.
                tracing::warn!(target: "gyre::process", %error, "child reaped elsewhere; status unknown");
                ExitStatus::Code(-1)
            }
        };
        child.take();
        Some(status)
    }

    /// The child was reaped with `status`.
    pub(crate) fn exited(&self, status: ExitStatus) {
        self.status.set(Some(status));
        self.pid.set(None);
        let held: Vec<u32> = self
            .pipes
            .borrow()
            .iter()
            .filter(|(_, pipe)| pipe.held_open)
            .map(|(&key, _)| key)
            .collect();
        for key in held {
            self.close_pipe(key);
        }
        self.deliver_exited();
    }

    pub(super) fn deliver_exited(&self) {
        let Some(status) = self.status.get() else { return };
        if !self.started.get() || self.exited_delivered.replace(true) {
            return;
        }
        self.with_protocol(|protocol, transport| protocol.process_exited(transport, status));
        self.maybe_end();
    }

    pub(super) fn maybe_end(&self) {
        let Some(status) = self.status.get() else { return };
        if !self.exited_delivered.get()
            || self.lost_pending.get() > 0
            || !self.pipes.borrow().is_empty()
            || self.ended.replace(true)
        {
            return;
        }
        let transport = self.transport();
        let protocol = self.protocol.borrow_mut().take();
        if let Some(mut protocol) = protocol {
            protocol.process_ended(&transport, status);
        }
    }

    pub(crate) fn buffered_len(&self) -> usize {
        let key = self.key_of(ChildFd::STDIN);
        self.pipes.borrow().get(&key).map_or(0, |pipe| pipe.buffer.len())
    }

    /// Whether any pipe is still open.
    pub(crate) fn has_pipes(&self) -> bool {
        !self.pipes.borrow().is_empty()
    }

    /// Whether `process_ended` was delivered.
    pub(crate) fn has_ended(&self) -> bool {
        self.ended.get()
    }
}

pub(crate) fn convert_status(status: std::process::ExitStatus) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus::Code(code),
        (None, Some(signal)) => ExitStatus::Signal {
            signal,
            core_dumped: status.core_dumped(),
        },
        // Stopped or continued: `try_wait` does not report these.
        (None, None) => ExitStatus::Code(-1),
    }
}
