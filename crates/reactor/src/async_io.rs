//! Writing clients and servers with `async`/`await` on the reactor.
//!
//! Everything here is built from Deferreds and the reactor's executor
//! ([`Reactor::spawn`]): a Deferred is awaitable, a future becomes a Deferred,
//! and the reactor polls tasks on its own thread, so `!Send` state (`Rc`,
//! `RefCell`) is fine inside them.
//!
//! * [`sleep`] and [`timeout`]: time on the reactor's clock;
//! * [`connect_tcp`]: connect and await an [`AsyncStream`] with `read`,
//!   `read_exact`, `read_line`, `write`, `shutdown_write`, `close`;
//! * [`listen_tcp`]: a server whose every connection is handled by an async
//!   function of its [`AsyncStream`];
//! * [`StreamProtocol`]: the same stream over any other transport.
//!
//! ```
//! use gyre_core::prelude::*;
//! use gyre_reactor::{Reactor, async_io};
//!
//! let reactor = Reactor::new().unwrap();
//! // An echo server, one task per connection.
//! let port = async_io::listen_tcp(&reactor, "127.0.0.1:0".parse().unwrap(), |stream| async move {
//!     while let Some(line) = stream.read_line().await? {
//!         stream.write(&[&line[..], b"\n"].concat()).await?;
//!     }
//!     Ok(())
//! })
//! .unwrap();
//! let address = port.host().socket_addr().unwrap();
//! // A client.
//! let r = reactor.clone();
//! let reply = reactor.spawn(async move {
//!     let stream = async_io::connect_tcp(&r, address).await?;
//!     stream.write(b"hello\n").await?;
//!     let line = stream.read_line().await?;
//!     stream.close().await?;
//!     Ok(line)
//! });
//! assert_eq!(reactor.run_until(reply).unwrap(), Some(b"hello".to_vec()));
//! ```

mod protocol;
mod stream;

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::{Future, IntoFuture, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use gyre_core::connector::{Connector, ListeningPort};
use gyre_core::deferred::defer_later;
use gyre_core::errors::TimedOut;
use gyre_core::{Address, ClientFactory, Deferred, Factory, Failure, Protocol, Resolver, protocol_factory};

pub use protocol::StreamProtocol;
pub use stream::{AsyncStream, DEFAULT_BUFFER_LIMIT};

use crate::{ConnectOptions, ListenOptions, Reactor};

/// A Deferred that fires after `delay` on the reactor's clock; `.await` it
/// to sleep. Cancelling it (or dropping the awaiting future) cancels the timer.
pub fn sleep(reactor: &Reactor, delay: Duration) -> Deferred<()> {
    defer_later(reactor, delay, || Ok(()))
}

/// Runs `future` (or a Deferred) for at most `limit`: its output, or a
/// `TimedOut` failure when the time is up first (the future is dropped then,
/// which cancels a Deferred).
pub async fn timeout<T>(
    reactor: &Reactor,
    limit: Duration,
    future: impl IntoFuture<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let mut future = pin!(future.into_future());
    let mut timer = sleep(reactor, limit).into_future();
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(output);
        }
        match std::pin::Pin::new(&mut timer).poll(cx) {
            Poll::Ready(_) => Poll::Ready(Err(
                Failure::new(TimedOut::new()).context(format!("after {limit:?}"))
            )),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Connects to `address` and fires with the connected stream (or with the
/// connection's failure: `ConnectionRefused`, `TimedOut` after 30 s, …).
/// Cancelling the Deferred stops the attempt.
pub fn connect_tcp(reactor: &Reactor, address: SocketAddr) -> Deferred<AsyncStream> {
    connect_tcp_with(reactor, address, ConnectOptions::default())
}

/// [`connect_tcp`] with options (timeout, bind address, keepalive).
pub fn connect_tcp_with(
    reactor: &Reactor,
    address: SocketAddr,
    options: ConnectOptions,
) -> Deferred<AsyncStream> {
    let connector: Rc<RefCell<Option<Connector>>> = Rc::default();
    let to_cancel = connector.clone();
    let (deferred, resolver) = Deferred::with_canceller(move |_| {
        let connector = to_cancel.borrow_mut().take();
        if let Some(connector) = connector {
            connector.stop_connecting();
        }
    });
    let factory = ConnectFactory {
        resolver,
        connector: connector.clone(),
    };
    let handle = reactor.connect_tcp_with(address, factory, options);
    *connector.borrow_mut() = Some(handle);
    deferred
}

/// Fires the connect Deferred from whichever happens first: the connection
/// or the failure. Forgets the connector then, so that the canceller (which
/// holds it) and the connector (which holds this factory) stop holding each
/// other.
struct ConnectFactory {
    resolver: Resolver<AsyncStream>,
    connector: Rc<RefCell<Option<Connector>>>,
}

impl Factory for ConnectFactory {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let resolver = self.resolver.clone();
        let connector = self.connector.clone();
        Some(Box::new(StreamProtocol::new(move |stream| {
            connector.borrow_mut().take();
            // A cancelled connect drops the stream here, which closes it.
            if !resolver.is_fired() {
                resolver.callback(stream);
            }
        })))
    }
}

impl ClientFactory for ConnectFactory {
    fn client_connection_failed(&mut self, _connector: &Connector, reason: Failure) {
        self.connector.borrow_mut().take();
        if !self.resolver.is_fired() {
            self.resolver.errback(reason);
        }
    }
}

/// Listens on `address` and runs `handler` as a task for every connection.
/// A handler's failure is logged (target `gyre::async_io`) and the
/// connection closed; returning drops (and so closes) the stream too.
pub fn listen_tcp<F, Fut>(
    reactor: &Reactor,
    address: SocketAddr,
    handler: F,
) -> Result<ListeningPort, Failure>
where
    F: Fn(AsyncStream) -> Fut + 'static,
    Fut: Future<Output = Result<(), Failure>> + 'static,
{
    listen_tcp_with(reactor, address, ListenOptions::default(), handler)
}

/// [`listen_tcp`] with options (backlog, `SO_REUSEPORT`, IPv6 only).
pub fn listen_tcp_with<F, Fut>(
    reactor: &Reactor,
    address: SocketAddr,
    options: ListenOptions,
    handler: F,
) -> Result<ListeningPort, Failure>
where
    F: Fn(AsyncStream) -> Fut + 'static,
    Fut: Future<Output = Result<(), Failure>> + 'static,
{
    let handler = Rc::new(handler);
    // Weak: the port (owned by the reactor) holds this factory.
    let weak = reactor.downgrade();
    let factory = protocol_factory(move |_peer| {
        let handler = handler.clone();
        let weak = weak.clone();
        StreamProtocol::new(move |stream| {
            let Some(reactor) = weak.upgrade() else { return };
            let peer = stream.peer().clone();
            drop(reactor.spawn(handler(stream)).or_else(move |failure| {
                tracing::warn!(target: "gyre::async_io", %peer, failure = %failure, "connection handler failed");
                Ok(())
            }));
        })
    });
    reactor.listen_tcp_with(address, factory, options)
}

/// A line was longer than the stream's buffer limit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LineTooLong {
    /// The limit in bytes.
    pub limit: usize,
}

impl LineTooLong {
    /// A line exceeded `limit` bytes.
    pub fn new(limit: usize) -> Self {
        LineTooLong { limit }
    }
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line longer than {} bytes", self.limit)
    }
}

impl Error for LineTooLong {}
