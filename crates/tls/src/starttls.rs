//! STARTTLS: switching an established plain-text connection to TLS (SMTP
//! `STARTTLS`, IMAP `STARTTLS`, POP3 `STLS`, FTP `AUTH TLS`).
//!
//! A protocol that may upgrade runs inside [`TlsProtocol::plaintext`]
//! (built by its factory). Bytes pass through unchanged until the protocol
//! calls [`start_tls_server`] or [`start_tls_client`] with its transport;
//! from then on both directions go through TLS, and the *same* protocol
//! keeps receiving (now decrypted) data on the *same* transport handle.
//!
//! Order is preserved: plain text written before the call (the `220 Ready
//! to start TLS` reply) goes out before the first handshake byte. Bytes the
//! protocol already received in plain text past the command that started
//! TLS are its own to discard: they were not protected, and treating them
//! as part of the TLS session is the STARTTLS injection bug (CVE-2011-0411).
//!
//! ```
//! use gyre_core::{Protocol, Transport};
//! use gyre_tls::{TlsProtocol, TlsServerConfig, start_tls_server};
//!
//! /// Answers `STARTTLS` and upgrades; echoes everything else.
//! struct Upgrading {
//!     config: TlsServerConfig,
//! }
//!
//! impl Protocol for Upgrading {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         if data == b"STARTTLS\r\n" {
//!             transport.write(b"220 go ahead\r\n");
//!             if start_tls_server(transport, &self.config).is_err() {
//!                 transport.lose_connection();
//!             }
//!         } else {
//!             transport.write(data);
//!         }
//!     }
//! }
//!
//! fn build(config: &TlsServerConfig) -> TlsProtocol<Upgrading> {
//!     TlsProtocol::plaintext(Upgrading { config: config.clone() })
//! }
//! # let _ = build;
//! ```
//!
//! [`TlsProtocol::plaintext`]: crate::TlsProtocol::plaintext

use std::rc::Rc;

use gyre_core::capability::Capability;
use gyre_core::{Failure, Transport};

use crate::client_config::{TlsClientConfig, server_name};
use crate::server_config::{TlsServerConfig, rustls_error};
use crate::session::Session;

/// The capability of a plain-text connection that can switch to TLS:
/// answered by transports of [`TlsProtocol::plaintext`](crate::TlsProtocol::plaintext)
/// until they switch.
pub struct StartTls;

impl Capability for StartTls {
    type Value = StartTlsHandle;
    const NAME: &'static str = "STARTTLS upgrade";
}

/// Switches one plain-text connection to TLS; the value of [`StartTls`].
#[derive(Clone)]
pub struct StartTlsHandle {
    session: Rc<Session>,
}

impl StartTlsHandle {
    pub(crate) fn new(session: Rc<Session>) -> Self {
        StartTlsHandle { session }
    }

    /// Starts TLS as the server: waits for the client's hello.
    pub fn server(&self, config: &TlsServerConfig) -> Result<(), Failure> {
        let connection = rustls::ServerConnection::new(config.inner.clone()).map_err(rustls_error)?;
        self.session.start(connection.into())
    }

    /// Starts TLS as the client: sends the hello for `server_name` (a host
    /// name, checked against the certificate and sent by SNI, or an IP address).
    pub fn client(&self, config: &TlsClientConfig, server_name_or_ip: &str) -> Result<(), Failure> {
        let name = server_name(server_name_or_ip)?;
        let sni = sni_of(&name);
        let connection = rustls::ClientConnection::new(config.inner.clone(), name).map_err(rustls_error)?;
        *self.session.client_sni.borrow_mut() = sni;
        self.session.start(connection.into())
    }
}

/// The SNI a client sends for `name`: host names only, never addresses.
pub(crate) fn sni_of(name: &rustls_pki_types::ServerName<'_>) -> Option<String> {
    match name {
        rustls_pki_types::ServerName::DnsName(dns) => Some(dns.as_ref().to_owned()),
        _ => None,
    }
}

/// Switches `transport` to TLS as the server. Fails with
/// `NotSupportedByTransport` when the connection was not made by
/// [`TlsProtocol::plaintext`](crate::TlsProtocol::plaintext), and with
/// [`AlreadyTls`](crate::AlreadyTls) when it already switched.
pub fn start_tls_server(transport: &Transport, config: &TlsServerConfig) -> Result<(), Failure> {
    transport.capability::<StartTls>()?.server(config)
}

/// Switches `transport` to TLS as the client, verifying the server as
/// `server_name` (see [`StartTlsHandle::client`]).
pub fn start_tls_client(
    transport: &Transport,
    config: &TlsClientConfig,
    server_name: &str,
) -> Result<(), Failure> {
    transport.capability::<StartTls>()?.client(config, server_name)
}
