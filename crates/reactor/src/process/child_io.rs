//! The I/O half of [`Process`]: readiness of each pipe, reading into the
//! shared buffer, end-of-turn flushes of what was written to the child, and
//! closing pipes (with `child_connection_lost` queued for the end of the
//! turn, never delivered inside the caller's own call).

use std::os::fd::AsRawFd;
use std::rc::Rc;

use gyre_core::process::ChildFd;
use mio::unix::SourceFd;

use super::child::{MAX_READS_PER_EVENT, Process};
use super::pipe::{Direction, ReadOutcome};
use crate::reactor::{Flush, Reactor};
use crate::sources::Readiness;

impl Process {
    pub(crate) fn pipe_ready(&self, key: u32, readiness: Readiness) {
        let direction = match self.pipes.borrow().get(&key) {
            Some(pipe) => pipe.direction,
            None => return,
        };
        if direction == Direction::ToChild && (readiness.error || readiness.write_closed) {
            // The child closed its reading end (or exited): nothing more can
            // be written, and what is buffered is dropped.
            return self.close_pipe(key);
        }
        if direction != Direction::ToChild && (readiness.readable || readiness.read_closed || readiness.error)
        {
            if let Some(pipe) = self.pipes.borrow_mut().get_mut(&key) {
                pipe.read_pending = true;
                pipe.hangup |= readiness.read_closed;
            }
            self.read_pipe(key);
        }
        let has_output = self
            .pipes
            .borrow()
            .get(&key)
            .is_some_and(|pipe| !pipe.buffer.is_empty());
        if direction != Direction::FromChild && readiness.writable && has_output {
            self.flush_pipe(key);
        }
    }

    /// The reactor is stopping: a last flush, then the pipe closes.
    pub(crate) fn pipe_shutdown(&self, key: u32) {
        if let Some(pipe) = self.pipes.borrow_mut().get_mut(&key)
            && pipe.writes()
        {
            drop(pipe.write_out());
        }
        self.close_pipe(key);
    }

    pub(super) fn read_pipe(&self, key: u32) {
        if !self.started.get() || self.reading_paused.get() {
            return;
        }
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        let mut buffer = reactor.take_read_buffer();
        let mut ended = false;
        for _ in 0..MAX_READS_PER_EVENT {
            let outcome = {
                let mut pipes = self.pipes.borrow_mut();
                let Some(pipe) = pipes.get_mut(&key).filter(|pipe| pipe.read_pending) else {
                    break;
                };
                pipe.read_once(&mut buffer)
            };
            match outcome {
                ReadOutcome::Data(n) => {
                    let data = &buffer[..n];
                    self.with_protocol(|protocol, transport| {
                        protocol.child_data_received(transport, ChildFd(key), data)
                    });
                    if self.reading_paused.get() {
                        break;
                    }
                }
                ReadOutcome::Drained => break,
                ReadOutcome::End => {
                    ended = true;
                    break;
                }
                ReadOutcome::Failed(error) => {
                    tracing::debug!(target: "gyre::process", %error, fd = key, "reading from a child failed");
                    ended = true;
                    break;
                }
            }
        }
        reactor.put_read_buffer(buffer);
        if ended {
            return self.end_of_pipe(key);
        }
        self.schedule_read_if_pending(&reactor, key);
    }

    /// The child's side of a pipe is closed: close ours, except for a
    /// terminal whose child has not been reaped yet (see `Pipe::held_open`).
    pub(super) fn end_of_pipe(&self, key: u32) {
        if self.status.get().is_none()
            && let Some(pipe) = self.pipes.borrow_mut().get_mut(&key)
            && pipe.direction == Direction::Terminal
        {
            pipe.held_open = true;
            return;
        }
        self.close_pipe(key);
    }

    /// More is waiting than one event's share: read again at the end of
    /// the turn, after other sources had theirs.
    pub(super) fn schedule_read_if_pending(&self, reactor: &Reactor, key: u32) {
        if self.reading_paused.get() {
            return;
        }
        {
            let mut pipes = self.pipes.borrow_mut();
            let Some(pipe) = pipes.get_mut(&key) else { return };
            if !pipe.read_pending || pipe.read_scheduled {
                return;
            }
            pipe.read_scheduled = true;
        }
        let me = self.me.clone();
        reactor.call_soon(move || {
            if let Some(process) = me.upgrade() {
                if let Some(pipe) = process.pipes.borrow_mut().get_mut(&key) {
                    pipe.read_scheduled = false;
                }
                process.read_pipe(key);
            }
        });
    }

    pub(super) fn schedule_flush(&self) {
        if self.flush_scheduled.replace(true) {
            return;
        }
        if let Some(reactor) = self.reactor.upgrade() {
            reactor.schedule_flush(self.rc());
        }
    }

    pub(super) fn flush_pipe(&self, key: u32) {
        let written = match self.pipes.borrow_mut().get_mut(&key) {
            Some(pipe) => pipe.write_out(),
            None => return,
        };
        let left = match written {
            Ok(left) => left,
            Err(error) => {
                tracing::debug!(target: "gyre::process", %error, fd = key, "writing to a child failed");
                return self.close_pipe(key);
            }
        };
        if key == self.key_of(ChildFd::STDIN) {
            self.flow.after_flush(left);
        }
        let done = self
            .pipes
            .borrow()
            .get(&key)
            .is_some_and(|pipe| pipe.closing && pipe.buffer.is_empty());
        if done {
            self.close_pipe(key);
        }
    }

    /// Closes our end now and queues `child_connection_lost`.
    pub(super) fn close_pipe(&self, key: u32) {
        let Some(mut pipe) = self.pipes.borrow_mut().remove(&key) else {
            return;
        };
        let reactor = self.reactor.upgrade();
        if let (Some(reactor), Some(token)) = (&reactor, pipe.token.take()) {
            reactor.deregister(&mut SourceFd(&pipe.fd.as_raw_fd()), token);
        }
        drop(pipe);
        if key == self.key_of(ChildFd::STDIN) {
            self.flow.stop();
        }
        let Some(reactor) = reactor else { return };
        self.lost_pending.set(self.lost_pending.get() + 1);
        let me = self.rc();
        reactor.call_soon(move || me.deliver_lost(key));
    }

    /// Drops everything buffered for the child (an abort), so that closing
    /// the pipes afterwards sends none of it.
    pub(crate) fn discard_unsent(&self) {
        for pipe in self.pipes.borrow_mut().values_mut() {
            let unsent = pipe.buffer.len();
            pipe.buffer.consume(unsent);
        }
    }

    pub(crate) fn pause_reading(&self) {
        self.reading_paused.set(true);
    }

    pub(crate) fn resume_reading(&self) {
        if !self.reading_paused.replace(false) {
            return;
        }
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        let keys: Vec<u32> = self.pipes.borrow().keys().copied().collect();
        for key in keys {
            self.schedule_read_if_pending(&reactor, key);
        }
    }
}

impl Flush for Process {
    fn flush(self: Rc<Self>) {
        self.flush_scheduled.set(false);
        let keys: Vec<u32> = self
            .pipes
            .borrow()
            .iter()
            .filter(|(_, pipe)| pipe.writes() && (pipe.closing || !pipe.buffer.is_empty()))
            .map(|(&key, _)| key)
            .collect();
        for key in keys {
            self.flush_pipe(key);
        }
    }
}
