//! [`TlsProtocol`]: TLS as a protocol over any transport, carrying another
//! protocol inside.
//!
//! ```text
//!   reactor / pump ──bytes──▶ TlsProtocol ──plaintext──▶ wrapped protocol P
//!   (TCP, Unix, pipe,         │  rustls sans-IO           ▲  writes to its
//!    SSH channel, memory)     ▼                           │  Transport (Session)
//!   underlying Transport ◀──records── Session ◀──plaintext┘
//! ```
//!
//! The wrapped protocol hears `connection_made` at once (what it writes is
//! sent when the handshake completes, as in Twisted), data only once
//! decrypted, `read_connection_lost` when the peer sends close_notify, and
//! `connection_lost` with a TLS-aware reason (see [`crate::error`]).

use std::io::Read;
use std::rc::Rc;

use gyre_core::errors::{ConnectionDone, ConnectionLost};
use gyre_core::{Failure, Protocol, Transport};

use crate::client_config::{TlsClientConfig, server_name};
use crate::error::TlsTruncated;
use crate::scratch;
use crate::server_config::{TlsServerConfig, rustls_error};
use crate::session::{Mode, Session};
use crate::starttls::sni_of;

/// How the session will start once the underlying connection is made.
enum Start {
    Mode(Mode, Option<String>),
    Failed(Failure),
}

/// A protocol that speaks TLS to its transport and plaintext to `P`.
pub struct TlsProtocol<P: Protocol = Box<dyn Protocol>> {
    app: P,
    start: Option<Start>,
    session: Option<Rc<Session>>,
    transport: Option<Transport>,
}

impl<P: Protocol> TlsProtocol<P> {
    fn with_start(start: Start, app: P) -> Self {
        TlsProtocol {
            app,
            start: Some(start),
            session: None,
            transport: None,
        }
    }

    /// The server side of TLS around `app`.
    pub fn server(config: &TlsServerConfig, app: P) -> Self {
        let start = match rustls::ServerConnection::new(config.inner.clone()) {
            Ok(connection) => Start::Mode(Mode::Tls(Box::new(connection.into())), None),
            Err(error) => Start::Failed(rustls_error(error)),
        };
        Self::with_start(start, app)
    }

    /// The client side of TLS around `app`, verifying the server as
    /// `server_name` (a host name, also sent by SNI, or an IP address).
    pub fn client(config: &TlsClientConfig, server_name_or_ip: &str, app: P) -> Result<Self, Failure> {
        Ok(Self::with_start(client_start(config, server_name_or_ip)?, app))
    }

    /// [`client`](Self::client), or a protocol that fails with the error
    /// as soon as it is connected (for factories, which cannot refuse).
    pub(crate) fn client_or_failed(config: &TlsClientConfig, server_name_or_ip: &str, app: P) -> Self {
        let start = client_start(config, server_name_or_ip).unwrap_or_else(Start::Failed);
        Self::with_start(start, app)
    }

    /// Plain text around `app` until it calls
    /// [`start_tls_server`](crate::start_tls_server) or
    /// [`start_tls_client`](crate::start_tls_client) (STARTTLS).
    pub fn plaintext(app: P) -> Self {
        Self::with_start(Start::Mode(Mode::Plain, None), app)
    }

    /// The wrapped protocol.
    pub fn app(&self) -> &P {
        &self.app
    }

    /// The wrapped protocol, mutably.
    pub fn app_mut(&mut self) -> &mut P {
        &mut self.app
    }

    /// The transport the wrapped protocol writes to, once connected.
    pub fn transport(&self) -> Option<&Transport> {
        self.transport.as_ref()
    }

    /// Feeds received records to rustls and delivers what they carry.
    fn receive(&mut self, session: &Rc<Session>, transport: &Transport, mut data: &[u8]) {
        while !data.is_empty() && !session.has_stopped() {
            let mut plaintext = scratch::take(&scratch::PLAINTEXT);
            let (result, handshake_completed, peer_closed) = {
                let mut mode = session.mode.borrow_mut();
                let Mode::Tls(connection) = &mut *mode else {
                    // A plain-text session: only reachable through STARTTLS
                    // switching back, which does not exist.
                    return;
                };
                let result = match connection.read_tls(&mut data) {
                    Ok(_) => connection
                        .process_new_packets()
                        .map(|state| state.peer_has_closed()),
                    Err(error) => Err(rustls::Error::General(error.to_string())),
                };
                // Plaintext from records before a bad one is still delivered.
                let _ = connection.reader().read_to_end(&mut plaintext);
                let completed = !session.handshake_done.get() && !connection.is_handshaking();
                let peer_closed = *result.as_ref().unwrap_or(&false);
                (result, completed, peer_closed)
            };
            session.flush();
            if handshake_completed {
                session.handshake_completed();
            }
            if !plaintext.is_empty() && !session.lost.get() && !session.aborted.get() {
                self.app.data_received(transport, &plaintext);
            }
            scratch::put_back(&scratch::PLAINTEXT, plaintext);
            if let Err(error) = result {
                session.fail(error);
                return;
            }
            if peer_closed && !session.close_notify_received.replace(true) {
                self.app.read_connection_lost(transport);
            }
        }
    }

    /// The reason the wrapped protocol hears, given the underlying one.
    fn translate(session: &Session, reason: Failure) -> Failure {
        if let Some(failure) = session.failure.borrow_mut().take() {
            return failure;
        }
        if !session.is_tls() || !reason.is::<ConnectionDone>() {
            return reason;
        }
        if session.close_notify_received.get() || session.close_notify_sent.get() {
            return reason;
        }
        if !session.handshake_done.get() {
            return Failure::new(ConnectionLost::new()).context("connection closed during the TLS handshake");
        }
        Failure::new(TlsTruncated::new())
    }
}

fn client_start(config: &TlsClientConfig, server_name_or_ip: &str) -> Result<Start, Failure> {
    let name = server_name(server_name_or_ip)?;
    let sni = sni_of(&name);
    let connection = rustls::ClientConnection::new(config.inner.clone(), name).map_err(rustls_error)?;
    Ok(Start::Mode(Mode::Tls(Box::new(connection.into())), sni))
}

impl<P: Protocol> Protocol for TlsProtocol<P> {
    fn connection_made(&mut self, inner: &Transport) {
        let (mode, sni, failure) = match self.start.take() {
            Some(Start::Mode(mode, sni)) => (mode, sni, None),
            Some(Start::Failed(failure)) => (Mode::Plain, None, Some(failure)),
            None => return,
        };
        let mode = match mode {
            Mode::Tls(mut connection) => {
                connection.set_buffer_limit(None);
                Mode::Tls(connection)
            }
            plain => plain,
        };
        let session = Session::new(mode, inner.clone(), sni);
        let transport = Transport::new(session.clone());
        self.session = Some(session.clone());
        self.transport = Some(transport.clone());
        if let Some(failure) = failure {
            *session.failure.borrow_mut() = Some(failure);
            inner.abort_connection();
        }
        session.flush();
        self.app.connection_made(&transport);
    }

    fn data_received(&mut self, _inner: &Transport, data: &[u8]) {
        let (Some(session), Some(transport)) = (self.session.clone(), self.transport.clone()) else {
            return;
        };
        if session.is_tls() {
            self.receive(&session, &transport, data);
        } else if !session.has_stopped() {
            self.app.data_received(&transport, data);
        }
    }

    fn connection_lost(&mut self, _inner: &Transport, reason: Failure) {
        let (Some(session), Some(transport)) = (self.session.clone(), self.transport.clone()) else {
            return;
        };
        if session.lost.replace(true) {
            return;
        }
        session.handshake_flow.stop();
        let reason = Self::translate(&session, reason);
        self.app.connection_lost(&transport, reason);
    }

    /// End of file below. In plain text the wrapped protocol hears it; in
    /// TLS it is expected after close_notify, and otherwise a truncation,
    /// reported when the connection then closes.
    fn read_connection_lost(&mut self, inner: &Transport) {
        let (Some(session), Some(transport)) = (self.session.clone(), self.transport.clone()) else {
            return;
        };
        if !session.is_tls() {
            self.app.read_connection_lost(&transport);
        } else if !session.close_notify_received.get() {
            inner.lose_connection();
        }
    }

    fn write_connection_lost(&mut self, _inner: &Transport) {
        if let Some(transport) = self.transport.clone() {
            self.app.write_connection_lost(&transport);
        }
    }
}
