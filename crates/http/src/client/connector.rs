//! [`EndpointConnector`]: connections by host name over TCP, with TLS for
//! `https` (gyre-endpoints' `HostnameEndpoint`: resolution, happy
//! eyeballs; gyre-tls verifying the host name), and CONNECT tunnels
//! through a proxy ([`connect_tunnel`]) with TLS inside.

use std::rc::Rc;

use gyre_core::interfaces::ReactorTcp;
use gyre_core::{Clock, Deferred, SharedFactory};
use gyre_endpoints::endpoint::ProtocolWrapper;
use gyre_endpoints::resolver::HostResolver;
use gyre_endpoints::{ClientEndpoint, Connection, HostnameEndpoint};
use gyre_tls::{TlsClientConfig, wrap_client_protocol};

use crate::client::pool::{Connector, PoolKey};
use crate::client::tunnel::connect_tunnel;
use crate::client::url::{Origin, Scheme};

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

    /// TLS to `origin`, verifying its name.
    fn tls_wrapper(&self, origin: &Origin) -> ProtocolWrapper {
        let (config, name) = (self.tls.clone(), origin.bare_host().to_owned());
        Rc::new(move |protocol| wrap_client_protocol(config.clone(), &name, protocol))
    }
}

impl<R: ReactorTcp + Clock + Clone + 'static> Connector for EndpointConnector<R> {
    fn connect(&self, key: &PoolKey, factory: SharedFactory) -> Deferred<Connection> {
        let origin = &key.origin;
        if let Some(proxy) = &key.tunnel {
            let endpoint = HostnameEndpoint::new(
                self.reactor.clone(),
                self.resolver.clone(),
                proxy.bare_host(),
                proxy.port,
            );
            let wrap = (origin.scheme == Scheme::Https).then(|| self.tls_wrapper(origin));
            return connect_tunnel(|factory| endpoint.connect(factory), origin, wrap, factory);
        }
        let endpoint = HostnameEndpoint::new(
            self.reactor.clone(),
            self.resolver.clone(),
            origin.bare_host(),
            origin.port,
        );
        let endpoint = match origin.scheme {
            Scheme::Http => endpoint,
            Scheme::Https => endpoint.wrap_protocol(self.tls_wrapper(origin)),
        };
        endpoint.connect(factory)
    }
}
