//! [`Connector`] and [`ListeningPort`]: handles for an outgoing connection
//! attempt and for a listening socket, implemented by the reactor (and by
//! `MemoryReactor` in tests).

use std::fmt;
use std::rc::Rc;

use crate::address::Address;
use crate::deferred::Deferred;

/// Where an outgoing connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorState {
    /// Not connected and not trying.
    Disconnected,
    /// An attempt is under way.
    Connecting,
    /// Connected; a protocol is running.
    Connected,
}

/// What a connector implementation provides.
pub trait ConnectorBackend {
    /// Starts a new attempt (after a failure or a lost connection).
    ///
    /// Factories call this from inside `client_connection_failed` and
    /// `client_connection_lost` to retry, while the shared factory is
    /// borrowed: implementations must not call back into the factory
    /// synchronously (deliver `started_connecting` and any outcome on a
    /// later turn).
    fn connect(&self);
    /// Abandons the attempt under way; the factory is told `client_connection_failed`
    /// with `Cancelled`.
    fn stop_connecting(&self);
    /// Closes the connection if connected, or stops connecting.
    fn disconnect(&self);
    /// Where it connects to.
    fn destination(&self) -> Address;
    /// Its state.
    fn state(&self) -> ConnectorState;
}

/// A handle to an outgoing connection and its retries (Twisted's `IConnector`).
#[derive(Clone)]
pub struct Connector {
    backend: Rc<dyn ConnectorBackend>,
}

impl Connector {
    /// Wraps a backend.
    pub fn new(backend: Rc<dyn ConnectorBackend>) -> Self {
        Connector { backend }
    }

    /// Starts a new attempt.
    pub fn connect(&self) {
        self.backend.connect();
    }

    /// Abandons the attempt under way.
    pub fn stop_connecting(&self) {
        self.backend.stop_connecting();
    }

    /// Closes the connection, or stops connecting.
    pub fn disconnect(&self) {
        self.backend.disconnect();
    }

    /// Where it connects to.
    pub fn destination(&self) -> Address {
        self.backend.destination()
    }

    /// Its state.
    pub fn state(&self) -> ConnectorState {
        self.backend.state()
    }
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("destination", &self.destination())
            .field("state", &self.state())
            .finish()
    }
}

/// What a listening port implementation provides.
pub trait ListeningPortBackend {
    /// Stops accepting. The Deferred fires once the socket is closed and the
    /// factory has been told (`stop_factory` if this was its last port).
    fn stop_listening(&self) -> Deferred<()>;
    /// The address it listens on (with the real port when bound to port 0).
    fn host(&self) -> Address;
}

/// A handle to a listening socket (Twisted's `IListeningPort`).
#[derive(Clone)]
pub struct ListeningPort {
    backend: Rc<dyn ListeningPortBackend>,
}

impl ListeningPort {
    /// Wraps a backend.
    pub fn new(backend: Rc<dyn ListeningPortBackend>) -> Self {
        ListeningPort { backend }
    }

    /// Stops accepting; fires when the port is closed.
    pub fn stop_listening(&self) -> Deferred<()> {
        self.backend.stop_listening()
    }

    /// The address it listens on.
    pub fn host(&self) -> Address {
        self.backend.host()
    }
}

impl fmt::Debug for ListeningPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListeningPort")
            .field("host", &self.host())
            .finish()
    }
}
