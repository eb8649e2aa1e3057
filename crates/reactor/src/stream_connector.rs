//! Outgoing stream connections, whatever the socket family: [`Connector`]
//! with retries, timeouts and typed failures.
//!
//! A [`Dialer`] opens a socket and starts a non-blocking connect (TCP and
//! Unix differ only there); the connector here waits for the outcome and
//! starts the protocol.
//!
//! The factory is told everything on a later turn (`call_soon`), never from
//! inside the call that caused it, because factories call
//! `connector.connect()` from their own callbacks to retry.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::{Rc, Weak};
use std::time::Duration;

use gyre_core::address::Address;
use gyre_core::clock::{ClockExt, DelayedCall};
use gyre_core::connector::{Connector, ConnectorBackend, ConnectorState};
use gyre_core::errors::{Cancelled, ConnectionRefused, TimedOut};
use gyre_core::transport::Transport;
use gyre_core::{Failure, SharedClientFactory};
use mio::{Interest, Token};

use crate::reactor::{Reactor, WeakReactor};
use crate::sources::{Readiness, Source};
use crate::stream::{StreamConnection, StreamSocket};

/// First pause before dialing again when the listener's queue is full.
const FIRST_REDIAL_DELAY: Duration = Duration::from_millis(2);
/// Longest pause between such attempts.
const MAX_REDIAL_DELAY: Duration = Duration::from_millis(100);

/// What a kind of socket provides to the connector.
pub(crate) trait Dialer: 'static {
    /// The connected socket.
    type Stream: StreamSocket;

    /// Opens a socket and starts a non-blocking connect. `WouldBlock` means
    /// the listener's queue is full and nothing is under way (Unix sockets):
    /// the connector dials again shortly, as a blocking `connect` would wait.
    fn dial(&self) -> io::Result<Self::Stream>;

    /// Whether `stream`, which reported no error, has finished connecting.
    fn is_connected(&self, stream: &Self::Stream) -> io::Result<bool>;

    /// Our address and the peer's on a connected stream.
    fn addresses(&self, stream: &Self::Stream) -> (Address, Address);

    /// Where it connects to.
    fn destination(&self) -> Address;

    /// How long an attempt may take.
    fn timeout(&self) -> Duration;
}

/// Starts connecting with `dialer`; the factory hears how it went.
pub(crate) fn connect<D: Dialer>(reactor: &Reactor, dialer: D, factory: SharedClientFactory) -> Connector {
    let connector = Rc::new_cyclic(|me| StreamConnector {
        me: me.clone(),
        reactor: reactor.downgrade(),
        dialer,
        factory,
        state: Cell::new(ConnectorState::Disconnected),
        attempt: RefCell::new(None),
        connection: RefCell::new(None),
        factory_started: Cell::new(false),
        queued_news: Cell::new(0),
    });
    connector.connect();
    Connector::new(connector)
}

struct StreamConnector<D: Dialer> {
    me: Weak<Self>,
    reactor: WeakReactor,
    dialer: D,
    factory: SharedClientFactory,
    state: Cell<ConnectorState>,
    attempt: RefCell<Option<Rc<Attempt<D>>>>,
    connection: RefCell<Option<Transport>>,
    factory_started: Cell<bool>,
    /// Notifications queued for the factory and not yet delivered.
    queued_news: Cell<usize>,
}

/// One connection attempt: a socket waiting for `connect` to complete.
///
/// It holds its connector strongly, and so does a live connection's
/// `on_lost` hook: as in Twisted, a connector at work stays alive (and its
/// factory is told the outcome) even when the caller dropped the handle.
/// The cycles end when the attempt finishes or the connection is lost.
struct Attempt<D: Dialer> {
    me: Weak<Self>,
    connector: RefCell<Option<Rc<StreamConnector<D>>>>,
    socket: RefCell<Option<D::Stream>>,
    token: Cell<Option<Token>>,
    timeout: RefCell<Option<DelayedCall>>,
    redial: RefCell<Option<DelayedCall>>,
    redial_delay: Cell<Duration>,
}

impl<D: Dialer> StreamConnector<D> {
    fn handle(&self) -> Connector {
        Connector::new(self.me.upgrade().expect("connector alive"))
    }

    /// Runs `f` with the factory on a later turn.
    fn tell_factory(&self, f: impl FnOnce(&SharedClientFactory, &Connector) + 'static) {
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        // Strong: the factory must hear the news even if nobody else holds
        // the connector any more.
        let connector = self.me.upgrade().expect("connector alive");
        self.queued_news.set(self.queued_news.get() + 1);
        reactor.call_soon(move || {
            connector.queued_news.set(connector.queued_news.get() - 1);
            f(&connector.factory, &connector.handle());
            connector.stop_factory_if_idle();
        });
    }

    /// Twisted stops a client factory when its connector is left
    /// disconnected after a failure or a lost connection: after the factory
    /// heard the last news (an attempt that fails at once queues
    /// `started_connecting` and the failure together).
    fn stop_factory_if_idle(&self) {
        if self.state.get() == ConnectorState::Disconnected
            && self.queued_news.get() == 0
            && self.factory_started.replace(false)
        {
            self.factory.do_stop();
        }
    }

    fn attempt_failed(&self, reason: Failure) {
        self.attempt.borrow_mut().take();
        self.state.set(ConnectorState::Disconnected);
        self.tell_factory(move |factory, connector| factory.client_connection_failed(connector, reason));
    }

    fn connected(&self, reactor: &Reactor, stream: D::Stream) {
        self.attempt.borrow_mut().take();
        let (host, peer) = self.dialer.addresses(&stream);
        let Some(protocol) = self.factory.build_protocol(&peer) else {
            self.state.set(ConnectorState::Disconnected);
            let reason = Failure::msg("the client factory built no protocol");
            self.tell_factory(move |factory, connector| factory.client_connection_failed(connector, reason));
            return;
        };
        self.state.set(ConnectorState::Connected);
        let me = self.me.upgrade().expect("connector alive");
        let on_lost = Box::new(move |reason: &Failure| me.connection_lost(reason.clone()));
        match StreamConnection::open(reactor, stream, protocol, host, peer, Some(on_lost)) {
            Ok(connection) => {
                // Recorded before `connection_made`, so that a protocol calling
                // `connector.disconnect()` from there finds its connection.
                *self.connection.borrow_mut() = Some(Transport::new(connection.clone()));
                connection.made();
            }
            Err(error) => self.attempt_failed(Failure::new(error).context("registering the connection")),
        }
    }

    fn connection_lost(&self, reason: Failure) {
        self.connection.borrow_mut().take();
        self.state.set(ConnectorState::Disconnected);
        self.tell_factory(move |factory, connector| factory.client_connection_lost(connector, reason));
    }
}

/// Maps an OS error from `connect` to the framework's typed failures.
fn connect_failure(error: io::Error) -> Failure {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => Failure::new(ConnectionRefused::new()).context(error.to_string()),
        io::ErrorKind::TimedOut => Failure::new(TimedOut::new()).context(error.to_string()),
        _ => Failure::new(error).context("connecting"),
    }
}

/// What an attempt leaves when it ends: its socket (none while waiting to
/// dial again) and its connector.
type Finished<D> = (Option<<D as Dialer>::Stream>, Rc<StreamConnector<D>>);

impl<D: Dialer> Attempt<D> {
    fn start(connector: &Rc<StreamConnector<D>>, reactor: &Reactor) -> Rc<Self> {
        let attempt = Rc::new_cyclic(|me| Attempt {
            me: me.clone(),
            connector: RefCell::new(Some(connector.clone())),
            socket: RefCell::new(None),
            token: Cell::new(None),
            timeout: RefCell::new(None),
            redial: RefCell::new(None),
            redial_delay: Cell::new(FIRST_REDIAL_DELAY),
        });
        let weak = attempt.me.clone();
        let limit = connector.dialer.timeout();
        let timer = reactor.call_later(limit, move || {
            if let Some(attempt) = weak.upgrade() {
                attempt.fail(Failure::new(TimedOut::new()).context(format!("connecting for {limit:?}")));
            }
        });
        *attempt.timeout.borrow_mut() = Some(timer);
        attempt
    }

    /// Opens the socket and starts connecting (again, after a full queue).
    fn dial(&self, reactor: &Reactor) {
        let dialed = match self.connector.borrow().as_ref() {
            Some(connector) => connector.dialer.dial(),
            None => return,
        };
        let mut stream = match dialed {
            Ok(stream) => stream,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return self.dial_later(reactor),
            Err(error) => return self.fail(connect_failure(error)),
        };
        let me = self.me.upgrade().expect("attempt alive");
        match reactor.register(&mut stream, me, Interest::READABLE | Interest::WRITABLE) {
            Ok(token) => {
                self.token.set(Some(token));
                *self.socket.borrow_mut() = Some(stream);
            }
            Err(error) => self.fail(Failure::new(error).context("registering the socket")),
        }
    }

    fn dial_later(&self, reactor: &Reactor) {
        let delay = self.redial_delay.get();
        self.redial_delay.set((delay * 2).min(MAX_REDIAL_DELAY));
        let me = self.me.clone();
        let timer = reactor.call_later(delay, move || {
            if let Some(attempt) = me.upgrade()
                && let Some(reactor) = attempt.reactor()
            {
                attempt.dial(&reactor);
            }
        });
        *self.redial.borrow_mut() = Some(timer);
    }

    fn reactor(&self) -> Option<Reactor> {
        self.connector
            .borrow()
            .as_ref()
            .and_then(|connector| connector.reactor.upgrade())
    }

    /// Ends the attempt (idempotent): returns its socket, still open, and
    /// its connector.
    fn finish(&self) -> Option<Finished<D>> {
        for timer in [self.timeout.borrow_mut().take(), self.redial.borrow_mut().take()]
            .into_iter()
            .flatten()
        {
            timer.cancel();
        }
        let connector = self.connector.borrow_mut().take()?;
        let mut socket = self.socket.borrow_mut().take();
        if let (Some(socket), Some(reactor), Some(token)) =
            (socket.as_mut(), connector.reactor.upgrade(), self.token.take())
        {
            reactor.deregister(socket, token);
        }
        Some((socket, connector))
    }

    fn fail(&self, reason: Failure) {
        if let Some((_socket, connector)) = self.finish() {
            connector.attempt_failed(reason);
        }
    }

    /// What the readiness says: connected, still connecting, or failed.
    fn outcome(&self, readiness: Readiness) -> io::Result<bool> {
        let socket = self.socket.borrow();
        let connector = self.connector.borrow();
        let (Some(socket), Some(connector)) = (socket.as_ref(), connector.as_ref()) else {
            return Ok(false);
        };
        match socket.take_error() {
            Ok(Some(error)) | Err(error) => Err(error),
            Ok(None) if readiness.error || readiness.write_closed => {
                Err(io::Error::from(io::ErrorKind::ConnectionRefused))
            }
            // Connected once the peer address is known; otherwise the
            // event was spurious.
            Ok(None) => connector.dialer.is_connected(socket),
        }
    }
}

impl<D: Dialer> Source for Attempt<D> {
    fn ready(self: Rc<Self>, readiness: Readiness) {
        match self.outcome(readiness) {
            Ok(false) => {}
            Ok(true) => {
                let Some((Some(stream), connector)) = self.finish() else {
                    return;
                };
                if let Some(reactor) = connector.reactor.upgrade() {
                    connector.connected(&reactor, stream);
                }
            }
            Err(error) => self.fail(connect_failure(error)),
        }
    }

    fn shutdown(self: Rc<Self>) {
        self.fail(Failure::new(Cancelled::new()).context("the reactor shut down"));
    }
}

impl<D: Dialer> ConnectorBackend for StreamConnector<D> {
    fn connect(&self) {
        if self.state.get() != ConnectorState::Disconnected {
            return;
        }
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        self.state.set(ConnectorState::Connecting);
        if !self.factory_started.replace(true) {
            self.factory.do_start();
        }
        self.tell_factory(|factory, connector| factory.started_connecting(connector));
        let attempt = Attempt::start(&self.me.upgrade().expect("connector alive"), &reactor);
        *self.attempt.borrow_mut() = Some(attempt.clone());
        attempt.dial(&reactor);
    }

    fn stop_connecting(&self) {
        let attempt = self.attempt.borrow().clone();
        if let Some(attempt) = attempt {
            attempt.fail(Failure::new(Cancelled::new()).context("stop_connecting was called"));
        }
    }

    fn disconnect(&self) {
        match self.state.get() {
            ConnectorState::Connecting => self.stop_connecting(),
            ConnectorState::Connected => {
                let connection = self.connection.borrow().clone();
                if let Some(transport) = connection {
                    transport.lose_connection();
                }
            }
            ConnectorState::Disconnected => {}
        }
    }

    fn destination(&self) -> Address {
        self.dialer.destination()
    }

    fn state(&self) -> ConnectorState {
        self.state.get()
    }
}
