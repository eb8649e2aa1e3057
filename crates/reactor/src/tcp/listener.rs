//! Listening TCP ports: the socket set-up (`SO_REUSEADDR`, optional
//! `SO_REUSEPORT` and `IPV6_V6ONLY`, the backlog) and the [`Acceptor`] for
//! the shared accept loop (`stream_port.rs`), which sets `TCP_NODELAY` and
//! keepalive on each accepted connection.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use gyre_core::address::Address;
use gyre_core::connector::ListeningPort;
use gyre_core::errors::CannotListen;
use gyre_core::{Failure, SharedFactory};
use socket2::{SockRef, TcpKeepalive};

use super::{ListenOptions, new_socket};
use crate::reactor::Reactor;
use crate::stream_port::{self, Acceptor};

pub(crate) struct TcpAcceptor {
    listener: mio::net::TcpListener,
    host: SocketAddr,
    nodelay: bool,
    keepalive: Option<Duration>,
}

impl TcpAcceptor {
    /// A listener opened elsewhere (`Reactor::adopt_listener`), with the
    /// defaults of `ListenOptions` for the connections it accepts.
    pub(crate) fn adopted(listener: mio::net::TcpListener) -> io::Result<TcpAcceptor> {
        let defaults = ListenOptions::default();
        let host = listener.local_addr()?;
        Ok(TcpAcceptor {
            listener,
            host,
            nodelay: defaults.nodelay,
            keepalive: defaults.keepalive,
        })
    }
}

pub(super) fn listen(
    reactor: &Reactor,
    addr: SocketAddr,
    factory: SharedFactory,
    options: ListenOptions,
) -> Result<ListeningPort, Failure> {
    let cannot_listen = |error: io::Error| Failure::new(CannotListen::new(Address::tcp(addr), error));
    let acceptor = bind(addr, &options).map_err(cannot_listen)?;
    stream_port::listen(reactor, acceptor, factory).map_err(cannot_listen)
}

fn bind(addr: SocketAddr, options: &ListenOptions) -> io::Result<TcpAcceptor> {
    let socket = new_socket(addr)?;
    socket.set_reuse_address(true)?;
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() && options.ipv6_only {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(options.backlog.min(i32::MAX as u32) as i32)?;
    let listener = mio::net::TcpListener::from_std(socket.into());
    let host = listener.local_addr()?;
    Ok(TcpAcceptor {
        listener,
        host,
        nodelay: options.nodelay,
        keepalive: options.keepalive,
    })
}

impl Acceptor for TcpAcceptor {
    type Stream = mio::net::TcpStream;
    type Io = mio::net::TcpListener;

    fn io(&mut self) -> &mut Self::Io {
        &mut self.listener
    }

    fn accept(&self) -> io::Result<(mio::net::TcpStream, Address, Address)> {
        let (stream, peer) = self.listener.accept()?;
        // Failing to set an option does not fail the connection.
        if self.nodelay
            && let Err(error) = stream.set_nodelay(true)
        {
            tracing::debug!(target: "gyre::reactor", %error, "TCP_NODELAY");
        }
        if let Some(idle) = self.keepalive
            && let Err(error) = SockRef::from(&stream).set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))
        {
            tracing::debug!(target: "gyre::reactor", %error, "SO_KEEPALIVE");
        }
        // A port bound to the wildcard address answers on a concrete one.
        let host = if self.host.ip().is_unspecified() {
            stream.local_addr().unwrap_or(self.host)
        } else {
            self.host
        };
        Ok((stream, Address::tcp(host), Address::tcp(peer)))
    }

    fn host(&self) -> Address {
        Address::tcp(self.host)
    }
}
