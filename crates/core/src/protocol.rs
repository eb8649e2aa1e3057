//! [`Protocol`], [`Factory`] and [`ClientFactory`]: the code a user writes.
//!
//! A protocol handles one connection. It is built by a factory when the
//! connection is made and receives every event with the connection's
//! [`Transport`], so it never needs an `Option<Transport>` filled in later;
//! it clones the handle if it wants to keep it (a chat server keeping every
//! client's transport).
//!
//! Factories are shared by every listening port they serve and every
//! connection they build. The [`SharedFactory`] and [`SharedClientFactory`]
//! handles count the ports using a factory so that `start_factory` runs when
//! the first port starts and `stop_factory` when the last one stops, as in
//! Twisted.

use std::cell::{Cell, RefCell};
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::rc::Rc;

use crate::address::Address;
use crate::connector::Connector;
use crate::failure::Failure;
use crate::transport::Transport;

/// The handler of one stream connection.
///
/// ```
/// use gyre_core::{Failure, Protocol, Transport};
///
/// /// Echoes every byte back (RFC 862).
/// struct Echo;
///
/// impl Protocol for Echo {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         transport.write(data);
///     }
/// }
///
/// let string = gyre_testing::StringTransport::new();
/// let mut echo = Echo;
/// echo.connection_made(&string.handle());
/// echo.data_received(&string.handle(), b"ping");
/// assert_eq!(string.value(), b"ping");
/// ```
pub trait Protocol: 'static {
    /// The connection is up. Called once, before any data.
    fn connection_made(&mut self, transport: &Transport) {
        let _ = transport;
    }

    /// Bytes arrived. They may be any part of what the peer sent: a message
    /// split across calls or several messages in one call.
    fn data_received(&mut self, transport: &Transport, data: &[u8]);

    /// The connection ended. `reason` is `ConnectionDone` for a clean close
    /// and `ConnectionLost`, `ConnectionAborted` or another failure otherwise.
    /// Called exactly once, last.
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        let _ = (transport, reason);
    }

    /// The peer closed its write side (end of file) while ours stays open.
    /// The default closes the whole connection, after flushing, which is what
    /// a protocol that does not speak half-close wants.
    fn read_connection_lost(&mut self, transport: &Transport) {
        transport.lose_connection();
    }

    /// Our write side was shut down by `lose_write_connection`, after the
    /// buffered data was sent.
    fn write_connection_lost(&mut self, transport: &Transport) {
        let _ = transport;
    }

    /// File descriptors arrived over a Unix socket. Dropping them closes them,
    /// which is what the default does.
    #[cfg(unix)]
    fn file_descriptors_received(&mut self, transport: &Transport, fds: Vec<OwnedFd>) {
        let _ = (transport, fds);
    }
}

impl<P: Protocol + ?Sized> Protocol for Box<P> {
    fn connection_made(&mut self, transport: &Transport) {
        (**self).connection_made(transport);
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        (**self).data_received(transport, data);
    }
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        (**self).connection_lost(transport, reason);
    }
    fn read_connection_lost(&mut self, transport: &Transport) {
        (**self).read_connection_lost(transport);
    }
    fn write_connection_lost(&mut self, transport: &Transport) {
        (**self).write_connection_lost(transport);
    }
    #[cfg(unix)]
    fn file_descriptors_received(&mut self, transport: &Transport, fds: Vec<OwnedFd>) {
        (**self).file_descriptors_received(transport, fds);
    }
}

/// Builds a protocol for each incoming connection.
pub trait Factory: 'static {
    /// A protocol for a connection from `peer`, or `None` to refuse it (the
    /// connection is then closed at once).
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>>;

    /// The first port using this factory started listening.
    fn start_factory(&mut self) {}

    /// The last port using this factory stopped listening.
    fn stop_factory(&mut self) {}
}

/// A factory for outgoing connections, told how connection attempts went.
pub trait ClientFactory: Factory {
    /// A connection attempt began.
    fn started_connecting(&mut self, connector: &Connector) {
        let _ = connector;
    }

    /// The attempt failed (refused, timed out, unreachable). `connector.connect()`
    /// retries.
    fn client_connection_failed(&mut self, connector: &Connector, reason: Failure) {
        let _ = (connector, reason);
    }

    /// A connection this factory made has ended. `connector.connect()` reconnects.
    fn client_connection_lost(&mut self, connector: &Connector, reason: Failure) {
        let _ = (connector, reason);
    }
}

/// A factory made from a closure: `protocol_factory(|peer| Echo)`.
pub struct FnFactory<F>(F);

/// Makes a [`Factory`] (and [`ClientFactory`]) from a closure that builds a protocol.
pub fn protocol_factory<F, P>(build: F) -> FnFactory<F>
where
    F: FnMut(&Address) -> P + 'static,
    P: Protocol,
{
    FnFactory(build)
}

impl<F, P> Factory for FnFactory<F>
where
    F: FnMut(&Address) -> P + 'static,
    P: Protocol,
{
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new((self.0)(peer)))
    }
}

impl<F, P> ClientFactory for FnFactory<F>
where
    F: FnMut(&Address) -> P + 'static,
    P: Protocol,
{
}

/// A factory and the number of ports it is started for.
struct Counted<F: ?Sized> {
    ports: Cell<usize>,
    factory: RefCell<F>,
}

impl<F: ?Sized + Factory> Counted<F> {
    fn do_start(&self) {
        let ports = self.ports.get();
        self.ports.set(ports + 1);
        if ports == 0 {
            self.factory.borrow_mut().start_factory();
        }
    }

    fn do_stop(&self) {
        let ports = self.ports.get();
        assert!(ports > 0, "do_stop called more often than do_start");
        self.ports.set(ports - 1);
        if ports == 1 {
            self.factory.borrow_mut().stop_factory();
        }
    }
}

macro_rules! shared_factory {
    ($(#[$meta:meta])* $name:ident, $trait:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name {
            inner: Rc<Counted<dyn $trait>>,
        }

        impl $name {
            /// Shares `factory`.
            pub fn new<F: $trait>(factory: F) -> Self {
                $name {
                    inner: Rc::new(Counted { ports: Cell::new(0), factory: RefCell::new(factory) }),
                }
            }

            /// A port using this factory started: calls `start_factory` if it is the first.
            pub fn do_start(&self) {
                self.inner.do_start();
            }

            /// A port using this factory stopped: calls `stop_factory` if it was the last.
            pub fn do_stop(&self) {
                self.inner.do_stop();
            }

            /// How many ports have started this factory and not stopped it.
            pub fn ports(&self) -> usize {
                self.inner.ports.get()
            }

            /// Builds a protocol for a connection from `peer`.
            pub fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
                self.inner.factory.borrow_mut().build_protocol(peer)
            }

            /// Runs `f` with the factory borrowed mutably.
            pub fn with<R>(&self, f: impl FnOnce(&mut dyn $trait) -> R) -> R {
                f(&mut *self.inner.factory.borrow_mut())
            }

            /// Whether two handles share one factory.
            pub fn ptr_eq(&self, other: &Self) -> bool {
                Rc::ptr_eq(&self.inner, &other.inner)
            }
        }

        impl<F: $trait> From<F> for $name {
            fn from(factory: F) -> Self {
                $name::new(factory)
            }
        }
    };
}

shared_factory!(
    /// A shared, reference-counted handle to a server [`Factory`].
    SharedFactory,
    Factory
);
shared_factory!(
    /// A shared, reference-counted handle to a [`ClientFactory`].
    SharedClientFactory,
    ClientFactory
);

impl SharedClientFactory {
    /// Tells the factory an attempt began.
    pub fn started_connecting(&self, connector: &Connector) {
        self.inner.factory.borrow_mut().started_connecting(connector);
    }

    /// Tells the factory an attempt failed.
    pub fn client_connection_failed(&self, connector: &Connector, reason: Failure) {
        self.inner
            .factory
            .borrow_mut()
            .client_connection_failed(connector, reason);
    }

    /// Tells the factory a connection it made has ended.
    pub fn client_connection_lost(&self, connector: &Connector, reason: Failure) {
        self.inner
            .factory
            .borrow_mut()
            .client_connection_lost(connector, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting {
        log: Rc<RefCell<Vec<&'static str>>>,
    }

    impl Factory for Counting {
        fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
            None
        }
        fn start_factory(&mut self) {
            self.log.borrow_mut().push("start");
        }
        fn stop_factory(&mut self) {
            self.log.borrow_mut().push("stop");
        }
    }

    #[test]
    fn start_and_stop_are_reference_counted_across_ports() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let factory = SharedFactory::new(Counting { log: log.clone() });
        let second_port = factory.clone();
        factory.do_start();
        second_port.do_start();
        assert_eq!(*log.borrow(), ["start"]);
        assert_eq!(factory.ports(), 2);
        factory.do_stop();
        assert_eq!(*log.borrow(), ["start"]);
        second_port.do_stop();
        assert_eq!(*log.borrow(), ["start", "stop"]);
        factory.do_start();
        assert_eq!(*log.borrow(), ["start", "stop", "start"]);
    }

    #[test]
    #[should_panic(expected = "do_stop called more often than do_start")]
    fn unbalanced_stop_is_a_bug() {
        let factory = SharedFactory::new(Counting { log: Rc::default() });
        factory.do_stop();
    }

    #[test]
    fn closure_factory_builds_protocols() {
        struct Nothing;
        impl Protocol for Nothing {
            fn data_received(&mut self, _: &Transport, _: &[u8]) {}
        }
        let factory = SharedClientFactory::new(protocol_factory(|_peer: &Address| Nothing));
        let peer = Address::tcp("127.0.0.1:1".parse().unwrap());
        assert!(factory.build_protocol(&peer).is_some());
    }
}
