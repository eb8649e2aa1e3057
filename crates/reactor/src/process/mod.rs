//! Child processes: pipes, signals, exit status, PTYs.
//!
//! ```text
//!  Reactor::spawn_process ─► std Command (fork/exec, stdio) + ChildSetup (fds > 2, PTY)
//!                              │
//!   our ends of the pipes ─────┴─► PipeSource per pipe (mio, edge triggered)
//!        reads  → child_data_received(fd) · EOF → child_connection_lost(fd)
//!        writes → buffered, flushed at the end of the turn
//!   SIGCHLD self-pipe + fallback timer ─► waitpid(pid, WNOHANG) for this
//!        reactor's own children only → process_exited
//!   exited and every pipe closed ─► process_ended (once)
//! ```
//!
//! A [`ProcessProtocol`] hears about the child; the [`ProcessTransport`] it
//! is given writes to it, closes pipes, sends signals and reports the pid
//! (also as the [`ProcessId`](gyre_core::capability::ProcessId) capability).
//! An ordinary [`Protocol`](gyre_core::Protocol) can talk to a child over its
//! stdin and stdout with [`Reactor::spawn_protocol`] (Twisted's
//! `ProcessEndpoint`).
//!
//! ```
//! use gyre_core::process::{ExitStatus, ProcessProtocol, ProcessTransport};
//! use gyre_reactor::Reactor;
//!
//! struct Print(Reactor);
//! impl ProcessProtocol for Print {
//!     fn out_received(&mut self, _: &ProcessTransport, data: &[u8]) {
//!         print!("{}", String::from_utf8_lossy(data));
//!     }
//!     fn process_ended(&mut self, _: &ProcessTransport, status: ExitStatus) {
//!         println!("[{status}]");
//!         let _ = self.0.stop();
//!     }
//! }
//!
//! let reactor = Reactor::new()?;
//! let child = reactor.spawn_process(Print(reactor.clone()), "printf", ["hello\n"], None, None)?;
//! reactor.run()?;
//! assert_eq!(child.exit_status(), Some(ExitStatus::Code(0)));
//! # Ok::<(), gyre_core::Failure>(())
//! ```
//!
//! When the reactor stops, the pipes of every child are closed (each
//! protocol hears `child_connection_lost`) but children are neither killed
//! nor forgotten: they are reaped, and `process_exited`/`process_ended`
//! delivered, once the reactor runs again. Stop them from a shutdown trigger
//! if they must not outlive the loop.
//!
//! [`Reactor::close`] forgets the children not reaped yet, without killing
//! them: each protocol and its pipes are dropped (no further callback, and a
//! protocol holding a `Reactor` clone no longer keeps the reactor alive),
//! and a detached thread waits for the children so that none is left a
//! zombie. Spawning on a closed reactor fails.

mod adapter;
mod backend;
mod child;
mod child_io;
mod options;
mod pipe;
mod reaper;
mod spawn;

use std::ffi::{OsStr, OsString};
use std::path::Path;

use gyre_core::Failure;
use gyre_core::process::{ProcessProtocol, ProcessTransport};

pub use adapter::StderrMode;
pub use options::{ChildFdMode, ProcessOptions, PtySize};
pub(crate) use reaper::Children;

use crate::Reactor;

impl Reactor {
    /// Runs `program` with `args` (not including the program name) and
    /// connects `protocol` to its stdin, stdout and stderr. `env`: `None`
    /// passes this process's environment on; `Some(vars)` gives the child
    /// exactly `vars` (Twisted's behaviour). `cwd`: `None` keeps this
    /// process's working directory.
    ///
    /// Fails, with no callback, when the program cannot be started (not
    /// found, not executable, `cwd` missing) or the reactor is closed. Otherwise `connection_made`
    /// follows at the end of this turn.
    pub fn spawn_process<I, S>(
        &self,
        protocol: impl ProcessProtocol,
        program: impl AsRef<OsStr>,
        args: I,
        env: Option<Vec<(OsString, OsString)>>,
        cwd: Option<&Path>,
    ) -> Result<ProcessTransport, Failure>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut options = ProcessOptions::new(program).args(args);
        if let Some(vars) = env {
            options = options.env_clear();
            for (key, value) in vars {
                options = options.env(key, value);
            }
        }
        if let Some(dir) = cwd {
            options = options.cwd(dir);
        }
        self.spawn_process_with(protocol, options)
    }

    /// Runs a child as `options` describe (extra descriptors, PTY mode,
    /// environment changes) and connects `protocol` to it.
    pub fn spawn_process_with(
        &self,
        protocol: impl ProcessProtocol,
        options: ProcessOptions,
    ) -> Result<ProcessTransport, Failure> {
        spawn::spawn(self, Box::new(protocol), options).map(|process| process.transport())
    }

    /// How many children of this reactor have not been reaped yet.
    pub fn child_count(&self) -> usize {
        self.inner.children.len()
    }
}

gyre_core::simple_error!(
    /// A signal was sent to a child that has already been reaped (Twisted's
    /// `ProcessExitedAlready`): its pid may belong to another process by now.
    ProcessExitedAlready,
    "the process has already exited"
);
