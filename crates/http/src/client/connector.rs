//! [`EndpointConnector`]: connections by host name over TCP, with TLS for
//! `https` (gyre-endpoints' `HostnameEndpoint`: resolution, happy
//! eyeballs; gyre-tls verifying the host name).

use std::rc::Rc;

use gyre_core::interfaces::ReactorTcp;
use gyre_core::{Clock, Deferred, SharedFactory};
use gyre_endpoints::resolver::HostResolver;
use gyre_endpoints::{ClientEndpoint, Connection, HostnameEndpoint};
use gyre_tls::{TlsClientConfig, wrap_client_protocol};

use crate::client::error::ClientError;
use crate::client::pool::{Connector, PoolKey};
use crate::client::url::Scheme;

/// Connects by host name, TLS for `https` with the given trust.
pub struct EndpointConnector<R> {
    reactor: R,
    resolver: Rc<dyn HostResolver>,
    tls: TlsClientConfig,
}

impl<R: ReactorTcp + Clock + Clone + 'static> EndpointConnector<R> {
    /// A connector resolving with `resolver` and verifying servers with
    /// `tls` (`TlsClientConfig::builder().webpki_roots()` for the public
    /// web, `.ca_file(..)` for a private CA).
    pub fn new(reactor: R, resolver: Rc<dyn HostResolver>, tls: TlsClientConfig) -> Self {
        EndpointConnector {
            reactor,
            resolver,
            tls,
        }
    }
}

impl<R: ReactorTcp + Clock + Clone + 'static> Connector for EndpointConnector<R> {
    fn connect(&self, key: &PoolKey, factory: SharedFactory) -> Deferred<Connection> {
        if key.tunnel.is_some() {
            return Deferred::fail(ClientError::InvalidRequest(
                "CONNECT tunnels are not supported by this connector".into(),
            ));
        }
        let origin = &key.origin;
        let endpoint = HostnameEndpoint::new(
            self.reactor.clone(),
            self.resolver.clone(),
            origin.bare_host(),
            origin.port,
        );
        let endpoint = match origin.scheme {
            Scheme::Http => endpoint,
            Scheme::Https => {
                let (config, name) = (self.tls.clone(), origin.bare_host().to_owned());
                endpoint.wrap_protocol(Rc::new(move |protocol| {
                    wrap_client_protocol(config.clone(), &name, protocol)
                }))
            }
        };
        endpoint.connect(factory)
    }
}
