//! [`MemoryConnector`]: the outgoing connection attempt
//! [`MemoryReactor`](crate::MemoryReactor) hands out, and the records of
//! `connect_tcp` and `connect_unix` calls.
//!
//! An attempt stays `Connecting` until the test decides how it goes:
//! [`complete`](MemoryConnector::complete) connects the factory's protocol
//! to a [`StringTransport`], [`fail`](MemoryConnector::fail) reports a
//! failure. The factory hears about it as it would from the reactor:
//! `do_start` before the first attempt, `started_connecting` for each,
//! `client_connection_failed` / `client_connection_lost`, and `do_stop` once
//! it stops retrying. Timeouts are not simulated; a test fails the attempt
//! with `TimedOut` when it wants one.
//!
//! Factory notifications are queued and delivered one at a time, so a
//! reconnecting factory may call `connector.connect()` from inside
//! `client_connection_failed` without re-entering itself: its
//! `started_connecting` follows once the current callback has returned.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::time::Duration;

use gyre_core::address::{Address, UnixAddress};
use gyre_core::connector::{Connector, ConnectorBackend, ConnectorState};
use gyre_core::errors::{Cancelled, ConnectionDone};
use gyre_core::{Failure, SharedClientFactory};

use crate::disconnection::{LostHook, StringTransportWithDisconnection};
use crate::memory_port::MemoryConnection;
use crate::string_transport::StringTransport;

/// An outgoing connection attempt steered by the test. Clones share it.
#[derive(Clone)]
pub struct MemoryConnector {
    shared: Rc<ConnectorShared>,
}

/// Something the factory is to be told, in order.
enum Notice {
    Start,
    StartedConnecting,
    Failed(Failure),
    Lost(Failure),
}

struct ConnectorShared {
    me: Weak<ConnectorShared>,
    destination: Address,
    local: Address,
    factory: SharedClientFactory,
    state: Cell<ConnectorState>,
    factory_started: Cell<bool>,
    attempts: Cell<usize>,
    connect_calls: Cell<usize>,
    stop_connecting_calls: Cell<usize>,
    disconnect_calls: Cell<usize>,
    transport: RefCell<Option<StringTransport>>,
    notices: RefCell<VecDeque<Notice>>,
    notifying: Cell<bool>,
}

impl ConnectorShared {
    fn connector(&self) -> Connector {
        Connector::new(self.me.upgrade().expect("a connector in use is alive"))
    }

    fn begin_attempt(&self) {
        self.state.set(ConnectorState::Connecting);
        self.attempts.set(self.attempts.get() + 1);
        if !self.factory_started.replace(true) {
            self.notices.borrow_mut().push_back(Notice::Start);
        }
        self.notify(Notice::StartedConnecting);
    }

    fn attempt_failed(&self, reason: Failure) {
        self.state.set(ConnectorState::Disconnected);
        self.notify(Notice::Failed(reason));
    }

    fn connection_lost(&self, reason: Failure) {
        self.state.set(ConnectorState::Disconnected);
        self.transport.borrow_mut().take();
        self.notify(Notice::Lost(reason));
    }

    /// Queues `notice` and, unless a notification is already being
    /// delivered further up the stack, delivers the queue.
    fn notify(&self, notice: Notice) {
        self.notices.borrow_mut().push_back(notice);
        if self.notifying.replace(true) {
            return;
        }
        loop {
            let next = self.notices.borrow_mut().pop_front();
            let Some(notice) = next else { break };
            match notice {
                Notice::Start => self.factory.do_start(),
                Notice::StartedConnecting => self.factory.started_connecting(&self.connector()),
                Notice::Failed(reason) => {
                    self.factory.client_connection_failed(&self.connector(), reason);
                    self.stop_factory_if_idle();
                }
                Notice::Lost(reason) => {
                    self.factory.client_connection_lost(&self.connector(), reason);
                    self.stop_factory_if_idle();
                }
            }
        }
        self.notifying.set(false);
    }

    /// The factory did not reconnect from its callback: it is done.
    fn stop_factory_if_idle(&self) {
        if self.state.get() == ConnectorState::Disconnected && self.factory_started.replace(false) {
            self.factory.do_stop();
        }
    }
}

impl ConnectorBackend for ConnectorShared {
    /// Starts a new attempt when disconnected; counted but otherwise
    /// ignored while connecting or connected.
    fn connect(&self) {
        self.connect_calls.set(self.connect_calls.get() + 1);
        if self.state.get() == ConnectorState::Disconnected {
            self.begin_attempt();
        }
    }

    fn stop_connecting(&self) {
        self.stop_connecting_calls
            .set(self.stop_connecting_calls.get() + 1);
        if self.state.get() == ConnectorState::Connecting {
            self.attempt_failed(Failure::new(Cancelled::new()));
        }
    }

    /// Stops connecting, or asks the connection to close; the
    /// [`MemoryConnection`] delivers `connection_lost` on its next delivery
    /// or [`settle`](StringTransportWithDisconnection::settle).
    fn disconnect(&self) {
        self.disconnect_calls.set(self.disconnect_calls.get() + 1);
        match self.state.get() {
            ConnectorState::Connecting => self.attempt_failed(Failure::new(Cancelled::new())),
            ConnectorState::Connected => {
                let transport = self.transport.borrow().clone();
                if let Some(transport) = transport {
                    transport.handle().lose_connection();
                }
            }
            ConnectorState::Disconnected => {}
        }
    }

    fn destination(&self) -> Address {
        self.destination.clone()
    }

    fn state(&self) -> ConnectorState {
        self.state.get()
    }
}

impl MemoryConnector {
    /// Makes the first attempt: the factory is started and told
    /// `started_connecting`.
    pub(crate) fn start(destination: Address, local: Address, factory: SharedClientFactory) -> Self {
        let shared = Rc::new_cyclic(|me| ConnectorShared {
            me: me.clone(),
            destination,
            local,
            factory,
            state: Cell::new(ConnectorState::Disconnected),
            factory_started: Cell::new(false),
            attempts: Cell::new(0),
            connect_calls: Cell::new(0),
            stop_connecting_calls: Cell::new(0),
            disconnect_calls: Cell::new(0),
            transport: RefCell::new(None),
            notices: RefCell::default(),
            notifying: Cell::new(false),
        });
        shared.begin_attempt();
        MemoryConnector { shared }
    }

    /// A handle to this connector, like the one `connect_*` returned.
    pub fn handle(&self) -> Connector {
        self.shared.connector()
    }

    /// Connects the attempt under way: the factory builds a protocol for
    /// the destination, which runs on a [`StringTransport`] (host: the local
    /// address, peer: the destination) and gets `connection_made`. When the
    /// connection ends, the factory hears `client_connection_lost`.
    ///
    /// Returns `None` when the factory built no protocol; the connection is
    /// then closed at once and the factory hears `client_connection_lost`
    /// with `ConnectionDone`, as from the reactor.
    ///
    /// # Panics
    /// When no attempt is under way.
    #[track_caller]
    pub fn complete(&self) -> Option<MemoryConnection> {
        let shared = &self.shared;
        assert_eq!(
            shared.state.get(),
            ConnectorState::Connecting,
            "MemoryConnector::complete to {}: no connection attempt is under way",
            shared.destination
        );
        let Some(protocol) = shared.factory.build_protocol(&shared.destination) else {
            shared.connection_lost(Failure::new(ConnectionDone::new()));
            return None;
        };
        shared.state.set(ConnectorState::Connected);
        let transport = StringTransport::with_addresses(shared.local.clone(), shared.destination.clone());
        *shared.transport.borrow_mut() = Some(transport.clone());
        let me = Rc::downgrade(shared);
        let on_lost: LostHook = Box::new(move |reason: &Failure| {
            if let Some(shared) = me.upgrade() {
                shared.connection_lost(reason.clone());
            }
        });
        Some(StringTransportWithDisconnection::connect(
            protocol,
            transport,
            Some(on_lost),
        ))
    }

    /// Fails the attempt under way with `reason` (`ConnectionRefused`,
    /// `TimedOut`, ...): the factory hears `client_connection_failed`.
    ///
    /// # Panics
    /// When no attempt is under way.
    #[track_caller]
    pub fn fail(&self, reason: Failure) {
        assert_eq!(
            self.shared.state.get(),
            ConnectorState::Connecting,
            "MemoryConnector::fail to {}: no connection attempt is under way",
            self.shared.destination
        );
        self.shared.attempt_failed(reason);
    }

    /// Where it connects to.
    pub fn destination(&self) -> Address {
        self.shared.destination.clone()
    }

    /// The address the client's transport reports as its host.
    pub fn local_address(&self) -> Address {
        self.shared.local.clone()
    }

    /// Its state.
    pub fn state(&self) -> ConnectorState {
        self.shared.state.get()
    }

    /// Attempts started, including the first one made by `connect_*`.
    pub fn attempts(&self) -> usize {
        self.shared.attempts.get()
    }

    /// Calls to `Connector::connect` (retries asked for by the code under test).
    pub fn connect_calls(&self) -> usize {
        self.shared.connect_calls.get()
    }

    /// Calls to `Connector::stop_connecting`.
    pub fn stop_connecting_calls(&self) -> usize {
        self.shared.stop_connecting_calls.get()
    }

    /// Calls to `Connector::disconnect`.
    pub fn disconnect_calls(&self) -> usize {
        self.shared.disconnect_calls.get()
    }
}

impl fmt::Debug for MemoryConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryConnector")
            .field("destination", &self.shared.destination)
            .field("state", &self.state())
            .field("attempts", &self.attempts())
            .finish()
    }
}

/// A recorded `connect_tcp` call.
#[derive(Clone)]
pub struct TcpClient {
    /// The address to connect to.
    pub addr: SocketAddr,
    /// The factory given.
    pub factory: SharedClientFactory,
    /// The connect timeout given (not enforced; see [`MemoryConnector::fail`]).
    pub timeout: Duration,
    /// The local address to bind, if one was given.
    pub bind_address: Option<SocketAddr>,
    /// The connector returned.
    pub connector: MemoryConnector,
}

/// A recorded `connect_unix` call.
#[derive(Clone)]
pub struct UnixClient {
    /// The socket to connect to.
    pub address: UnixAddress,
    /// The factory given.
    pub factory: SharedClientFactory,
    /// The connect timeout given (not enforced; see [`MemoryConnector::fail`]).
    pub timeout: Duration,
    /// The connector returned.
    pub connector: MemoryConnector,
}

#[cfg(test)]
#[path = "memory_connector_tests.rs"]
mod tests;
