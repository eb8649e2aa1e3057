//! [`ProcessBackend`] for [`Process`]: what a `ProcessTransport` handle does.

use std::io;

use gyre_core::Failure;
use gyre_core::capability::{CapabilityRequest, ProcessId};
use gyre_core::process::{ChildFd, ExitStatus, ProcessBackend};

use super::ProcessExitedAlready;
use super::child::{Process, TERMINAL_KEY};
use crate::signals::UnsupportedSignal;

impl ProcessBackend for Process {
    fn write_to_child(&self, fd: ChildFd, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let key = self.key_of(fd);
        let buffered = {
            let mut pipes = self.pipes.borrow_mut();
            match pipes.get_mut(&key) {
                // Writes after a close was asked for but before it happened
                // are still sent, as on stream transports (and in Twisted).
                Some(pipe) if pipe.writes() => {
                    pipe.buffer.extend(data);
                    pipe.buffer.len()
                }
                _ => return,
            }
        };
        self.schedule_flush();
        if key == self.key_of(ChildFd::STDIN) {
            self.flow.after_write(buffered);
        }
    }

    fn close_child_fd(&self, fd: ChildFd) {
        let key = self.key_of(fd);
        if let Some(eof) = self.terminal_eof
            && key == TERMINAL_KEY
            && fd == ChildFd::STDIN
        {
            // A terminal has no separate stdin to close: send its
            // end-of-file character, which a reader in canonical mode sees
            // as end of file at the start of a line.
            return self.write_to_child(fd, &[eof]);
        }
        let writes = match self.pipes.borrow_mut().get_mut(&key) {
            Some(pipe) if pipe.writes() => {
                pipe.closing = true;
                true
            }
            Some(_) => false,
            None => return,
        };
        if writes {
            self.schedule_flush();
        } else {
            self.close_pipe(key);
        }
    }

    fn signal(&self, signal: i32) -> Result<(), Failure> {
        let pid = self
            .pid
            .get()
            .ok_or_else(|| Failure::new(ProcessExitedAlready::new()))?;
        let sig = rustix::process::Signal::from_named_raw(signal)
            .ok_or_else(|| Failure::new(UnsupportedSignal::new(signal)))?;
        let pid = rustix::process::Pid::from_raw(pid as i32).expect("a child's pid is positive");
        rustix::process::kill_process(pid, sig)
            .map_err(|errno| Failure::new(io::Error::from(errno)).context("signalling a child process"))
    }

    fn pid(&self) -> Option<u32> {
        self.pid.get()
    }

    fn lose_connection(&self) {
        let keys: Vec<u32> = self.pipes.borrow().keys().copied().collect();
        for key in keys {
            let writes = match self.pipes.borrow_mut().get_mut(&key) {
                Some(pipe) if pipe.writes() => {
                    pipe.closing = true;
                    true
                }
                Some(_) => false,
                None => continue,
            };
            if writes {
                self.schedule_flush();
            } else {
                self.close_pipe(key);
            }
        }
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        self.status.get()
    }

    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        if let Some(pid) = self.pid.get() {
            request.provide::<ProcessId>(|| pid);
        }
    }
}
