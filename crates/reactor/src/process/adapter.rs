//! Running an ordinary [`Protocol`] over a child's stdin and stdout
//! (Twisted's `ProcessEndpoint`): the child is the peer, its stdout is what
//! the peer sends, and writes go to its stdin. Code written for TCP (a line
//! protocol, an HTTP client) can drive a local program unchanged.
//!
//! The mapping: stdout's end of file is `read_connection_lost` (whose default
//! closes the connection); `lose_write_connection` closes stdin;
//! `lose_connection` closes every pipe after flushing stdin;
//! `abort_connection` kills the child and closes every pipe, discarding
//! what stdin had not sent yet; and
//! `connection_lost` comes once the child has exited and its pipes are closed,
//! with `ProcessDone` for exit code 0 and `ProcessTerminated` otherwise.

use std::cell::{Cell, OnceCell};
use std::rc::Rc;

use gyre_core::address::{Address, ProcessAddress};
use gyre_core::capability::CapabilityRequest;
use gyre_core::process::{ChildFd, ExitStatus, ProcessBackend, ProcessProtocol, ProcessTransport};
use gyre_core::producer::{Producer, WaterMarks};
use gyre_core::transport::{ConnectionState, Transport, TransportBackend};
use gyre_core::{Failure, Protocol};

use super::child::Process;
use super::options::{ChildFdMode, ProcessOptions};
use crate::Reactor;

/// What happens to the child's stderr when a [`Protocol`] talks to its
/// stdout (Twisted's `StandardErrorBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StderrMode {
    /// Each chunk is logged with `tracing::warn!` (target `gyre::process`).
    #[default]
    Log,
    /// Read and dropped.
    Discard,
    /// Mixed into `data_received` with stdout.
    Deliver,
    /// Not captured: the child writes to this process's stderr.
    Inherit,
}

impl Reactor {
    /// Runs the child `options` describe and connects `protocol` to its
    /// stdin and stdout as if it were a network peer. Returns the
    /// protocol's transport; `connection_made` follows at the end of this
    /// turn.
    pub fn spawn_protocol(
        &self,
        protocol: impl Protocol,
        options: ProcessOptions,
        stderr: StderrMode,
    ) -> Result<Transport, Failure> {
        let options = match stderr {
            StderrMode::Log | StderrMode::Deliver => {
                options.child_fd(ChildFd::STDERR, ChildFdMode::FromChild)
            }
            StderrMode::Discard => options.child_fd(ChildFd::STDERR, ChildFdMode::Null),
            StderrMode::Inherit => options.child_fd(ChildFd::STDERR, ChildFdMode::Inherit),
        };
        let slot: Rc<OnceCell<(Transport, Rc<ProcessStream>)>> = Rc::default();
        let adapter = Adapter {
            protocol: Box::new(protocol),
            link: slot.clone(),
            stderr,
        };
        let process = super::spawn::spawn(self, Box::new(adapter), options)?;
        let stream = Rc::new(ProcessStream {
            process,
            losing: Cell::new(false),
            write_shut: Cell::new(false),
        });
        let transport = Transport::new(stream.clone());
        // Set before `connection_made`, which the reactor delivers later.
        drop(slot.set((transport.clone(), stream)));
        Ok(transport)
    }
}

/// The `ProcessProtocol` side: turns process events into protocol events.
struct Adapter {
    protocol: Box<dyn Protocol>,
    /// The protocol's transport and its backend, set once spawned. (The
    /// cycle through the process is broken when the process ends and drops
    /// this adapter.)
    link: Rc<OnceCell<(Transport, Rc<ProcessStream>)>>,
    stderr: StderrMode,
}

impl ProcessProtocol for Adapter {
    fn connection_made(&mut self, _process: &ProcessTransport) {
        if let Some(transport) = self.link.get().map(|(transport, _)| transport) {
            self.protocol.connection_made(transport);
        }
    }

    fn child_data_received(&mut self, _process: &ProcessTransport, fd: ChildFd, data: &[u8]) {
        let Some(transport) = self.link.get().map(|(transport, _)| transport) else {
            return;
        };
        match (fd, self.stderr) {
            (ChildFd::STDOUT, _) | (ChildFd::STDERR, StderrMode::Deliver) => {
                self.protocol.data_received(transport, data)
            }
            (ChildFd::STDERR, StderrMode::Log) => {
                tracing::warn!(target: "gyre::process", stderr = %String::from_utf8_lossy(data), "child stderr");
            }
            _ => {}
        }
    }

    fn child_connection_lost(&mut self, _process: &ProcessTransport, fd: ChildFd) {
        let Some((transport, stream)) = self.link.get() else {
            return;
        };
        if fd == ChildFd::STDOUT && !stream.losing.get() {
            self.protocol.read_connection_lost(transport);
        } else if fd == ChildFd::STDIN && stream.write_shut.get() && !stream.losing.get() {
            self.protocol.write_connection_lost(transport);
        }
    }

    fn process_ended(&mut self, _process: &ProcessTransport, status: ExitStatus) {
        if let Some(transport) = self.link.get().map(|(transport, _)| transport) {
            self.protocol.connection_lost(transport, status.into_failure());
        }
    }
}

/// The `TransportBackend` side: a process seen as a stream connection.
struct ProcessStream {
    process: Rc<Process>,
    losing: Cell<bool>,
    write_shut: Cell<bool>,
}

impl TransportBackend for ProcessStream {
    fn write(&self, data: &[u8]) {
        self.process.write_to_child(ChildFd::STDIN, data);
    }

    fn lose_connection(&self) {
        if !self.losing.replace(true) {
            self.process.lose_connection();
        }
    }

    /// Kills the child and closes every pipe; what was written to its
    /// stdin and not yet sent is discarded, not flushed.
    fn abort_connection(&self) {
        drop(self.process.signal(libc::SIGKILL));
        self.process.discard_unsent();
        self.lose_connection();
    }

    fn lose_write_connection(&self) {
        if !self.write_shut.replace(true) {
            self.process.close_child_fd(ChildFd::STDIN);
        }
    }

    fn peer(&self) -> Address {
        Address::Process(ProcessAddress {
            pid: self.process.pid(),
        })
    }

    fn host(&self) -> Address {
        Address::Process(ProcessAddress {
            pid: Some(std::process::id()),
        })
    }

    fn pause_reading(&self) {
        self.process.pause_reading();
    }

    fn resume_reading(&self) {
        self.process.resume_reading();
    }

    fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        if self.state() == ConnectionState::Closed {
            producer.stop_producing();
            return Ok(());
        }
        self.process.flow.register(producer, self.process.buffered_len())
    }

    fn unregister_producer(&self) {
        self.process.flow.unregister();
    }

    fn set_water_marks(&self, marks: WaterMarks) {
        self.process.flow.set_water_marks(marks);
    }

    fn buffered_len(&self) -> usize {
        self.process.buffered_len()
    }

    fn state(&self) -> ConnectionState {
        if self.process.has_ended() || !self.process.has_pipes() {
            ConnectionState::Closed
        } else if self.losing.get() {
            ConnectionState::Closing
        } else {
            ConnectionState::Open
        }
    }

    fn kind(&self) -> &'static str {
        "process"
    }

    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        self.process.capability(request);
    }
}
