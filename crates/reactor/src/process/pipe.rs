//! One of our ends of a child's descriptors: a pipe (or a terminal's master
//! side), its write buffer, and the readiness it still has to use.
//!
//! Each pipe is registered with the loop as its own source (read and write
//! interest at once, edge triggered), so a [`PipeSource`] only says which
//! pipe of which process became ready. A short read is taken as "drained"
//! unless the event also reported a hang-up, the same shortcut as stream
//! connections take.

use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use rustix::io::Errno;

use crate::sources::{Readiness, Source};
use crate::write_buffer::WriteBuffer;

use super::child::Process;

/// Which way data flows through a pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The child writes, we read.
    FromChild,
    /// We write, the child reads.
    ToChild,
    /// A terminal's master side: both ways on one descriptor.
    Terminal,
}

/// What one read attempt gave.
pub(crate) enum ReadOutcome {
    /// This many bytes are in the buffer.
    Data(usize),
    /// Nothing more for now.
    Drained,
    /// The child's side is closed (end of file, or `EIO` on a terminal whose
    /// slave side every process closed).
    End,
    /// Reading failed.
    Failed(io::Error),
}

pub(crate) struct Pipe {
    pub(crate) fd: OwnedFd,
    pub(crate) token: Option<mio::Token>,
    pub(crate) direction: Direction,
    pub(crate) buffer: WriteBuffer,
    /// Readiness not yet used up (kept while reading is paused or before
    /// `connection_made` was delivered).
    pub(crate) read_pending: bool,
    pub(crate) read_scheduled: bool,
    /// The event said the writer hung up: read until end of file.
    pub(crate) hangup: bool,
    /// Close once the buffer is flushed.
    pub(crate) closing: bool,
    /// A terminal whose slave side is closed, kept open until the child is
    /// reaped (closing the master hangs the terminal up, which would kill a
    /// child that closed its descriptors and is still exiting with SIGHUP).
    pub(crate) held_open: bool,
}

impl Pipe {
    pub(crate) fn new(fd: OwnedFd, direction: Direction) -> Self {
        Pipe {
            fd,
            token: None,
            direction,
            buffer: WriteBuffer::default(),
            read_pending: false,
            read_scheduled: false,
            hangup: false,
            closing: false,
            held_open: false,
        }
    }

    pub(crate) fn writes(&self) -> bool {
        self.direction != Direction::FromChild
    }

    /// One `read` into `buffer`, keeping `read_pending` up to date.
    pub(crate) fn read_once(&mut self, buffer: &mut [u8]) -> ReadOutcome {
        loop {
            return match rustix::io::read(&self.fd, &mut *buffer) {
                Ok(0) => {
                    self.read_pending = false;
                    ReadOutcome::End
                }
                Ok(n) => {
                    if n < buffer.len() && !self.hangup {
                        self.read_pending = false;
                    }
                    ReadOutcome::Data(n)
                }
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => {
                    self.read_pending = false;
                    ReadOutcome::Drained
                }
                Err(Errno::IO) if self.direction == Direction::Terminal => {
                    self.read_pending = false;
                    ReadOutcome::End
                }
                Err(errno) => {
                    self.read_pending = false;
                    ReadOutcome::Failed(errno.into())
                }
            };
        }
    }

    /// Writes as much of the buffer as the pipe takes. Returns what is left
    /// buffered, or the error (`EPIPE`: the child closed its end).
    pub(crate) fn write_out(&mut self) -> io::Result<usize> {
        while !self.buffer.is_empty() {
            match rustix::io::write(&self.fd, self.buffer.pending()) {
                Ok(0) => break,
                Ok(n) => self.buffer.consume(n),
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => break,
                Err(errno) => return Err(errno.into()),
            }
        }
        if self.buffer.is_empty() {
            self.buffer.release_if_large();
        }
        Ok(self.buffer.len())
    }
}

/// The loop's handle on one pipe of one process.
pub(crate) struct PipeSource {
    pub(crate) process: Rc<Process>,
    /// The child descriptor the pipe serves (1 for a terminal).
    pub(crate) key: u32,
}

impl Source for PipeSource {
    fn ready(self: Rc<Self>, readiness: Readiness) {
        self.process.pipe_ready(self.key, readiness);
    }

    fn shutdown(self: Rc<Self>) {
        self.process.pipe_shutdown(self.key);
    }
}
