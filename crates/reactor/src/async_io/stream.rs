//! [`AsyncStream`]: a connection read and written with `.await`.
//!
//! Its protocol (`protocol.rs`) buffers what arrives and wakes the task
//! waiting in `read`; the buffer is bounded (reading is paused above the
//! limit, which the peer feels as TCP back-pressure). Writes go to the
//! transport at once; `write` waits only while the transport's buffer is
//! above its high-water mark.

use std::cell::{RefCell, RefMut};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use gyre_core::errors::{ConnectionDone, TransportClosed};
use gyre_core::{Address, Failure, Transport};

use super::LineTooLong;

/// The default bound on unread bytes (and on the length of a line).
pub const DEFAULT_BUFFER_LIMIT: usize = 64 * 1024;

/// What the stream and its protocol share.
pub(super) struct State {
    pub(super) transport: Option<Transport>,
    /// Received and unread: `buffer[start..]`.
    pub(super) buffer: Vec<u8>,
    pub(super) start: usize,
    /// How far `read_line` already looked for a newline (from `start`).
    pub(super) scanned: usize,
    pub(super) limit: usize,
    /// A `read_exact` waiting for this many bytes may exceed `limit`.
    pub(super) wanted: usize,
    pub(super) reading_paused: bool,
    /// The peer will send no more.
    pub(super) read_eof: bool,
    /// Why the connection ended, once it has.
    pub(super) lost: Option<Failure>,
    pub(super) write_paused: bool,
    pub(super) reader: Wakers,
    pub(super) writer: Wakers,
    pub(super) closer: Wakers,
}

impl State {
    pub(super) fn new() -> State {
        State {
            transport: None,
            buffer: Vec::new(),
            start: 0,
            scanned: 0,
            limit: DEFAULT_BUFFER_LIMIT,
            wanted: 0,
            reading_paused: false,
            read_eof: false,
            lost: None,
            write_paused: false,
            reader: Wakers::default(),
            writer: Wakers::default(),
            closer: Wakers::default(),
        }
    }

    pub(super) fn available(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Takes `n` unread bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let data = self.buffer[self.start..self.start + n].to_vec();
        self.consume(n);
        data
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.scanned = 0;
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        } else if self.start > self.buffer.len() / 2 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
    }

    /// The transport to resume reading on, if reading should resume.
    fn resume_if_room(&mut self) -> Option<Transport> {
        let room = self.available() < self.limit.max(self.wanted);
        if self.reading_paused && room && !self.read_eof {
            self.reading_paused = false;
            return self.transport.clone();
        }
        None
    }

    /// What a read at the end of the stream returns: nothing after a clean
    /// end, the reason after an unclean one.
    fn end(&self) -> Result<(), Failure> {
        match &self.lost {
            Some(reason) if !reason.is::<ConnectionDone>() => Err(reason.clone()),
            _ => Ok(()),
        }
    }
}

pub(super) type Shared = Rc<RefCell<State>>;

/// Ends a poll: resumes reading if it was paused and there is room again
/// (outside the borrow: the transport may call the producer back).
fn finish<T>(mut state: RefMut<'_, State>, poll: Poll<T>) -> Poll<T> {
    let resume = state.resume_if_room();
    drop(state);
    if let Some(transport) = resume {
        transport.resume_reading();
    }
    poll
}

/// The tasks waiting for one thing (data, room to write, the close). The
/// stream is shared with `Rc` between tasks, so several may wait at once
/// (two readers, say): each registers its own waker and every one of them is
/// woken, instead of the last one replacing the others (which would leave
/// them waiting forever). A task polled again with an equivalent waker is
/// not registered twice. The first waiter has a slot of its own, so the
/// usual single task waiting to read costs no allocation per read.
#[derive(Default)]
pub(super) struct Wakers {
    first: Option<Waker>,
    others: Vec<Waker>,
}

impl Wakers {
    fn register(&mut self, waker: &Waker) {
        let known = |known: &Waker| known.will_wake(waker);
        if self.first.as_ref().is_some_and(known) || self.others.iter().any(known) {
            return;
        }
        match self.first {
            None => self.first = Some(waker.clone()),
            Some(_) => self.others.push(waker.clone()),
        }
    }

    /// Takes every waker out, to be woken outside the borrow of the state.
    pub(super) fn take(&mut self) -> Wakers {
        std::mem::take(self)
    }
}

pub(super) fn wake(wakers: Wakers) {
    wakers
        .first
        .into_iter()
        .chain(wakers.others)
        .for_each(Waker::wake);
}

/// Clears the wanted length of a `read_exact` when it completes or its
/// future is dropped unfinished (cancelled by a timeout, say), so the pause
/// threshold goes back to the buffer limit either way.
struct ResetWanted<'a>(&'a Shared);

impl Drop for ResetWanted<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.try_borrow_mut() {
            state.wanted = 0;
        }
    }
}

/// A connection used from `async` code: read, read lines, write, close.
///
/// Made by [`connect_tcp`](super::connect_tcp), by the servers of
/// [`listen_tcp`](super::listen_tcp), or over any transport with
/// [`StreamProtocol::new`](super::StreamProtocol::new). Dropping it closes the connection (after
/// sending what was written). Methods take `&self`: share it in an `Rc` to
/// read and write from two tasks. Several tasks may even wait to read (or
/// to write) at once; each is woken when something changes, and the bytes
/// go to whichever polls first.
pub struct AsyncStream {
    shared: Shared,
    peer: Address,
    host: Address,
}

impl AsyncStream {
    pub(super) fn new(shared: Shared, peer: Address, host: Address) -> AsyncStream {
        AsyncStream { shared, peer, host }
    }

    /// The transport underneath, for anything this type does not wrap
    /// (capabilities, water marks). Its producer slot is taken by the stream.
    /// `None` once the connection ended.
    pub fn transport(&self) -> Option<Transport> {
        self.shared.borrow().transport.clone()
    }

    /// The other end's address.
    pub fn peer(&self) -> &Address {
        &self.peer
    }

    /// This end's address.
    pub fn host(&self) -> &Address {
        &self.host
    }

    /// Sets the most unread bytes held (and so the longest line
    /// [`read_line`](Self::read_line) accepts); reading pauses above it.
    pub fn set_buffer_limit(&self, limit: usize) {
        self.shared.borrow_mut().limit = limit.max(1);
    }

    /// Waits for data and returns everything received so far (at most the
    /// buffer limit plus one read). An empty vector means the peer closed
    /// cleanly; an unclean end is an error once the data before it was read.
    pub async fn read(&self) -> Result<Vec<u8>, Failure> {
        poll_fn(|cx| self.poll_read(cx)).await
    }

    /// The poll form of [`read`](Self::read).
    pub fn poll_read(&self, cx: &mut Context<'_>) -> Poll<Result<Vec<u8>, Failure>> {
        let mut state = self.shared.borrow_mut();
        let available = state.available();
        let poll = if available > 0 {
            Poll::Ready(Ok(state.take(available)))
        } else if state.read_eof {
            Poll::Ready(state.end().map(|()| Vec::new()))
        } else {
            state.reader.register(cx.waker());
            Poll::Pending
        };
        finish(state, poll)
    }

    /// Waits for exactly `n` bytes. Fails with `ConnectionDone` when the
    /// stream ends first (the bytes read so far are lost), or with the
    /// reason of an unclean end.
    ///
    /// While it waits, reading goes on until `n` bytes are buffered, even
    /// above the [buffer limit](Self::set_buffer_limit): `n` itself is the
    /// cap on the memory it takes. Check a length the peer chose (a length
    /// prefix) against a bound of your own before passing it here, or a peer
    /// can make this stream buffer that many bytes. Dropping the future
    /// before it completes (a timeout) puts the pause threshold back to the
    /// buffer limit.
    pub async fn read_exact(&self, n: usize) -> Result<Vec<u8>, Failure> {
        let _reset = ResetWanted(&self.shared);
        poll_fn(|cx| self.poll_read_exact(n, cx)).await
    }

    fn poll_read_exact(&self, n: usize, cx: &mut Context<'_>) -> Poll<Result<Vec<u8>, Failure>> {
        let mut state = self.shared.borrow_mut();
        state.wanted = n;
        let poll = if state.available() >= n {
            Poll::Ready(Ok(state.take(n)))
        } else if state.read_eof {
            Poll::Ready(Err(state.end().err().unwrap_or_else(|| {
                Failure::without_backtrace(ConnectionDone::new())
                    .context(format!("the stream ended before {n} bytes arrived"))
            })))
        } else {
            state.reader.register(cx.waker());
            Poll::Pending
        };
        finish(state, poll)
    }

    /// Waits for the next line and returns it without its `\n` or `\r\n`.
    /// `None` at a clean end of stream; a last line without a newline is
    /// returned as a line. A line longer than the buffer limit fails with
    /// [`LineTooLong`] (a peer cannot make the buffer grow without bound).
    pub async fn read_line(&self) -> Result<Option<Vec<u8>>, Failure> {
        poll_fn(|cx| self.poll_read_line(cx)).await
    }

    /// The poll form of [`read_line`](Self::read_line).
    pub fn poll_read_line(&self, cx: &mut Context<'_>) -> Poll<Result<Option<Vec<u8>>, Failure>> {
        let mut state = self.shared.borrow_mut();
        let from = state.start + state.scanned;
        let newline = state.buffer[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| from + i - state.start);
        let poll = match newline {
            Some(end) if end > state.limit => Poll::Ready(Err(Failure::new(LineTooLong::new(state.limit)))),
            Some(end) => {
                let mut line = state.take(end + 1);
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Poll::Ready(Ok(Some(line)))
            }
            None if state.available() > state.limit => {
                Poll::Ready(Err(Failure::new(LineTooLong::new(state.limit))))
            }
            None if state.read_eof => {
                let available = state.available();
                Poll::Ready(if available > 0 {
                    Ok(Some(state.take(available)))
                } else {
                    state.end().map(|()| None)
                })
            }
            None => {
                state.scanned = state.available();
                state.reader.register(cx.waker());
                Poll::Pending
            }
        };
        finish(state, poll)
    }

    /// Writes `data`, then waits while the transport holds more than its
    /// high-water mark of unsent bytes (so a fast writer keeps pace with a
    /// slow reader). Fails if the connection has ended.
    pub async fn write(&self, data: &[u8]) -> Result<(), Failure> {
        let transport = self.open_transport()?;
        transport.write(data);
        poll_fn(|cx| {
            let mut state = self.shared.borrow_mut();
            if let Some(reason) = &state.lost {
                return Poll::Ready(Err(reason.clone()));
            }
            if state.write_paused {
                state.writer.register(cx.waker());
                return Poll::Pending;
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    fn open_transport(&self) -> Result<Transport, Failure> {
        let state = self.shared.borrow();
        match (&state.transport, &state.lost) {
            (Some(transport), None) if !transport.is_closed() => Ok(transport.clone()),
            (_, Some(reason)) if !reason.is::<ConnectionDone>() => Err(reason.clone()),
            _ => Err(Failure::new(TransportClosed::new())),
        }
    }

    /// Closes our write side (TCP FIN) after what was written is sent;
    /// reading goes on.
    pub fn shutdown_write(&self) {
        if let Ok(transport) = self.open_transport() {
            transport.lose_write_connection();
        }
    }

    /// Closes the connection after sending what was written, and waits until
    /// it is closed. `Ok` after a clean close, else the reason.
    pub async fn close(&self) -> Result<(), Failure> {
        if let Some(transport) = self.transport() {
            transport.lose_connection();
        }
        poll_fn(|cx| {
            let mut state = self.shared.borrow_mut();
            match &state.lost {
                Some(_) => Poll::Ready(state.end()),
                None => {
                    state.closer.register(cx.waker());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Closes at once, dropping unsent data (TCP RST).
    pub fn abort(&self) {
        if let Some(transport) = self.transport() {
            transport.abort_connection();
        }
    }
}

impl Drop for AsyncStream {
    fn drop(&mut self) {
        let transport = self.shared.borrow().transport.clone();
        if let Some(transport) = transport {
            transport.lose_connection();
        }
    }
}

impl std::fmt::Debug for AsyncStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.borrow();
        f.debug_struct("AsyncStream")
            .field("peer", &self.peer)
            .field("unread", &state.available())
            .field("ended", &state.lost.is_some())
            .finish()
    }
}
