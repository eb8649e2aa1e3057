//! [`ProcessProtocol`] and [`ProcessTransport`]: talking to a child process
//! through its pipes.
//!
//! Events arrive per pipe (`child_data_received` with the child's descriptor
//! number, `child_connection_lost` when one pipe closes), then
//! `process_exited` when the child is reaped and `process_ended` once it has
//! exited *and* every pipe is closed, the moment at which no more data can
//! arrive.

use std::fmt;
use std::rc::Rc;

use crate::address::{Address, ProcessAddress};
use crate::capability::{Capability, CapabilityRequest};
use crate::errors::{NotSupportedByTransport, ProcessDone, ProcessTerminated};
use crate::failure::Failure;

/// A descriptor number in the child (0 is stdin, 1 stdout, 2 stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildFd(pub u32);

impl ChildFd {
    /// The child's standard input.
    pub const STDIN: ChildFd = ChildFd(0);
    /// The child's standard output.
    pub const STDOUT: ChildFd = ChildFd(1);
    /// The child's standard error.
    pub const STDERR: ChildFd = ChildFd(2);
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by a signal.
    Signal {
        /// The signal number.
        signal: i32,
        /// Whether it dumped core.
        core_dumped: bool,
    },
}

impl ExitStatus {
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        *self == ExitStatus::Code(0)
    }

    /// The status as Twisted reports it: `ProcessDone` for code 0, else
    /// `ProcessTerminated`, both as failures so they can travel along an
    /// errback chain.
    pub fn into_failure(self) -> Failure {
        if self.success() {
            Failure::new(ProcessDone::new())
        } else {
            Failure::new(ProcessTerminated::new(self))
        }
    }

    /// `Ok(())` for code 0, otherwise a `ProcessTerminated` failure.
    #[allow(clippy::result_large_err)]
    pub fn into_result(self) -> Result<(), Failure> {
        if self.success() {
            Ok(())
        } else {
            Err(self.into_failure())
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exit code {code}"),
            ExitStatus::Signal {
                signal,
                core_dumped: false,
            } => write!(f, "killed by signal {signal}"),
            ExitStatus::Signal {
                signal,
                core_dumped: true,
            } => {
                write!(f, "killed by signal {signal} (core dumped)")
            }
        }
    }
}

/// The handler of a child process.
pub trait ProcessProtocol: 'static {
    /// The process was started; its pipes are open.
    fn connection_made(&mut self, process: &ProcessTransport) {
        let _ = process;
    }

    /// Data arrived on one of the child's output descriptors. The default
    /// routes stdout to `out_received` and stderr to `err_received`.
    fn child_data_received(&mut self, process: &ProcessTransport, fd: ChildFd, data: &[u8]) {
        match fd {
            ChildFd::STDOUT => self.out_received(process, data),
            ChildFd::STDERR => self.err_received(process, data),
            _ => {}
        }
    }

    /// Data arrived on the child's stdout.
    fn out_received(&mut self, process: &ProcessTransport, data: &[u8]) {
        let _ = (process, data);
    }

    /// Data arrived on the child's stderr.
    fn err_received(&mut self, process: &ProcessTransport, data: &[u8]) {
        let _ = (process, data);
    }

    /// One of the child's pipes closed (it closed it, or we did).
    fn child_connection_lost(&mut self, process: &ProcessTransport, fd: ChildFd) {
        let _ = (process, fd);
    }

    /// The child exited (its pipes may still hold data).
    fn process_exited(&mut self, process: &ProcessTransport, status: ExitStatus) {
        let _ = (process, status);
    }

    /// The child exited and all its pipes are closed: the last event.
    fn process_ended(&mut self, process: &ProcessTransport, status: ExitStatus) {
        let _ = (process, status);
    }
}

/// What a child process implementation provides.
pub trait ProcessBackend {
    /// Buffers `data` for one of the child's input descriptors.
    fn write_to_child(&self, fd: ChildFd, data: &[u8]);
    /// Closes our end of one of the child's descriptors.
    fn close_child_fd(&self, fd: ChildFd);
    /// Sends a signal (Unix signal number) to the child.
    fn signal(&self, signal: i32) -> Result<(), Failure>;
    /// The child's pid while it runs.
    fn pid(&self) -> Option<u32>;
    /// Closes every pipe to the child, after flushing stdin.
    fn lose_connection(&self);
    /// The exit status once the child has been reaped.
    fn exit_status(&self) -> Option<ExitStatus>;
    /// Answers optional capabilities.
    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        let _ = request;
    }
}

/// A handle to a child process, cheap to clone.
#[derive(Clone)]
pub struct ProcessTransport {
    backend: Rc<dyn ProcessBackend>,
}

impl ProcessTransport {
    /// Wraps a backend.
    pub fn new(backend: Rc<dyn ProcessBackend>) -> Self {
        ProcessTransport { backend }
    }

    /// Writes to the child's stdin.
    pub fn write(&self, data: &[u8]) {
        self.backend.write_to_child(ChildFd::STDIN, data);
    }

    /// Writes to one of the child's input descriptors.
    pub fn write_to_child(&self, fd: ChildFd, data: &[u8]) {
        self.backend.write_to_child(fd, data);
    }

    /// Closes the child's stdin (it sees end of file).
    pub fn close_stdin(&self) {
        self.backend.close_child_fd(ChildFd::STDIN);
    }

    /// Closes our end of the child's stdout.
    pub fn close_stdout(&self) {
        self.backend.close_child_fd(ChildFd::STDOUT);
    }

    /// Closes our end of the child's stderr.
    pub fn close_stderr(&self) {
        self.backend.close_child_fd(ChildFd::STDERR);
    }

    /// Closes our end of any child descriptor.
    pub fn close_child_fd(&self, fd: ChildFd) {
        self.backend.close_child_fd(fd);
    }

    /// Sends a Unix signal to the child.
    pub fn signal_process(&self, signal: i32) -> Result<(), Failure> {
        self.backend.signal(signal)
    }

    /// The child's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.backend.pid()
    }

    /// The process's address.
    pub fn address(&self) -> Address {
        Address::Process(ProcessAddress { pid: self.pid() })
    }

    /// Closes every pipe to the child.
    pub fn lose_connection(&self) {
        self.backend.lose_connection();
    }

    /// The exit status once the child has been reaped.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.backend.exit_status()
    }

    /// Asks for an optional capability by type.
    pub fn capability<C: Capability>(&self) -> Result<C::Value, NotSupportedByTransport> {
        CapabilityRequest::ask::<C>(|request| self.backend.capability(request))
            .ok_or_else(|| NotSupportedByTransport::new(C::NAME, "process"))
    }
}

impl fmt::Debug for ProcessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessTransport")
            .field("pid", &self.pid())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_maps_to_twisted_failures() {
        assert!(ExitStatus::Code(0).into_failure().is::<ProcessDone>());
        assert!(ExitStatus::Code(0).into_result().is_ok());
        let killed = ExitStatus::Signal {
            signal: 9,
            core_dumped: false,
        };
        let failure = killed.into_result().unwrap_err();
        assert_eq!(
            failure.downcast_ref::<ProcessTerminated>().unwrap().status,
            killed
        );
        assert_eq!(failure.to_string(), "process ended: killed by signal 9");
        assert_eq!(ExitStatus::Code(3).to_string(), "exit code 3");
    }
}
