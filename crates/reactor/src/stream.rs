//! [`StreamConnection`]: one connected stream socket (TCP or Unix) and the
//! protocol on it. This is the `TransportBackend` the reactor gives stream
//! protocols (the backend methods are in `stream/backend.rs`).
//!
//! Reading: edge triggered, so a readable event means "read until the
//! kernel has nothing more". A short read (fewer bytes than the buffer) is
//! taken as the end, which saves the extra `recv` that would only return
//! `EAGAIN`, except when the event also said the peer closed (the end of file
//! may be queued behind the data and would produce no new event). Readiness
//! that could not be used because reading was paused is remembered and used
//! when reading resumes.
//!
//! Writing: data is buffered and the buffer is flushed once at the end of
//! the turn, so several writes in one turn cost one `send`. What the kernel
//! does not take waits for the next writable event (registered once, edge
//! triggered: no `epoll_ctl` per write).
//!
//! Closing: every path that ends the connection goes through `close`, which
//! runs once, releases the socket at once and queues the one
//! `connection_lost` (with the registered producer's `stop_producing` before
//! it) for the end of the turn, so user code is never called back from inside
//! a call it made.

mod backend;

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::{Rc, Weak};

use gyre_core::address::Address;
use gyre_core::capability::CapabilityRequest;
use gyre_core::errors::{ConnectionDone, ConnectionLost};
use gyre_core::producer::FlowControl;
use gyre_core::transport::{ConnectionState, Transport};
use gyre_core::{Failure, Protocol};
use mio::{Interest, Token};

use crate::reactor::{Flush, Reactor, WeakReactor};
use crate::sources::{Readiness, Source};
use crate::write_buffer::WriteBuffer;

/// Reads per readiness event before yielding to other connections.
const MAX_READS_PER_EVENT: usize = 16;

/// What a stream socket type must offer.
pub(crate) trait StreamSocket: mio::event::Source + 'static {
    /// Receives bytes (and, for Unix sockets, file descriptors).
    fn recv(&self, buf: &mut [u8], received: &mut ReceivedExtras) -> io::Result<usize>;
    /// Sends bytes (with any queued file descriptors).
    fn send(&self, data: &[u8]) -> io::Result<usize>;
    /// Shuts down the write side (FIN).
    fn shutdown_write(&self) -> io::Result<()>;
    /// Prepares an abortive close (RST for TCP).
    fn prepare_abort(&self) {}
    /// The pending socket error, if any.
    fn take_error(&self) -> io::Result<Option<io::Error>>;
    /// Short name of the transport kind.
    fn kind(&self) -> &'static str;
    /// Answers optional capabilities.
    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        let _ = request;
    }
}

/// Things that arrive alongside bytes (file descriptors over Unix sockets).
#[derive(Default)]
pub(crate) struct ReceivedExtras {
    #[cfg(unix)]
    pub fds: Vec<std::os::fd::OwnedFd>,
    /// The kernel may have ended this read early although more is queued
    /// (a Unix socket stops a read at a message that carried descriptors):
    /// read again even after a short read.
    pub read_again: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteSide {
    Open,
    ShutdownRequested,
    Shutdown,
}

/// Called once with the reason when the connection ends (client connectors
/// use it to tell their factory).
pub(crate) type LostHook = Box<dyn FnOnce(&Failure)>;

/// The reason given for a socket error on an established connection. As in
/// Twisted, every such error (reset, broken pipe, keepalive timeout) is a
/// `ConnectionLost`; the OS error is kept as context.
fn lost(error: &io::Error, doing: &str) -> Failure {
    Failure::new(ConnectionLost::new()).context(format!("{doing}: {error}"))
}

pub(crate) struct StreamConnection<S: StreamSocket> {
    me: Weak<Self>,
    reactor: WeakReactor,
    token: Cell<Option<Token>>,
    socket: RefCell<Option<S>>,
    protocol: RefCell<Option<Box<dyn Protocol>>>,
    host: Address,
    peer: Address,
    buffer: RefCell<WriteBuffer>,
    flow: FlowControl,
    state: Cell<ConnectionState>,
    write_side: Cell<WriteSide>,
    read_closed: Cell<bool>,
    reading_paused: Cell<bool>,
    /// Readiness not yet used up (kept while paused).
    read_pending: Cell<bool>,
    /// The peer said it closed: read to end of file, no short-read shortcut.
    peer_closing: Cell<bool>,
    read_scheduled: Cell<bool>,
    flush_scheduled: Cell<bool>,
    on_lost: RefCell<Option<LostHook>>,
}

impl<S: StreamSocket> StreamConnection<S> {
    /// Registers `socket`, runs `connection_made`, and starts reading.
    pub(crate) fn start(
        reactor: &Reactor,
        socket: S,
        protocol: Box<dyn Protocol>,
        host: Address,
        peer: Address,
        on_lost: Option<LostHook>,
    ) -> io::Result<Rc<Self>> {
        let connection = Self::open(reactor, socket, protocol, host, peer, on_lost)?;
        connection.made();
        Ok(connection)
    }

    /// Registers `socket` without telling the protocol yet: the caller
    /// records the connection (a connector keeps it for `disconnect`) and
    /// then calls [`made`](Self::made), so that `connection_made` can
    /// already use everything that refers to the connection.
    pub(crate) fn open(
        reactor: &Reactor,
        mut socket: S,
        protocol: Box<dyn Protocol>,
        host: Address,
        peer: Address,
        on_lost: Option<LostHook>,
    ) -> io::Result<Rc<Self>> {
        let connection = Rc::new_cyclic(|me| StreamConnection {
            me: me.clone(),
            reactor: reactor.downgrade(),
            token: Cell::new(None),
            socket: RefCell::new(None),
            protocol: RefCell::new(Some(protocol)),
            host,
            peer,
            buffer: RefCell::default(),
            flow: FlowControl::new(),
            state: Cell::new(ConnectionState::Open),
            write_side: Cell::new(WriteSide::Open),
            read_closed: Cell::new(false),
            reading_paused: Cell::new(false),
            read_pending: Cell::new(false),
            peer_closing: Cell::new(false),
            read_scheduled: Cell::new(false),
            flush_scheduled: Cell::new(false),
            on_lost: RefCell::new(on_lost),
        });
        let token = reactor.register(
            &mut socket,
            connection.clone(),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        connection.token.set(Some(token));
        *connection.socket.borrow_mut() = Some(socket);
        Ok(connection)
    }

    /// Calls `connection_made`. Data that arrived already is read on the
    /// first readiness event, which the registration guarantees.
    pub(crate) fn made(&self) {
        self.with_protocol(|protocol, transport| protocol.connection_made(transport));
    }

    fn rc(&self) -> Rc<Self> {
        self.me.upgrade().expect("a connection is only used while alive")
    }

    fn transport(&self) -> Transport {
        Transport::new(self.rc())
    }

    fn with_protocol(&self, f: impl FnOnce(&mut dyn Protocol, &Transport)) {
        let transport = self.transport();
        let Ok(mut slot) = self.protocol.try_borrow_mut() else {
            tracing::error!(target: "gyre::reactor", "protocol callback re-entered; event dropped");
            return;
        };
        if let Some(protocol) = slot.as_mut() {
            f(protocol.as_mut(), &transport);
        }
    }

    fn is_open_for_reading(&self) -> bool {
        self.state.get() == ConnectionState::Open && !self.read_closed.get() && !self.reading_paused.get()
    }

    fn read(&self) {
        if !self.read_pending.get() || !self.is_open_for_reading() {
            return;
        }
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        let mut buffer = reactor.take_read_buffer();
        let mut extras = ReceivedExtras::default();
        let mut outcome = Ok(None);
        for _ in 0..MAX_READS_PER_EVENT {
            let received = match self.socket.borrow().as_ref() {
                Some(socket) => socket.recv(&mut buffer, &mut extras),
                None => return reactor.put_read_buffer(buffer),
            };
            #[cfg(unix)]
            if !extras.fds.is_empty() {
                let fds = std::mem::take(&mut extras.fds);
                self.with_protocol(|protocol, transport| protocol.file_descriptors_received(transport, fds));
            }
            match received {
                Ok(0) => {
                    self.read_pending.set(false);
                    outcome = Ok(Some(()));
                    break;
                }
                Ok(n) => {
                    self.with_protocol(|protocol, transport| protocol.data_received(transport, &buffer[..n]));
                    if n < buffer.len() && !self.peer_closing.get() && !std::mem::take(&mut extras.read_again)
                    {
                        self.read_pending.set(false);
                        break;
                    }
                    if !self.is_open_for_reading() {
                        break;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.read_pending.set(false);
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        reactor.put_read_buffer(buffer);
        match outcome {
            Ok(Some(())) => self.end_of_file(),
            Ok(None) => {
                if self.read_pending.get() && self.is_open_for_reading() {
                    self.schedule_read(&reactor);
                }
            }
            Err(error) => self.close(lost(&error, "reading"), false),
        }
    }

    fn schedule_read(&self, reactor: &Reactor) {
        if self.read_scheduled.replace(true) {
            return;
        }
        let me = self.me.clone();
        reactor.call_soon(move || {
            if let Some(connection) = me.upgrade() {
                connection.read_scheduled.set(false);
                connection.read();
            }
        });
    }

    fn end_of_file(&self) {
        self.read_closed.set(true);
        if self.write_side.get() == WriteSide::Shutdown {
            // Both directions are now closed.
            return self.close(Failure::without_backtrace(ConnectionDone::new()), false);
        }
        self.with_protocol(|protocol, transport| protocol.read_connection_lost(transport));
    }

    fn schedule_flush(&self) {
        if self.flush_scheduled.replace(true) {
            return;
        }
        if let Some(reactor) = self.reactor.upgrade() {
            reactor.schedule_flush(self.rc());
        }
    }

    fn flush_now(&self) {
        if self.state.get() == ConnectionState::Closed {
            return;
        }
        let mut failed = None;
        let mut sent = false;
        {
            let socket = self.socket.borrow();
            let Some(socket) = socket.as_ref() else { return };
            let mut buffer = self.buffer.borrow_mut();
            while !buffer.is_empty() {
                match socket.send(buffer.pending()) {
                    Ok(0) => break,
                    Ok(n) => {
                        buffer.consume(n);
                        sent = true;
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                }
            }
            if sent && buffer.is_empty() {
                buffer.release_if_large();
            }
        }
        if let Some(error) = failed {
            return self.close(lost(&error, "writing"), false);
        }
        // Producers hear about drains only: a flush that sent nothing (the
        // end-of-turn flush after a writable event already sent everything)
        // must not ask a pull producer for a second chunk.
        if sent {
            let buffered = self.buffer.borrow().len();
            self.flow.after_flush(buffered);
        }
        if !self.buffer.borrow().is_empty() {
            return;
        }
        if self.write_side.get() == WriteSide::ShutdownRequested {
            self.shutdown_write();
        }
        if self.state.get() == ConnectionState::Closing {
            self.close(Failure::without_backtrace(ConnectionDone::new()), false);
        }
    }

    fn shutdown_write(&self) {
        let result = match self.socket.borrow().as_ref() {
            Some(socket) => socket.shutdown_write(),
            None => return,
        };
        self.write_side.set(WriteSide::Shutdown);
        if let Err(error) = result {
            return self.close(lost(&error, "shutting down the write side"), false);
        }
        if self.read_closed.get() {
            return self.close(Failure::without_backtrace(ConnectionDone::new()), false);
        }
        let me = self.me.clone();
        if let Some(reactor) = self.reactor.upgrade() {
            reactor.call_soon(move || {
                if let Some(connection) = me.upgrade()
                    && connection.state.get() != ConnectionState::Closed
                {
                    connection.with_protocol(|protocol, transport| protocol.write_connection_lost(transport));
                }
            });
        }
    }

    /// Closes now and schedules `connection_lost(reason)`. Idempotent: the
    /// first reason wins.
    fn close(&self, reason: Failure, abort: bool) {
        if self.state.replace(ConnectionState::Closed) == ConnectionState::Closed {
            return;
        }
        let reactor = self.reactor.upgrade();
        if let Some(mut socket) = self.socket.borrow_mut().take() {
            if abort {
                socket.prepare_abort();
            }
            if let (Some(reactor), Some(token)) = (&reactor, self.token.take()) {
                reactor.deregister(&mut socket, token);
            }
        }
        *self.buffer.borrow_mut() = WriteBuffer::default();
        match reactor {
            Some(reactor) => {
                let me = self.rc();
                reactor.call_soon(move || me.deliver_lost(reason));
            }
            // No loop left to run it later: release the producer and the
            // protocol now (dropping them breaks transport cycles).
            None => self.deliver_lost(reason),
        }
    }

    fn deliver_lost(&self, reason: Failure) {
        self.flow.stop();
        let transport = self.transport();
        let protocol = self.protocol.borrow_mut().take();
        if let Some(mut protocol) = protocol {
            protocol.connection_lost(&transport, reason.clone());
        }
        let hook = self.on_lost.borrow_mut().take();
        if let Some(hook) = hook {
            hook(&reason);
        }
    }

    fn socket_error(&self) -> io::Error {
        match self.socket.borrow().as_ref().map(StreamSocket::take_error) {
            Some(Ok(Some(error))) | Some(Err(error)) => error,
            _ => io::Error::other("socket error"),
        }
    }
}

impl<S: StreamSocket> Source for StreamConnection<S> {
    fn ready(self: Rc<Self>, readiness: Readiness) {
        if self.state.get() == ConnectionState::Closed {
            return;
        }
        if readiness.error {
            // Data the peer sent before the error (a reset) is still
            // queued and readable: deliver it, then report the error.
            self.read_pending.set(true);
            self.peer_closing.set(true);
            self.read();
            if self.state.get() != ConnectionState::Closed {
                let error = self.socket_error();
                self.close(lost(&error, "socket error"), false);
            }
            return;
        }
        if readiness.readable || readiness.read_closed {
            self.read_pending.set(true);
            if readiness.read_closed {
                self.peer_closing.set(true);
            }
            self.read();
        }
        if readiness.writable && !self.buffer.borrow().is_empty() {
            self.flush_now();
        }
    }

    fn shutdown(self: Rc<Self>) {
        self.close(
            Failure::new(ConnectionLost::new()).context("the reactor shut down"),
            false,
        );
    }
}

impl<S: StreamSocket> Flush for StreamConnection<S> {
    fn flush(self: Rc<Self>) {
        self.flush_scheduled.set(false);
        self.flush_now();
    }
}
