//! [`Socks5ClientEndpoint`]: a `ClientEndpoint` that reaches its target
//! through a SOCKS5 proxy, itself reached through any `ClientEndpoint`.
//!
//! The endpoint connects to the proxy with a negotiating protocol that
//! drives a [`ClientHandshake`]; only when the proxy reports the target
//! connected does it build the caller's protocol and call its
//! `connection_made`, on a transport that reports the target as its peer
//! ([`Transport::peer`]) and otherwise is the proxy connection. Bytes that
//! came with the proxy's reply are delivered right after, in order. The
//! Deferred fails with a [`SocksClientError`] (carrying the proxy's reply
//! code when it refused) or with the proxy connection's own failure;
//! cancelling it abandons the proxy connection attempt or aborts the
//! negotiation.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::deferred::Deferred;
use gyre_core::transport::ConnectionState;
use gyre_core::{Address, Factory, Failure, Protocol, Resolver, SharedFactory, Transport};
use gyre_endpoints::errors::NoProtocol;
use gyre_endpoints::{ClientEndpoint, Connection};

use crate::policies::{Policy, Wrapped};

use super::client_proto::{ClientEvent, ClientHandshake, SocksClientError};
use super::wire::TargetAddr;
use super::wire::v5::PasswordAuth;

/// Connects to `target` through the SOCKS5 proxy that `proxy` connects to.
/// Host names are sent to the proxy to resolve ("socks5h").
///
/// ```
/// use std::rc::Rc;
/// use gyre_endpoints::TcpClientEndpoint;
/// use gyre_protocols::socks::Socks5ClientEndpoint;
/// use gyre_protocols::socks::wire::TargetAddr;
/// use gyre_testing::MemoryReactor;
///
/// let reactor = MemoryReactor::new();
/// let proxy = TcpClientEndpoint::new(reactor, "127.0.0.1:1080".parse().unwrap());
/// let endpoint = Socks5ClientEndpoint::new(Rc::new(proxy), TargetAddr::domain("example.com", 443).unwrap())
///     .with_credentials("alice", "secret");
/// # let _ = endpoint;
/// ```
pub struct Socks5ClientEndpoint {
    proxy: Rc<dyn ClientEndpoint>,
    target: TargetAddr,
    credentials: Option<PasswordAuth>,
}

impl Socks5ClientEndpoint {
    /// An endpoint for `target` through the proxy `proxy` reaches.
    pub fn new(proxy: Rc<dyn ClientEndpoint>, target: TargetAddr) -> Self {
        Socks5ClientEndpoint {
            proxy,
            target,
            credentials: None,
        }
    }

    /// Offers username/password authentication (RFC 1929) too.
    pub fn with_credentials(mut self, username: impl Into<Vec<u8>>, password: impl Into<Vec<u8>>) -> Self {
        self.credentials = Some(PasswordAuth {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// The target the proxy is asked to connect to.
    pub fn target(&self) -> &TargetAddr {
        &self.target
    }
}

/// One connect call's state, shared by the Deferred's canceller, the
/// proxy connection attempt and the negotiating protocol.
#[derive(Default)]
struct Attempt {
    resolver: RefCell<Option<Resolver<Connection>>>,
    proxy_attempt: RefCell<Option<Deferred<()>>>,
    transport: RefCell<Option<Transport>>,
}

impl Attempt {
    /// Fires the caller's Deferred once.
    fn settle(&self, result: Result<Connection, Failure>) -> bool {
        let resolver = self.resolver.borrow_mut().take();
        match resolver {
            Some(resolver) if !resolver.is_fired() => {
                resolver.fire(result);
                true
            }
            _ => false,
        }
    }

    fn cancel(&self) {
        self.resolver.borrow_mut().take();
        let proxy_attempt = self.proxy_attempt.borrow_mut().take();
        if let Some(proxy_attempt) = proxy_attempt {
            proxy_attempt.cancel();
        }
        let transport = self.transport.borrow_mut().take();
        if let Some(transport) = transport {
            transport.abort_connection();
        }
    }
}

impl ClientEndpoint for Socks5ClientEndpoint {
    fn connect(&self, factory: SharedFactory) -> Deferred<Connection> {
        let handshake = match ClientHandshake::new(self.target.clone(), self.credentials.clone()) {
            Ok(handshake) => handshake,
            Err(error) => return Deferred::fail(SocksClientError::Malformed(error)),
        };
        let attempt = Rc::new(Attempt::default());
        let cancel = attempt.clone();
        let (deferred, resolver) = Deferred::with_canceller(move |_| cancel.cancel());
        *attempt.resolver.borrow_mut() = Some(resolver);
        let negotiating = SharedFactory::new(NegotiatingFactory {
            negotiator: Some(Negotiator {
                handshake,
                target: self.target.to_address(),
                factory: factory.clone(),
                attempt: attempt.clone(),
                app: None,
            }),
            factory,
        });
        let weak = Rc::downgrade(&attempt);
        let proxy_attempt = self.proxy.connect(negotiating).then(move |result| {
            if let Some(attempt) = weak.upgrade() {
                attempt.proxy_attempt.borrow_mut().take();
                if let Err(failure) = result {
                    attempt.settle(Err(failure.context("connecting to the SOCKS proxy")));
                }
            }
            Ok::<(), Failure>(())
        });
        if !proxy_attempt.is_fired() {
            *attempt.proxy_attempt.borrow_mut() = Some(proxy_attempt);
        }
        deferred
    }
}

/// Builds the negotiating protocol once; starts and stops the caller's
/// factory with it.
struct NegotiatingFactory {
    negotiator: Option<Negotiator>,
    factory: SharedFactory,
}

impl Factory for NegotiatingFactory {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        self.negotiator
            .take()
            .map(|negotiator| Box::new(negotiator) as Box<dyn Protocol>)
    }
    fn start_factory(&mut self) {
        self.factory.do_start();
    }
    fn stop_factory(&mut self) {
        self.factory.do_stop();
    }
}

/// The protocol on the proxy connection: negotiates, then passes every
/// callback to the caller's protocol, wrapped so its transport's peer is
/// the target ([`TargetPeer`]).
struct Negotiator {
    handshake: ClientHandshake,
    target: Address,
    factory: SharedFactory,
    attempt: Rc<Attempt>,
    app: Option<Wrapped<TargetPeer>>,
}

impl Negotiator {
    fn send(&mut self, transport: &Transport) {
        if let Some(bytes) = self.handshake.poll_transmit() {
            transport.write(&bytes);
        }
    }

    fn outcome(&mut self, transport: &Transport) {
        match self.handshake.poll_event() {
            None => {}
            Some(ClientEvent::Failed(error)) => {
                self.attempt.settle(Err(Failure::new(error)));
                transport.lose_connection();
            }
            Some(ClientEvent::Established { leftover, .. }) => self.established(transport, &leftover),
        }
    }

    fn established(&mut self, transport: &Transport, leftover: &[u8]) {
        self.attempt.transport.borrow_mut().take();
        let Some(app) = self.factory.build_protocol(&self.target) else {
            self.attempt.settle(Err(Failure::new(NoProtocol::new())));
            transport.lose_connection();
            return;
        };
        let mut app = Wrapped::new(TargetPeer(self.target.clone()), app);
        app.connection_made(transport);
        let proxied = app.transport().expect("connected above").clone();
        if !self.attempt.settle(Ok(Connection::new(proxied))) {
            // Cancelled while the protocol was being connected.
            transport.abort_connection();
        }
        if !leftover.is_empty() && transport.state() == ConnectionState::Open {
            app.data_received(transport, leftover);
        }
        self.app = Some(app);
    }
}

impl Protocol for Negotiator {
    fn connection_made(&mut self, transport: &Transport) {
        if self.attempt.resolver.borrow().is_none() {
            transport.abort_connection(); // cancelled meanwhile
            return;
        }
        *self.attempt.transport.borrow_mut() = Some(transport.clone());
        self.send(transport);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if let Some(app) = &mut self.app {
            return app.data_received(transport, data);
        }
        self.handshake.handle_input(data);
        self.send(transport);
        self.outcome(transport);
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        match &mut self.app {
            Some(app) => app.read_connection_lost(transport),
            None => transport.lose_connection(),
        }
    }

    fn write_connection_lost(&mut self, transport: &Transport) {
        if let Some(app) = &mut self.app {
            app.write_connection_lost(transport);
        }
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        self.attempt.transport.borrow_mut().take();
        match &mut self.app {
            Some(app) => app.connection_lost(transport, reason),
            None => {
                self.handshake.connection_closed();
                if let Some(ClientEvent::Failed(error)) = self.handshake.poll_event() {
                    let failure =
                        Failure::new(error).context(format!("the proxy connection ended: {reason}"));
                    self.attempt.settle(Err(failure));
                }
            }
        }
    }
}

/// The proxy connection as the caller's protocol sees it: the peer is the
/// target, everything else is the connection to the proxy.
struct TargetPeer(Address);

impl Policy for TargetPeer {
    fn peer(&self, _below: &Transport) -> Address {
        self.0.clone()
    }

    fn kind(&self, _below: &Transport) -> &'static str {
        "socks5"
    }
}
