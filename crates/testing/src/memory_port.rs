//! [`MemoryPort`]: the listening port [`MemoryReactor`](crate::MemoryReactor)
//! hands out, and the records of `listen_tcp` and `listen_unix` calls.

use std::cell::Cell;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;

use gyre_core::address::{Address, UnixAddress};
use gyre_core::connector::{ListeningPort, ListeningPortBackend};
use gyre_core::deferred::{Deferred, succeed};
use gyre_core::{Protocol, SharedFactory};

use crate::disconnection::StringTransportWithDisconnection;
use crate::string_transport::StringTransport;

/// A protocol running on a [`StringTransport`], as the in-memory reactor
/// builds them for accepted and outgoing connections. The protocol is boxed
/// because factories build `Box<dyn Protocol>`.
pub type MemoryConnection = StringTransportWithDisconnection<Box<dyn Protocol>>;

/// A listening port that accepts connections only when the test asks.
/// Clones share the port.
#[derive(Clone)]
pub struct MemoryPort {
    shared: Rc<PortShared>,
}

struct PortShared {
    host: Address,
    factory: SharedFactory,
    listening: Cell<bool>,
}

impl MemoryPort {
    /// Starts listening: the factory is started (`do_start`), as a real
    /// port starts it before accepting anything.
    pub(crate) fn start(host: Address, factory: SharedFactory) -> Self {
        factory.do_start();
        MemoryPort {
            shared: Rc::new(PortShared {
                host,
                factory,
                listening: Cell::new(true),
            }),
        }
    }

    /// A handle to this port, like the one `listen_*` returned.
    pub fn handle(&self) -> ListeningPort {
        ListeningPort::new(self.shared.clone())
    }

    /// The address it listens on, with the fake port filled in when port 0
    /// was asked for.
    pub fn host(&self) -> Address {
        self.shared.host.clone()
    }

    /// Whether `stop_listening` has not been called.
    pub fn is_listening(&self) -> bool {
        self.shared.listening.get()
    }

    /// Simulates a connection from `peer`: the factory builds a protocol
    /// for it, which is connected to a [`StringTransport`] (host: this
    /// port's address, peer: `peer`) and given `connection_made`. `None`
    /// when the factory refused the connection.
    ///
    /// # Panics
    /// When the port has stopped listening: nothing can connect to it.
    #[track_caller]
    pub fn accept(&self, peer: Address) -> Option<MemoryConnection> {
        assert!(
            self.is_listening(),
            "MemoryPort::accept on {}: the port has stopped listening",
            self.shared.host
        );
        let protocol = self.shared.factory.build_protocol(&peer)?;
        let transport = StringTransport::with_addresses(self.host(), peer);
        Some(StringTransportWithDisconnection::with_transport(
            protocol, transport,
        ))
    }
}

impl ListeningPortBackend for PortShared {
    /// Stops the factory once (`do_stop`); the returned Deferred has already
    /// fired, as there is no socket to wait for.
    fn stop_listening(&self) -> Deferred<()> {
        if self.listening.replace(false) {
            self.factory.do_stop();
        }
        succeed(())
    }

    fn host(&self) -> Address {
        self.host.clone()
    }
}

impl fmt::Debug for MemoryPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryPort")
            .field("host", &self.shared.host)
            .field("listening", &self.is_listening())
            .finish()
    }
}

/// A recorded `listen_tcp` call.
#[derive(Clone)]
pub struct TcpServer {
    /// The address asked for (port 0 stays 0 here; see `port.host()`).
    pub addr: SocketAddr,
    /// The factory given.
    pub factory: SharedFactory,
    /// The listen queue length given.
    pub backlog: u32,
    /// Whether it was `listen_tcp_reuse_port` (a port shared by workers).
    pub reuse_port: bool,
    /// The port returned.
    pub port: MemoryPort,
}

/// A recorded `listen_unix` call.
#[derive(Clone)]
pub struct UnixServer {
    /// The socket address asked for.
    pub address: UnixAddress,
    /// The factory given.
    pub factory: SharedFactory,
    /// The listen queue length given.
    pub backlog: u32,
    /// The file permissions asked for.
    pub mode: Option<u32>,
    /// The port returned.
    pub port: MemoryPort,
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_core::errors::ConnectionDone;
    use gyre_core::transport::Transport;
    use gyre_core::{Factory, Failure, protocol_factory};
    use std::cell::RefCell;

    /// Writes its peer's address on connect; logs its end.
    struct Greeter {
        log: Rc<RefCell<Vec<String>>>,
    }

    impl Protocol for Greeter {
        fn connection_made(&mut self, transport: &Transport) {
            transport.write(format!("hello {}", transport.peer()).as_bytes());
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
        fn connection_lost(&mut self, _: &Transport, reason: Failure) {
            self.log
                .borrow_mut()
                .push(format!("lost done={}", reason.is::<ConnectionDone>()));
        }
    }

    fn address(text: &str) -> Address {
        Address::tcp(text.parse().unwrap())
    }

    #[test]
    fn accept_builds_a_connected_protocol_from_the_factory() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let factory_log = log.clone();
        let factory = SharedFactory::new(protocol_factory(move |_peer: &Address| Greeter {
            log: factory_log.clone(),
        }));
        let port = MemoryPort::start(address("127.0.0.1:40000"), factory.clone());
        assert_eq!(factory.ports(), 1);
        let mut conn = port
            .accept(address("192.0.2.7:5555"))
            .expect("the factory accepts");
        assert_eq!(conn.value(), b"hello tcp:192.0.2.7:5555");
        assert_eq!(conn.handle().host(), address("127.0.0.1:40000"));
        conn.peer_closed();
        assert_eq!(*log.borrow(), ["lost done=true"]);
    }

    #[test]
    fn a_refusing_factory_yields_no_connection() {
        struct Refuse;
        impl Factory for Refuse {
            fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
                None
            }
        }
        let port = MemoryPort::start(address("127.0.0.1:1"), SharedFactory::new(Refuse));
        assert!(port.accept(address("127.0.0.1:2")).is_none());
    }

    #[test]
    fn stop_listening_stops_the_factory_once() {
        let factory = SharedFactory::new(protocol_factory(|_: &Address| Greeter { log: Rc::default() }));
        let port = MemoryPort::start(address("127.0.0.1:1"), factory.clone());
        let handle = port.handle();
        drop(handle.stop_listening());
        drop(handle.stop_listening());
        assert!(!port.is_listening());
        assert_eq!(
            factory.ports(),
            0,
            "do_stop ran exactly once (a second would panic)"
        );
        assert_eq!(handle.host(), port.host());
    }

    #[test]
    #[should_panic(expected = "the port has stopped listening")]
    fn accepting_on_a_stopped_port_is_a_test_bug() {
        let factory = SharedFactory::new(protocol_factory(|_: &Address| Greeter { log: Rc::default() }));
        let port = MemoryPort::start(address("127.0.0.1:1"), factory);
        drop(port.handle().stop_listening());
        port.accept(address("127.0.0.1:2"));
    }
}
