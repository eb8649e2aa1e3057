//! # gyre-tls: TLS as a protocol that wraps any other protocol
//!
//! TLS here is not a kind of socket. It is a [`Protocol`] ([`TlsProtocol`])
//! that speaks TLS records to whatever transport it runs on (TCP, a Unix
//! socket, a child's pipes, an SSH channel, the in-memory pair of the
//! tests) and gives the protocol it carries a [`Transport`] of plaintext
//! that also answers the TLS questions: [`PeerCertificates`],
//! [`NegotiatedAlpn`], [`ServerName`] and [`TlsSession`]. So one echo or
//! HTTP protocol runs unchanged over plain TCP or TLS.
//!
//! ```text
//!   server_config.rs  TlsServerConfig (PEM files, SNI certificates, ALPN, client CAs)
//!   client_config.rs  TlsClientConfig (webpki / system / file roots, client cert, ALPN, dangerous)
//!   protocol.rs  TlsProtocol<P>: Protocol towards the transport, drives rustls sans-IO
//!   session.rs   Session: the TransportBackend P writes to (encrypts, answers capabilities)
//!   starttls.rs  start_tls_server / start_tls_client on a TlsProtocol::plaintext connection
//!   factory.rs   wrap_server_factory / wrap_client_factory / wrap_*_protocol
//!   error.rs     TlsHandshakeFailed · TlsProtocolError · TlsTruncated · TlsConfigError · AlreadyTls
//!   sni.rs pem.rs verify.rs   certificate by name · PEM loading · the skip-verification verifier
//!   scratch.rs   per-thread buffers for records and decrypted bytes (none kept per connection)
//! ```
//!
//! Defaults are the secure ones: TLS 1.3 preferred, TLS 1.2 minimum,
//! rustls's safe cipher suites on the *ring* provider, server names and IP
//! addresses checked against certificates. A clean close (close_notify)
//! reaches `connection_lost` as `ConnectionDone`; a connection cut after the
//! handshake without one as [`TlsTruncated`]; a failed handshake as
//! [`TlsHandshakeFailed`].
//!
//! ```
//! # fn main() -> Result<(), gyre_core::Failure> {
//! use gyre_core::capability::NegotiatedAlpn;
//! use gyre_core::{Protocol, Transport};
//! use gyre_testing::connect_pair;
//! use gyre_tls::{TlsClientConfig, TlsProtocol, TlsServerConfig, pem};
//!
//! // A test CA and a certificate it issued for "localhost" (tests/data/README.md).
//! let chain = pem::parse_certificates(include_bytes!("../tests/data/localhost.pem"))?;
//! let key = pem::parse_private_key(include_bytes!("../tests/data/localhost.key"))?;
//! let ca = pem::parse_certificates(include_bytes!("../tests/data/ca.pem"))?;
//! let server = TlsServerConfig::builder().certificate(chain, key).alpn(["echo"]).build()?;
//! let client = TlsClientConfig::builder().ca_certificates(ca).alpn(["echo"]).build()?;
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         transport.write(data);
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Hello(Vec<u8>);
//! impl Protocol for Hello {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         transport.write(b"hello"); // sent once the handshake completes
//!     }
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         assert_eq!(transport.capability::<NegotiatedAlpn>().unwrap(), Some(b"echo".to_vec()));
//!         self.0.extend_from_slice(data);
//!     }
//! }
//!
//! let mut pair = connect_pair(
//!     TlsProtocol::server(&server, Echo),
//!     TlsProtocol::client(&client, "localhost", Hello::default())?,
//! );
//! pair.pump();
//! assert_eq!(pair.client().app().0, b"hello");
//! # Ok(()) }
//! ```
//!
//! [`Protocol`]: gyre_core::Protocol
//! [`Transport`]: gyre_core::Transport
//! [`PeerCertificates`]: gyre_core::capability::PeerCertificates
//! [`NegotiatedAlpn`]: gyre_core::capability::NegotiatedAlpn
//! [`ServerName`]: gyre_core::capability::ServerName

mod client_config;
pub mod error;
mod factory;
mod handshake_flow;
pub mod pem;
mod protocol;
mod scratch;
mod server_config;
mod session;
pub mod sni;
mod starttls;
mod verify;

pub use client_config::{DangerousClientBuilder, TlsClientBuilder, TlsClientConfig, server_name};
pub use error::{AlreadyTls, TlsConfigError, TlsHandshakeFailed, TlsProtocolError, TlsTruncated};
pub use factory::{wrap_client_factory, wrap_client_protocol, wrap_server_factory, wrap_server_protocol};
pub use protocol::TlsProtocol;
pub use server_config::{TlsServerBuilder, TlsServerConfig};
pub use starttls::{StartTls, StartTlsHandle, start_tls_client, start_tls_server};

/// The rustls types that appear in this crate's API, so users need not
/// depend on rustls themselves to match versions or read a session's details.
pub use rustls::{CipherSuite, ProtocolVersion};
pub use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use gyre_core::capability::Capability;

/// The negotiated TLS version and cipher suite of a connection.
pub struct TlsSession;

impl Capability for TlsSession {
    type Value = TlsSessionInfo;
    const NAME: &'static str = "TLS session details";
}

/// What [`TlsSession`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsSessionInfo {
    /// `TLSv1_3` or `TLSv1_2`, once negotiated.
    pub protocol_version: Option<ProtocolVersion>,
    /// The cipher suite, once negotiated.
    pub cipher_suite: Option<CipherSuite>,
    /// Whether the handshake has completed.
    pub handshake_complete: bool,
}
