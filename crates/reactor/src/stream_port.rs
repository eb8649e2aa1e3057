//! A listening stream port, whatever the socket family: accepts
//! connections and starts a protocol on each.
//!
//! TCP, Unix and adopted listeners differ only in how a connection is
//! accepted and what the port does when it closes (a Unix port removes its
//! socket file); an [`Acceptor`] supplies that, and [`StreamPort`] does the
//! rest: the accept loop, fairness, out-of-descriptor back-off, and the
//! factory's start/stop accounting.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::{Rc, Weak};
use std::time::Duration;

use gyre_core::address::Address;
use gyre_core::clock::ClockExt;
use gyre_core::connector::{ListeningPort, ListeningPortBackend};
use gyre_core::deferred::succeed;
use gyre_core::{Deferred, Resolver, SharedFactory};
use mio::{Interest, Token};

use crate::reactor::{Reactor, WeakReactor};
use crate::sources::{Readiness, Source};
use crate::stream::{StreamConnection, StreamSocket};

/// Connections accepted per readiness event before yielding to other work.
const MAX_ACCEPTS_PER_EVENT: usize = 256;
/// How long to wait before accepting again after running out of file descriptors.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// What a kind of listening socket provides to [`StreamPort`].
pub(crate) trait Acceptor: 'static {
    /// The connected sockets it accepts.
    type Stream: StreamSocket;
    /// The mio source registered with the poller.
    type Io: mio::event::Source;

    /// The socket to register.
    fn io(&mut self) -> &mut Self::Io;

    /// Accepts one connection: the stream, our address on it, and the peer's.
    fn accept(&self) -> io::Result<(Self::Stream, Address, Address)>;

    /// The address the port listens on.
    fn host(&self) -> Address;

    /// The port stopped listening and the socket is about to be closed
    /// (a Unix port removes its socket file here).
    fn closed(&mut self) {}
}

/// Registers `acceptor` and starts accepting with `factory`.
pub(crate) fn listen<A: Acceptor>(
    reactor: &Reactor,
    mut acceptor: A,
    factory: SharedFactory,
) -> io::Result<ListeningPort> {
    let host = acceptor.host();
    let port = Rc::new_cyclic(|me| StreamPort {
        me: me.clone(),
        reactor: reactor.downgrade(),
        acceptor: RefCell::new(None),
        token: Cell::new(None),
        factory: factory.clone(),
        host,
        accept_scheduled: Cell::new(false),
        factory_stopped: Cell::new(false),
        stop_waiters: RefCell::default(),
    });
    let token = reactor.register(acceptor.io(), port.clone(), Interest::READABLE)?;
    port.token.set(Some(token));
    *port.acceptor.borrow_mut() = Some(acceptor);
    factory.do_start();
    Ok(ListeningPort::new(port))
}

/// One listening socket and the factory that serves it.
pub(crate) struct StreamPort<A: Acceptor> {
    me: Weak<Self>,
    reactor: WeakReactor,
    acceptor: RefCell<Option<A>>,
    token: Cell<Option<Token>>,
    factory: SharedFactory,
    host: Address,
    accept_scheduled: Cell<bool>,
    /// `stop_factory` has run (or been queued) for this port.
    factory_stopped: Cell<bool>,
    /// `stop_listening` callers waiting for the factory to be told.
    stop_waiters: RefCell<Vec<Resolver<()>>>,
}

impl<A: Acceptor> StreamPort<A> {
    fn accept(&self) {
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        for _ in 0..MAX_ACCEPTS_PER_EVENT {
            let accepted = match self.acceptor.borrow().as_ref() {
                Some(acceptor) => acceptor.accept(),
                None => return,
            };
            match accepted {
                Ok((stream, host, peer)) => self.start_connection(&reactor, stream, host, peer),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if is_transient_accept_error(&error) => {}
                Err(error) => {
                    // Out of file descriptors or memory: the pending
                    // connection stays queued; try again shortly.
                    tracing::error!(target: "gyre::reactor", %error, port = %self.host, "accept failed");
                    let me = self.me.clone();
                    drop(reactor.call_later(ACCEPT_RETRY_DELAY, move || {
                        if let Some(port) = me.upgrade() {
                            port.accept();
                        }
                    }));
                    return;
                }
            }
        }
        // More may be waiting: continue after other work had its turn.
        if !self.accept_scheduled.replace(true) {
            let me = self.me.clone();
            reactor.call_soon(move || {
                if let Some(port) = me.upgrade() {
                    port.accept_scheduled.set(false);
                    port.accept();
                }
            });
        }
    }

    fn start_connection(&self, reactor: &Reactor, stream: A::Stream, host: Address, peer: Address) {
        let Some(protocol) = self.factory.build_protocol(&peer) else {
            return; // refused by the factory: dropping the stream closes it
        };
        if let Err(error) = StreamConnection::start(reactor, stream, protocol, host, peer, None) {
            tracing::error!(target: "gyre::reactor", %error, "could not register an accepted connection");
        }
    }

    /// Closes the socket (idempotent): nothing more is accepted.
    fn close_socket(&self) {
        let Some(mut acceptor) = self.acceptor.borrow_mut().take() else {
            return;
        };
        if let (Some(reactor), Some(token)) = (self.reactor.upgrade(), self.token.take()) {
            reactor.deregister(acceptor.io(), token);
        }
        acceptor.closed();
    }

    /// Tells the factory this port stopped (once) and fires the waiting
    /// `stop_listening` Deferreds.
    fn stop_factory(&self) {
        if !self.factory_stopped.replace(true) {
            self.factory.do_stop();
        }
        let waiters = std::mem::take(&mut *self.stop_waiters.borrow_mut());
        for waiter in waiters {
            waiter.callback(());
        }
    }
}

/// Errors about one connection that died before we accepted it; the
/// listener itself is fine.
fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::PermissionDenied
    ) || error.raw_os_error() == Some(rustix::io::Errno::PROTO.raw_os_error())
}

impl<A: Acceptor> Source for StreamPort<A> {
    fn ready(self: Rc<Self>, readiness: Readiness) {
        if readiness.readable {
            self.accept();
        }
    }

    /// Called by the loop itself, so the factory can be told at once.
    fn shutdown(self: Rc<Self>) {
        self.close_socket();
        self.stop_factory();
    }
}

impl<A: Acceptor> ListeningPortBackend for StreamPort<A> {
    /// Closes the socket at once; `stop_factory` runs, and the Deferred
    /// fires, at the end of the turn: the caller may be the factory itself
    /// (a server that stops accepting from `build_protocol`), which is
    /// borrowed until it returns.
    fn stop_listening(&self) -> Deferred<()> {
        if self.factory_stopped.get() && self.acceptor.borrow().is_none() {
            return succeed(());
        }
        let (stopped, resolver) = Deferred::new();
        self.stop_waiters.borrow_mut().push(resolver);
        self.close_socket();
        match self.reactor.upgrade() {
            Some(reactor) => {
                let me = self.me.upgrade().expect("a port is alive while its handle is");
                reactor.call_soon(move || me.stop_factory());
            }
            None => self.stop_factory(),
        }
        stopped
    }

    fn host(&self) -> Address {
        self.host.clone()
    }
}
