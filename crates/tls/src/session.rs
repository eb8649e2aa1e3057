//! The transport a wrapped protocol writes to: [`Session`], the
//! [`TransportBackend`] that encrypts through rustls and writes the records
//! to the underlying transport.
//!
//! rustls is driven sans-IO: plaintext goes into `writer()`, records come
//! out of `write_tls` and are written to the underlying transport at once
//! (so they join that transport's per-turn write coalescing), and the
//! [`TlsProtocol`](crate::TlsProtocol) feeds received bytes to `read_tls`.
//! rustls's own plaintext buffer is unlimited: flow control happens on the
//! underlying transport, where producers are registered.
//!
//! A session starts in one of two modes: TLS from the first byte, or plain
//! text until [`start_tls`](crate::start_tls) switches it (STARTTLS).

use std::cell::{Cell, RefCell};
use std::io::{IoSlice, Write};
use std::rc::{Rc, Weak};

use gyre_core::Failure;
use gyre_core::address::Address;
use gyre_core::capability::{CapabilityRequest, NegotiatedAlpn, PeerCertificates, ServerName};
use gyre_core::errors::{ProducerAlreadyRegistered, TransportClosed};
use gyre_core::producer::{Producer, WaterMarks};
use gyre_core::transport::{ConnectionState, Transport, TransportBackend};

use crate::error::{AlreadyTls, TlsHandshakeFailed, TlsProtocolError};
use crate::handshake_flow::HandshakeFlow;
use crate::scratch;
use crate::starttls::{StartTls, StartTlsHandle};
use crate::{TlsSession as TlsSessionCapability, TlsSessionInfo};

/// Plain text (before STARTTLS) or TLS.
pub(crate) enum Mode {
    Plain,
    Tls(Box<rustls::Connection>),
}

/// A close the wrapped protocol asked for during the handshake, carried out
/// when the handshake completes (close_notify cannot be sent earlier
/// without losing the data written so far).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingClose {
    None,
    Lose,
    LoseWrite,
}

/// The shared state of one TLS connection: the backend of the wrapped
/// protocol's transport, and what the [`TlsProtocol`](crate::TlsProtocol)
/// consults when bytes or the end arrive.
pub(crate) struct Session {
    pub(crate) mode: RefCell<Mode>,
    /// The transport TLS runs over.
    pub(crate) inner: Transport,
    /// This session, for the `StartTls` handles it gives out.
    me: Weak<Session>,
    /// The name a client sent by SNI.
    pub(crate) client_sni: RefCell<Option<String>>,
    pub(crate) pending_close: Cell<PendingClose>,
    pub(crate) closing: Cell<bool>,
    pub(crate) close_notify_sent: Cell<bool>,
    pub(crate) close_notify_received: Cell<bool>,
    pub(crate) handshake_done: Cell<bool>,
    pub(crate) aborted: Cell<bool>,
    pub(crate) lost: Cell<bool>,
    /// Why the session failed (handshake, bad record), reported to
    /// `connection_lost` in place of the underlying transport's reason.
    pub(crate) failure: RefCell<Option<Failure>>,
    /// Producers and buffered plaintext while the handshake runs.
    pub(crate) handshake_flow: HandshakeFlow,
}

impl Session {
    pub(crate) fn new(mode: Mode, inner: Transport, client_sni: Option<String>) -> Rc<Session> {
        Rc::new_cyclic(|me| Session {
            mode: RefCell::new(mode),
            inner,
            me: me.clone(),
            client_sni: RefCell::new(client_sni),
            pending_close: Cell::new(PendingClose::None),
            closing: Cell::new(false),
            close_notify_sent: Cell::new(false),
            close_notify_received: Cell::new(false),
            handshake_done: Cell::new(false),
            aborted: Cell::new(false),
            lost: Cell::new(false),
            failure: RefCell::new(None),
            handshake_flow: HandshakeFlow::default(),
        })
    }

    /// A handle for switching this (plain-text) session to TLS.
    pub(crate) fn start_tls_handle(&self) -> Option<StartTlsHandle> {
        self.me.upgrade().map(StartTlsHandle::new)
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(*self.mode.borrow(), Mode::Tls(_))
    }

    /// Whether a TLS handshake is under way (and has not failed).
    fn is_handshaking(&self) -> bool {
        match &*self.mode.borrow() {
            Mode::Plain => false,
            Mode::Tls(connection) => connection.is_handshaking() && self.failure.borrow().is_none(),
        }
    }

    /// Whether no more bytes should be processed: failed, aborted or gone.
    pub(crate) fn has_stopped(&self) -> bool {
        self.lost.get() || self.aborted.get() || self.failure.borrow().is_some()
    }

    /// Switches a plain-text session to TLS and sends what the handshake
    /// starts with (a client's hello).
    pub(crate) fn start(&self, mut connection: rustls::Connection) -> Result<(), Failure> {
        if self.lost.get() || self.closing.get() {
            return Err(Failure::new(TransportClosed::new()));
        }
        let mut mode = self.mode.borrow_mut();
        if let Mode::Tls(_) = *mode {
            return Err(Failure::new(AlreadyTls::new()));
        }
        connection.set_buffer_limit(None);
        *mode = Mode::Tls(Box::new(connection));
        drop(mode);
        self.flush();
        Ok(())
    }

    /// Writes every pending TLS record to the underlying transport, as one write.
    pub(crate) fn flush(&self) {
        let mut records = scratch::take(&scratch::RECORDS);
        if let Mode::Tls(connection) = &mut *self.mode.borrow_mut() {
            while connection.wants_write() {
                if connection.write_tls(&mut records).is_err() {
                    break;
                }
            }
        }
        if !records.is_empty() {
            self.inner.write(&records);
        }
        scratch::put_back(&scratch::RECORDS, records);
    }

    /// Records a rustls failure, sends the alert rustls queued, and closes.
    pub(crate) fn fail(&self, error: rustls::Error) {
        let failure = if self.handshake_done.get() {
            Failure::new(TlsProtocolError::new(error))
        } else {
            Failure::new(TlsHandshakeFailed::new(error))
        };
        self.failure.borrow_mut().get_or_insert(failure);
        self.flush();
        self.inner.lose_connection();
    }

    /// The handshake just completed: carries out a close asked for during it.
    pub(crate) fn handshake_completed(&self) {
        self.handshake_done.set(true);
        self.handshake_flow.release(&self.inner);
        match self.pending_close.replace(PendingClose::None) {
            PendingClose::None => {}
            PendingClose::Lose => self.send_close(false),
            PendingClose::LoseWrite => self.send_close(true),
        }
    }

    /// Sends close_notify after everything written so far, then closes the
    /// underlying transport (or only its write side).
    fn send_close(&self, write_side_only: bool) {
        if let Mode::Tls(connection) = &mut *self.mode.borrow_mut()
            && !self.close_notify_sent.replace(true)
        {
            connection.send_close_notify();
        }
        self.flush();
        if write_side_only {
            self.inner.lose_write_connection();
        } else {
            self.inner.lose_connection();
        }
    }

    fn close(&self, write_side_only: bool) {
        if self.lost.get() || self.closing.get() {
            return;
        }
        if !write_side_only {
            self.closing.set(true);
        }
        if !self.is_tls() {
            if write_side_only {
                self.inner.lose_write_connection();
            } else {
                self.inner.lose_connection();
            }
        } else if self.is_handshaking() {
            self.pending_close.set(if write_side_only {
                PendingClose::LoseWrite
            } else {
                PendingClose::Lose
            });
        } else {
            self.send_close(write_side_only);
        }
    }

    fn accepts_writes(&self) -> bool {
        !self.lost.get() && !self.aborted.get() && !self.close_notify_sent.get()
    }
}

impl TransportBackend for Session {
    fn write(&self, data: &[u8]) {
        self.write_vectored(&[IoSlice::new(data)]);
    }

    /// Encrypts all slices, then writes the records as one write below.
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) {
        if !self.accepts_writes() {
            return;
        }
        if !self.is_tls() {
            self.inner.write_vectored(bufs);
            return;
        }
        if let Mode::Tls(connection) = &mut *self.mode.borrow_mut() {
            if connection.is_handshaking() {
                self.handshake_flow
                    .note_plaintext(bufs.iter().map(|buf| buf.len()).sum());
            }
            let mut writer = connection.writer();
            for buf in bufs {
                // The buffer limit is lifted, so rustls takes everything.
                let _ = writer.write_all(buf);
            }
        }
        self.flush();
    }

    fn lose_connection(&self) {
        self.close(false);
    }

    fn abort_connection(&self) {
        if self.lost.get() || self.aborted.replace(true) {
            return;
        }
        self.inner.abort_connection();
    }

    fn lose_write_connection(&self) {
        self.close(true);
    }

    fn peer(&self) -> Address {
        self.inner.peer()
    }

    fn host(&self) -> Address {
        self.inner.host()
    }

    fn pause_reading(&self) {
        self.inner.pause_reading();
    }

    fn resume_reading(&self) {
        self.inner.resume_reading();
    }

    /// Registered on the underlying transport: its buffer holds the
    /// encrypted bytes, so its water marks regulate the producer. During
    /// the handshake it is held back instead (see `handshake_flow`).
    fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        if self.lost.get() {
            return Err(Failure::new(TransportClosed::new()));
        }
        if self.handshake_flow.is_holding() {
            return Err(Failure::new(ProducerAlreadyRegistered::new()));
        }
        if self.is_handshaking() {
            return self.handshake_flow.hold(producer);
        }
        self.inner.register_producer(producer)
    }

    fn unregister_producer(&self) {
        if !self.handshake_flow.unregister() {
            self.inner.unregister_producer();
        }
    }

    fn set_water_marks(&self, marks: WaterMarks) {
        self.handshake_flow.set_water_marks(marks);
        self.inner.set_water_marks(marks);
    }

    /// Encrypted bytes waiting below, plus plaintext written during the
    /// handshake that rustls keeps until it can encrypt it.
    fn buffered_len(&self) -> usize {
        self.inner.buffered_len() + self.handshake_flow.plaintext()
    }

    fn state(&self) -> ConnectionState {
        if self.lost.get() || self.aborted.get() {
            return ConnectionState::Closed;
        }
        match self.inner.state() {
            ConnectionState::Closed => ConnectionState::Closed,
            _ if self.closing.get() => ConnectionState::Closing,
            state => state,
        }
    }

    fn kind(&self) -> &'static str {
        if self.is_tls() { "tls" } else { "starttls" }
    }

    /// TLS questions and `StartTls` are answered here; the
    /// rest (peer credentials, TCP options) by the transport below. Each
    /// answer is built only when it is the one asked for.
    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        if request.is::<StartTls>() {
            // Answered in both modes: starting twice fails with `AlreadyTls`
            // rather than reaching a session further down.
            if let Some(handle) = self.start_tls_handle() {
                request.provide::<StartTls>(|| handle);
            }
            return;
        }
        if let Mode::Tls(connection) = &*self.mode.borrow() {
            request
                .provide::<PeerCertificates>(|| {
                    connection
                        .peer_certificates()
                        .map(|chain| chain.iter().map(|c| c.to_vec()).collect())
                        .unwrap_or_default()
                })
                .provide::<NegotiatedAlpn>(|| connection.alpn_protocol().map(<[u8]>::to_vec))
                .provide::<ServerName>(|| match &**connection {
                    rustls::Connection::Server(server) => server.server_name().map(str::to_owned),
                    rustls::Connection::Client(_) => self.client_sni.borrow().clone(),
                })
                .provide::<TlsSessionCapability>(|| TlsSessionInfo {
                    protocol_version: connection.protocol_version(),
                    cipher_suite: connection.negotiated_cipher_suite().map(|s| s.suite()),
                    handshake_complete: !connection.is_handshaking(),
                });
        }
        self.inner.backend().capability(request);
    }
}
