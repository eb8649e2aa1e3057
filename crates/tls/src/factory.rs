//! Wrapping factories and protocols in TLS (Twisted's `TLSMemoryBIOFactory`).
//!
//! These are the functions the endpoints crate calls for `ssl:` and `tls:`
//! endpoint strings: any factory becomes a TLS factory, whatever transport
//! its connections will run on.

use gyre_core::address::Address;
use gyre_core::connector::Connector;
use gyre_core::{ClientFactory, Factory, Failure, Protocol, SharedClientFactory, SharedFactory};

use crate::client_config::TlsClientConfig;
use crate::protocol::TlsProtocol;
use crate::server_config::TlsServerConfig;

/// Wraps `protocol` in the server side of TLS.
pub fn wrap_server_protocol(config: TlsServerConfig, protocol: Box<dyn Protocol>) -> Box<dyn Protocol> {
    Box::new(TlsProtocol::server(&config, protocol))
}

/// Wraps `protocol` in the client side of TLS, verifying the server as
/// `server_name` (host name or IP address). Fails on an invalid name.
pub fn wrap_client_protocol(
    config: TlsClientConfig,
    server_name: &str,
    protocol: Box<dyn Protocol>,
) -> Result<Box<dyn Protocol>, Failure> {
    Ok(Box::new(TlsProtocol::client(&config, server_name, protocol)?))
}

/// A server factory whose protocols speak TLS; start and stop reach the
/// wrapped factory.
pub fn wrap_server_factory(config: TlsServerConfig, factory: SharedFactory) -> SharedFactory {
    SharedFactory::new(TlsServerFactory { config, factory })
}

/// A client factory whose protocols speak TLS to `server_name`; the
/// connection-attempt notifications reach the wrapped factory. An invalid
/// name makes every connection fail with the parse error (in
/// `connection_lost`), as the signature has no room for an error.
///
/// The wrapped factory's `client_connection_lost` hears the underlying
/// transport's reason; the wrapped protocol's `connection_lost` hears the
/// TLS one (truncation, handshake failure).
pub fn wrap_client_factory(
    config: TlsClientConfig,
    server_name: &str,
    factory: SharedClientFactory,
) -> SharedClientFactory {
    SharedClientFactory::new(TlsClientFactory {
        config,
        server_name: server_name.to_owned(),
        factory,
    })
}

struct TlsServerFactory {
    config: TlsServerConfig,
    factory: SharedFactory,
}

impl Factory for TlsServerFactory {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let protocol = self.factory.build_protocol(peer)?;
        Some(wrap_server_protocol(self.config.clone(), protocol))
    }

    fn start_factory(&mut self) {
        self.factory.do_start();
    }

    fn stop_factory(&mut self) {
        self.factory.do_stop();
    }
}

struct TlsClientFactory {
    config: TlsClientConfig,
    server_name: String,
    factory: SharedClientFactory,
}

impl Factory for TlsClientFactory {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let protocol = self.factory.build_protocol(peer)?;
        Some(Box::new(TlsProtocol::client_or_failed(
            &self.config,
            &self.server_name,
            protocol,
        )))
    }

    fn start_factory(&mut self) {
        self.factory.do_start();
    }

    fn stop_factory(&mut self) {
        self.factory.do_stop();
    }
}

impl ClientFactory for TlsClientFactory {
    fn started_connecting(&mut self, connector: &Connector) {
        self.factory.started_connecting(connector);
    }

    fn client_connection_failed(&mut self, connector: &Connector, reason: Failure) {
        self.factory.client_connection_failed(connector, reason);
    }

    fn client_connection_lost(&mut self, connector: &Connector, reason: Failure) {
        self.factory.client_connection_lost(connector, reason);
    }
}
