//! [`FileSender`]: streams a file to a transport as a pull producer
//! (Twisted's `FileSender`).
//!
//! The sender writes one chunk each time the transport asks
//! ([`PullProducer::resume_producing`]): once when it is registered, then
//! whenever the transport's buffer has drained to its low-water mark. So
//! however slowly the peer reads, at most one chunk plus the low-water mark
//! is buffered, and a multi-gigabyte file costs one chunk of memory.
//!
//! **Chunk size: 64 KiB** (Twisted uses 16 KiB). A chunk is one `read` and,
//! on a socket whose buffer has room, one `send`: four times fewer system
//! calls per byte than 16 KiB. 64 KiB is also the transport's default
//! high-water mark and the reactor's read size, so one chunk fills the
//! write buffer to exactly where a push producer would be paused, and the
//! per-transfer memory (one reused chunk buffer) stays small.
//!
//! Reading is synchronous, on the reactor's thread, as in Twisted: fine for
//! local files, which do not block for long; a slow source (a network
//! filesystem, a pipe) should be read on the thread pool instead.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::{Rc, Weak};

use gyre_core::producer::{Producer, PullProducer};
use gyre_core::{Deferred, Failure, Resolver, Transport};

use super::error::TransferInterrupted;

/// The default chunk size; see the module documentation for why.
pub const DEFAULT_CHUNK_SIZE: usize = 64 * 1024;

/// A per-chunk transform (see [`FileSender::with_transform`]).
type Transform = Box<dyn FnMut(&mut Vec<u8>)>;

/// Streams a reader (a file, any [`Read`]) to a transport.
///
/// ```
/// use gyre_protocols::framing::FileSender;
/// use gyre_testing::{StringTransport, success_result_of};
///
/// let string = StringTransport::new();
/// let file = std::io::Cursor::new(b"line one\nline two\n".to_vec());
/// let done = FileSender::new(file)
///     .with_chunk_size(9)
///     .with_transform(|chunk| chunk.make_ascii_uppercase())
///     .begin(&string.handle());
/// assert_eq!(string.value(), b"LINE ONE\n", "one chunk, until the transport asks again");
/// // Draining the buffer (as a socket would) asks for the next chunk...
/// assert_eq!(string.take(), b"LINE ONE\n");
/// assert_eq!(string.take(), b"LINE TWO\n");
/// // ...and that drain for the one after, which finds the end of the file.
/// assert_eq!(success_result_of(done), Some(b'\n'), "fires with the last byte sent");
/// assert!(string.producer().is_none(), "unregistered when done");
/// ```
pub struct FileSender {
    reader: Box<dyn Read>,
    chunk_size: usize,
    transform: Option<Transform>,
}

impl FileSender {
    /// A sender of `reader`'s bytes, in chunks of [`DEFAULT_CHUNK_SIZE`].
    pub fn new(reader: impl Read + 'static) -> Self {
        FileSender {
            reader: Box::new(reader),
            chunk_size: DEFAULT_CHUNK_SIZE,
            transform: None,
        }
    }

    /// Reads chunks of `chunk_size` bytes (at least 1).
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Self {
        self.chunk_size = chunk_size.max(1);
        self
    }

    /// Runs `transform` on each chunk before it is sent; it may change the
    /// bytes in place, grow or shrink them (an empty result sends nothing
    /// for that chunk). It keeps state across chunks if it needs to, such
    /// as SMTP's dot-stuffing at line starts.
    pub fn with_transform(mut self, transform: impl FnMut(&mut Vec<u8>) + 'static) -> Self {
        self.transform = Some(Box::new(transform));
        self
    }

    /// Starts sending to `transport` (Twisted's `beginFileTransfer`): the
    /// sender registers itself as the transport's pull producer and writes
    /// its first chunk at once.
    ///
    /// The Deferred fires with the last byte sent (`None` for an empty
    /// file) once the whole file is written, after the sender unregistered.
    /// It fails with the read error (and unregisters) if reading fails,
    /// with [`TransferInterrupted`] if the connection closes first, and
    /// with `ProducerAlreadyRegistered` if the transport has a producer.
    /// Cancelling it stops the transfer.
    pub fn begin(self, transport: &Transport) -> Deferred<Option<u8>> {
        let mut deferred = None;
        let transfer = Rc::new_cyclic(|me: &Weak<Transfer>| {
            let me = me.clone();
            let (done, resolver) = Deferred::with_canceller(move |_| {
                if let Some(transfer) = me.upgrade() {
                    transfer.cancel();
                }
            });
            deferred = Some(done);
            Transfer {
                transport: transport.clone(),
                job: RefCell::new(Some(Job {
                    reader: self.reader,
                    chunk: Vec::new(),
                    chunk_size: self.chunk_size,
                    transform: self.transform,
                })),
                resolver,
                sent: Cell::new(0),
                last: Cell::new(None),
            }
        });
        if let Err(failure) = transport.register_producer(Producer::Pull(transfer.clone())) {
            transfer.job.borrow_mut().take();
            transfer.resolver.errback(failure);
        }
        deferred.expect("new_cyclic ran the closure")
    }
}

/// One transfer in progress: the producer the transport holds.
struct Transfer {
    transport: Transport,
    /// `None` once finished, failed, stopped or cancelled.
    job: RefCell<Option<Job>>,
    resolver: Resolver<Option<u8>>,
    sent: Cell<u64>,
    last: Cell<Option<u8>>,
}

struct Job {
    reader: Box<dyn Read>,
    /// The chunk buffer, reused for every chunk.
    chunk: Vec<u8>,
    chunk_size: usize,
    transform: Option<Transform>,
}

impl Job {
    /// Reads (and transforms) the next non-empty chunk into `chunk`;
    /// `false` at the end of the file.
    fn next_chunk(&mut self, chunk: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            chunk.resize(self.chunk_size, 0);
            let mut filled = 0;
            while filled < self.chunk_size {
                match self.reader.read(&mut chunk[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(error),
                }
            }
            chunk.truncate(filled);
            if filled == 0 {
                return Ok(false);
            }
            if let Some(transform) = &mut self.transform {
                transform(chunk);
            }
            if !chunk.is_empty() {
                return Ok(true);
            }
        }
    }
}

/// What one request for more came to.
enum Step {
    Wrote,
    Done,
    Failed(Failure),
}

impl Transfer {
    /// Ends the transfer with `result`, once.
    fn finish(&self, result: Result<Option<u8>, Failure>) {
        if self.job.borrow_mut().take().is_none() {
            return;
        }
        self.transport.unregister_producer();
        self.resolver.fire(result);
    }

    fn cancel(&self) {
        if self.job.borrow_mut().take().is_some() {
            self.transport.unregister_producer();
        }
    }

    fn step(&self) -> Step {
        // The chunk buffer is taken out while the transport is written to,
        // so no borrow is held if the transport calls back (stop_producing).
        let (chunk, read) = {
            let mut job = self.job.borrow_mut();
            let Some(job) = job.as_mut() else {
                return Step::Wrote;
            };
            let mut chunk = std::mem::take(&mut job.chunk);
            let read = job.next_chunk(&mut chunk);
            (chunk, read)
        };
        let step = match read {
            Ok(true) => {
                self.sent.set(self.sent.get() + chunk.len() as u64);
                self.last.set(chunk.last().copied());
                self.transport.write(&chunk);
                Step::Wrote
            }
            Ok(false) => Step::Done,
            Err(error) => Step::Failed(Failure::new(error).context("reading the file being sent")),
        };
        // Kept at its length: the next read overwrites it, so only a short
        // chunk's tail needs zeroing again.
        if let Some(job) = self.job.borrow_mut().as_mut() {
            job.chunk = chunk;
        }
        step
    }
}

impl PullProducer for Transfer {
    fn resume_producing(&self) {
        if self.transport.is_closed() {
            return self.stop_producing();
        }
        match self.step() {
            Step::Wrote => {}
            Step::Done => self.finish(Ok(self.last.get())),
            Step::Failed(failure) => self.finish(Err(failure)),
        }
    }

    fn stop_producing(&self) {
        if self.job.borrow_mut().take().is_some() {
            self.resolver.errback(TransferInterrupted::new(self.sent.get()));
        }
    }
}
