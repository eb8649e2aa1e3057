//! [`PortForwardFactory`]: Twisted's `portforward.ProxyFactory` — every
//! accepted connection is relayed to one fixed destination.

use std::rc::Rc;

use gyre_core::{Address, Factory, Failure, Protocol, Transport};
use gyre_endpoints::ClientEndpoint;

use super::relay::{Relay, RelayConfig};

/// A server factory that connects each accepted connection to a fixed
/// destination through `endpoint` (TCP, a host name with happy eyeballs,
/// TLS, a Unix socket, a SOCKS proxy…) and relays both ways.
///
/// ```
/// use std::rc::Rc;
/// use gyre_core::SharedFactory;
/// use gyre_core::interfaces::ReactorTcp;
/// use gyre_endpoints::TcpClientEndpoint;
/// use gyre_protocols::portforward::PortForwardFactory;
/// use gyre_testing::MemoryReactor;
///
/// let reactor = MemoryReactor::new();
/// let destination = TcpClientEndpoint::new(reactor.clone(), "192.0.2.7:25".parse().unwrap());
/// let factory = SharedFactory::new(PortForwardFactory::new(Rc::new(destination)));
/// reactor.listen_tcp("127.0.0.1:0".parse().unwrap(), factory, 50).unwrap();
///
/// // A client connects: the forwarder dials the destination and holds the client's bytes.
/// let mut client = reactor.tcp_servers()[0].port.accept("127.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
/// client.data_received(b"EHLO me\r\n");
/// assert_eq!(reactor.tcp_clients()[0].addr, "192.0.2.7:25".parse().unwrap());
/// let server = reactor.connect_tcp_client(0).unwrap();
/// assert_eq!(server.value(), b"EHLO me\r\n");
/// ```
pub struct PortForwardFactory {
    endpoint: Rc<dyn ClientEndpoint>,
    config: RelayConfig,
}

impl PortForwardFactory {
    /// Forwards to wherever `endpoint` connects.
    pub fn new(endpoint: Rc<dyn ClientEndpoint>) -> Self {
        PortForwardFactory {
            endpoint,
            config: RelayConfig::default(),
        }
    }

    /// Changes the relay settings.
    pub fn with_config(mut self, config: RelayConfig) -> Self {
        self.config = config;
        self
    }
}

impl Factory for PortForwardFactory {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(ForwardProtocol {
            endpoint: self.endpoint.clone(),
            config: self.config,
            relay: None,
        }))
    }
}

/// One forwarded connection: the inbound side of a [`Relay`].
struct ForwardProtocol {
    endpoint: Rc<dyn ClientEndpoint>,
    config: RelayConfig,
    relay: Option<Relay>,
}

impl Protocol for ForwardProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        let relay = Relay::new(transport, self.config);
        self.relay = Some(relay.clone());
        relay.connect(&*self.endpoint);
    }

    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        if let Some(relay) = &self.relay {
            relay.data_received(data);
        }
    }

    fn read_connection_lost(&mut self, _: &Transport) {
        if let Some(relay) = &self.relay {
            relay.read_connection_lost();
        }
    }

    fn connection_lost(&mut self, _: &Transport, _: Failure) {
        if let Some(relay) = self.relay.take() {
            relay.connection_lost();
        }
    }
}
