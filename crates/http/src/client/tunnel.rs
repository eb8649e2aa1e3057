//! HTTPS through an HTTP proxy: a `CONNECT host:port` exchange with the
//! proxy (on the sans-IO [`ClientConnection`]), then the connection is
//! handed to the real protocol — TLS to the origin, verified against the
//! origin's name, with HTTP inside.
//!
//! [`connect_tunnel`] works over any way of reaching the proxy, so the
//! in-memory tests and [`EndpointConnector`](crate::client::EndpointConnector)
//! share it. The connection Deferred fires only once the tunnel is up
//! and the inner protocol has been started; a refusal fails it with
//! [`ClientError::ProxyRefused`] carrying the proxy's status.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::{Address, Deferred, Failure, Protocol, Resolver, SharedFactory, Transport};
use gyre_endpoints::Connection;
use gyre_endpoints::endpoint::ProtocolWrapper;

use crate::client::error::ClientError;
use crate::client::url::Origin;
use crate::proto::{ClientConnection, ClientEvent};
use crate::{HeaderMap, Method, RequestHead};

enum State {
    /// Waiting for the proxy's answer to CONNECT.
    Asking(Box<ClientConnection>, Option<Box<dyn Protocol>>),
    /// The tunnel is up: everything goes to the inner protocol.
    Open(Box<dyn Protocol>),
    Failed,
}

/// The protocol that asks a proxy for a tunnel and then runs `inner` in it.
pub struct TunnelProtocol {
    state: State,
    ready: Resolver<()>,
    transport: Rc<RefCell<Option<Transport>>>,
}

impl TunnelProtocol {
    /// Asks for a tunnel to `authority` (`host:port`), then runs `inner`;
    /// `ready` fires when the tunnel is up, or fails.
    pub fn new(authority: &str, inner: Box<dyn Protocol>, ready: Resolver<()>) -> Result<Self, ClientError> {
        let invalid = |error: &dyn std::fmt::Display| ClientError::InvalidRequest(error.to_string());
        let mut head = RequestHead::new(Method::CONNECT, authority).map_err(|e| invalid(&e))?;
        head.headers.append("Host", authority).map_err(|e| invalid(&e))?;
        let mut conn = ClientConnection::default();
        conn.send_request(head).map_err(|e| invalid(&e))?;
        conn.send_end(&HeaderMap::new()).map_err(|e| invalid(&e))?;
        Ok(TunnelProtocol {
            state: State::Asking(Box::new(conn), Some(inner)),
            ready,
            transport: Rc::default(),
        })
    }

    fn fail(&mut self, transport: &Transport, error: ClientError) {
        self.state = State::Failed;
        if !self.ready.is_fired() {
            self.ready.errback(error);
        }
        transport.abort_connection();
    }
}

impl Protocol for TunnelProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        *self.transport.borrow_mut() = Some(transport.clone());
        if let State::Asking(conn, _) = &mut self.state {
            let mut out = Vec::new();
            conn.take_transmit(&mut out);
            transport.write(&out);
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        let State::Asking(conn, inner) = &mut self.state else {
            if let State::Open(inner) = &mut self.state {
                inner.data_received(transport, data);
            }
            return;
        };
        conn.handle_input(data);
        let status = loop {
            match conn.poll_event() {
                None => return,
                Some(ClientEvent::Response(head)) => break Ok(head.status),
                Some(ClientEvent::Error(error)) => break Err(ClientError::Protocol(error)),
                Some(ClientEvent::Closed) => break Err(ClientError::ConnectionLost("proxy closed".into())),
                Some(_) => {}
            }
        };
        match status {
            Ok(status) if status.is_success() => {
                let rest = conn.take_upgraded().unwrap_or_default();
                let mut inner = inner.take().expect("the inner protocol waits for the tunnel");
                if self.ready.is_fired() {
                    // Cancelled meanwhile.
                    self.state = State::Failed;
                    transport.abort_connection();
                    return;
                }
                inner.connection_made(transport);
                if !rest.is_empty() {
                    inner.data_received(transport, &rest);
                }
                self.state = State::Open(inner);
                self.ready.callback(());
            }
            Ok(status) => self.fail(transport, ClientError::ProxyRefused(status.as_u16())),
            Err(error) => self.fail(transport, error),
        }
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Open(mut inner) => inner.connection_lost(transport, reason),
            _ => {
                if !self.ready.is_fired() {
                    self.ready
                        .errback(ClientError::ConnectionLost(format!("proxy connection: {reason}")));
                }
            }
        }
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        if let State::Open(inner) = &mut self.state {
            inner.read_connection_lost(transport);
        }
    }

    fn write_connection_lost(&mut self, transport: &Transport) {
        if let State::Open(inner) = &mut self.state {
            inner.write_connection_lost(transport);
        }
    }
}

/// Opens a tunnel to `target` through a proxy reached by `connect`, then
/// runs the protocol of `factory` inside it, wrapped by `wrap` (TLS).
pub fn connect_tunnel(
    connect: impl FnOnce(SharedFactory) -> Deferred<Connection>,
    target: &Origin,
    wrap: Option<ProtocolWrapper>,
    factory: SharedFactory,
) -> Deferred<Connection> {
    let authority = format!("{}:{}", target.host, target.port);
    let (ready, ready_resolver) = Deferred::<()>::new();
    let transport: Rc<RefCell<Option<Transport>>> = Rc::default();
    let shared = transport.clone();
    let setup: Rc<RefCell<Option<Failure>>> = Rc::default();
    let setup_failure = setup.clone();
    let mut once = Some((factory, wrap, ready_resolver));
    let tunnel_factory = SharedFactory::new(gyre_core::protocol_factory(move |peer: &Address| {
        let (factory, wrap, resolver) = once.take().expect("one protocol per tunnel");
        let built = factory
            .build_protocol(peer)
            .ok_or_else(|| Failure::msg("the factory refused the connection"))
            .and_then(|protocol| match &wrap {
                Some(wrap) => wrap(protocol),
                None => Ok(protocol),
            })
            .and_then(|inner| TunnelProtocol::new(&authority, inner, resolver.clone()).map_err(Failure::new));
        match built {
            Ok(mut tunnel) => {
                // Shared, so that cancelling can abort the connection.
                tunnel.transport = shared.clone();
                Box::new(tunnel) as Box<dyn Protocol>
            }
            Err(failure) => {
                *setup_failure.borrow_mut() = Some(failure.clone());
                resolver.errback(failure);
                Box::new(Refused) as Box<dyn Protocol>
            }
        }
    }));
    let abort = transport.clone();
    connect(tunnel_factory).and_then(move |connection| {
        let (waiting, resolver) = Deferred::with_canceller(move |_| {
            if let Some(transport) = abort.borrow().clone() {
                transport.abort_connection();
            }
        });
        ready.then(move |result| match result {
            Ok(()) => resolver.callback(connection),
            Err(failure) => {
                if !resolver.is_fired() {
                    resolver.errback(setup.borrow_mut().take().unwrap_or(failure));
                }
            }
        });
        waiting
    })
}

/// Closes a connection whose protocol could not be built.
struct Refused;

impl Protocol for Refused {
    fn connection_made(&mut self, transport: &Transport) {
        transport.abort_connection();
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}
