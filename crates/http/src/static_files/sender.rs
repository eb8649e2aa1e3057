//! Streams a file (or parts of it, with multipart framing) into a
//! response as a pull producer: one chunk each time the transport has
//! drained, so memory stays at one chunk per connection however large the
//! file and however slow the client.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use gyre_core::producer::{Producer, PullProducer};

use crate::resource::ReplySink;

/// One piece of the body: literal bytes (multipart framing) or a span of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Bytes(Vec<u8>),
    File(Range<u64>),
}

/// The total length of `pieces`, for `Content-Length`.
pub(crate) fn body_length(pieces: &[Piece]) -> u64 {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Bytes(bytes) => bytes.len() as u64,
            Piece::File(range) => range.end - range.start,
        })
        .sum()
}

/// What one step left to do.
enum Step {
    /// Framing was written: write what follows now.
    More,
    /// A chunk was written: wait until the transport asks again.
    Wait,
    /// The response is finished.
    Done,
    /// Reading or writing failed: cut the connection.
    Fail,
}

/// The producer. Re-entrant calls (a transport that flushes and asks for
/// more from inside a write) are turned into another turn of the loop.
pub(crate) struct FileSender {
    response: Rc<dyn ReplySink>,
    file: File,
    pieces: RefCell<VecDeque<Piece>>,
    chunk: usize,
    /// The chunk read from the file, reused for every chunk.
    buf: RefCell<Vec<u8>>,
    busy: Cell<bool>,
    again: Cell<bool>,
    done: Cell<bool>,
}

impl FileSender {
    /// Starts sending `pieces` of `file` (the head was sent already).
    pub(crate) fn start(response: Rc<dyn ReplySink>, file: File, pieces: Vec<Piece>, chunk: usize) {
        let sender = Rc::new(FileSender {
            response: response.clone(),
            file,
            pieces: RefCell::new(pieces.into()),
            chunk: chunk.max(1),
            buf: RefCell::new(Vec::new()),
            busy: Cell::new(false),
            again: Cell::new(false),
            done: Cell::new(false),
        });
        if response.register_producer(Producer::Pull(sender)).is_err() {
            // Another producer holds the transport, or the client left.
            response.abort();
        }
    }

    /// Writes the next piece or chunk, and finishes the response once
    /// nothing is left.
    fn step(&self) -> Step {
        let next = self.pieces.borrow_mut().pop_front();
        let framing = matches!(next, Some(Piece::Bytes(_)));
        let wrote = match next {
            None => Ok(()),
            Some(Piece::Bytes(bytes)) => self.response.write(&bytes),
            Some(Piece::File(range)) => {
                let want = (range.end - range.start).min(self.chunk as u64) as usize;
                // Not re-entered while borrowed: a nested resume_producing
                // only sets `again` (see `busy`).
                let mut buf = self.buf.borrow_mut();
                buf.resize(want, 0);
                match self.file.read_at(&mut buf, range.start) {
                    Ok(read) if read > 0 => {
                        let next = range.start + read as u64;
                        if next < range.end {
                            self.pieces.borrow_mut().push_front(Piece::File(next..range.end));
                        }
                        self.response.write(&buf[..read])
                    }
                    // The file shrank or failed under us: the promised length
                    // cannot be met, so the connection is cut rather than lie.
                    _ => {
                        tracing::warn!("static file truncated or unreadable while sending");
                        return Step::Fail;
                    }
                }
            }
        };
        if wrote.is_err() {
            return Step::Fail; // the client is gone
        }
        if self.pieces.borrow().is_empty() {
            self.done.set(true);
            let _ = self.response.finish();
            return Step::Done;
        }
        // Framing is small: go on to the part it introduces.
        if framing { Step::More } else { Step::Wait }
    }

    fn fail(&self) {
        self.done.set(true);
        self.response.unregister_producer();
        self.response.abort();
    }
}

impl PullProducer for FileSender {
    fn resume_producing(&self) {
        if self.done.get() {
            return;
        }
        if self.busy.replace(true) {
            self.again.set(true);
            return;
        }
        loop {
            self.again.set(false);
            match self.step() {
                Step::More => continue,
                Step::Wait if self.again.get() => continue,
                Step::Wait | Step::Done => break,
                Step::Fail => {
                    self.fail();
                    break;
                }
            }
        }
        self.busy.set(false);
    }

    fn stop_producing(&self) {
        self.done.set(true);
        self.pieces.borrow_mut().clear();
    }
}
