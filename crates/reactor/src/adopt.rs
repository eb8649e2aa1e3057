//! Adopting sockets opened elsewhere: a listening socket or a connected
//! stream socket, TCP or Unix, handed over as an [`OwnedFd`].
//!
//! This is what systemd socket activation (and any supervisor that binds
//! for its children) builds on: the listener arrives as an inherited file
//! descriptor. The socket is checked (a stream socket, listening or not as
//! asked, of a family gyre knows), then made non-blocking and
//! close-on-exec. `O_NONBLOCK` belongs to the open file description, so a
//! process sharing the same description (a parent that kept a copy) sees
//! it too. An adopted Unix listener leaves its socket file alone when it
//! stops: whoever bound it owns it.
//!
//! ```
//! use std::os::fd::OwnedFd;
//! use gyre_core::prelude::*;
//! use gyre_reactor::Reactor;
//!
//! struct Quiet;
//! impl Protocol for Quiet {
//!     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
//! }
//!
//! let reactor = Reactor::new().unwrap();
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! let address = listener.local_addr().unwrap();
//! let port = reactor.adopt_listener(OwnedFd::from(listener), protocol_factory(|_| Quiet)).unwrap();
//! assert_eq!(port.host().socket_addr(), Some(address));
//! ```

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use gyre_core::address::Address;
use gyre_core::connector::ListeningPort;
use gyre_core::{Failure, Protocol, SharedFactory, Transport};
use rustix::io::FdFlags;
use rustix::net::{AddressFamily, SocketType};

use crate::Reactor;
use crate::stream::{StreamConnection, StreamSocket};
use crate::stream_port;
use crate::tcp::TcpAcceptor;
use crate::unix::{UnixAcceptor, UnixSocket, unix_address};

enum Family {
    Ip,
    Unix,
}

impl Reactor {
    /// Takes ownership of a descriptor this process inherited by number
    /// (the sockets a service manager passes for socket activation, from
    /// fd 3 up), at most once per process, for [`adopt_listener`](Self::adopt_listener)
    /// or [`adopt_connection`](Self::adopt_connection). The caller asserts
    /// that nothing else in the process owns `fd`.
    pub fn take_inherited_fd(&self, fd: std::os::fd::RawFd) -> std::io::Result<std::os::fd::OwnedFd> {
        crate::sys::inherited::take_inherited(fd)
    }

    /// Serves connections on an already listening stream socket (TCP or
    /// Unix) with `factory`. Accepted TCP connections get the options of
    /// `ListenOptions::default()` (`TCP_NODELAY`), as on ports opened with
    /// `listen_tcp`.
    pub fn adopt_listener(
        &self,
        fd: OwnedFd,
        factory: impl Into<SharedFactory>,
    ) -> Result<ListeningPort, Failure> {
        let factory = factory.into();
        let adopted = match prepare(&fd, true) {
            Ok(Family::Ip) => TcpAcceptor::adopted(mio::net::TcpListener::from_std(fd.into()))
                .and_then(|acceptor| stream_port::listen(self, acceptor, factory)),
            Ok(Family::Unix) => UnixAcceptor::adopted(mio::net::UnixListener::from_std(fd.into()))
                .and_then(|acceptor| stream_port::listen(self, acceptor, factory)),
            Err(error) => Err(error),
        };
        adopted.map_err(|error| Failure::new(error).context("adopting a listening socket"))
    }

    /// Runs `protocol` on an already connected stream socket (TCP or Unix).
    /// `connection_made` runs before this returns, as with Twisted's
    /// `adoptStreamConnection`.
    pub fn adopt_connection(&self, fd: OwnedFd, protocol: Box<dyn Protocol>) -> Result<Transport, Failure> {
        let adopted = match prepare(&fd, false) {
            Ok(Family::Ip) => {
                let stream = mio::net::TcpStream::from_std(fd.into());
                let host = stream.local_addr().map(Address::tcp);
                let peer = stream.peer_addr().map(Address::tcp);
                start(self, stream, protocol, host, peer)
            }
            Ok(Family::Unix) => {
                let stream = mio::net::UnixStream::from_std(fd.into());
                let host = stream
                    .local_addr()
                    .map(|address| Address::Unix(unix_address(&address)));
                let peer = stream
                    .peer_addr()
                    .map(|address| Address::Unix(unix_address(&address)));
                start(self, UnixSocket::new(stream), protocol, host, peer)
            }
            Err(error) => Err(error),
        };
        adopted.map_err(|error| Failure::new(error).context("adopting a connected socket"))
    }
}

fn start<S: StreamSocket>(
    reactor: &Reactor,
    socket: S,
    protocol: Box<dyn Protocol>,
    host: io::Result<Address>,
    peer: io::Result<Address>,
) -> io::Result<Transport> {
    let connection = StreamConnection::start(reactor, socket, protocol, host?, peer?, None)?;
    Ok(Transport::new(connection))
}

/// Checks that `fd` is a stream socket that is (or is not) listening, and
/// makes it non-blocking and close-on-exec.
fn prepare(fd: &OwnedFd, listening: bool) -> io::Result<Family> {
    let invalid = |message: &'static str| io::Error::new(io::ErrorKind::InvalidInput, message);
    if rustix::net::sockopt::socket_type(fd)? != SocketType::STREAM {
        return Err(invalid("not a stream socket"));
    }
    match (listening, rustix::net::sockopt::socket_acceptconn(fd)?) {
        (true, false) => return Err(invalid("the socket is not listening")),
        (false, true) => return Err(invalid("the socket is listening, not connected")),
        _ => {}
    }
    let family = match rustix::net::getsockname(fd)?.address_family() {
        AddressFamily::INET | AddressFamily::INET6 => Family::Ip,
        AddressFamily::UNIX => Family::Unix,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "only TCP and Unix sockets can be adopted",
            ));
        }
    };
    rustix::io::ioctl_fionbio(fd, true)?;
    let flags = rustix::io::fcntl_getfd(fd.as_fd())?;
    rustix::io::fcntl_setfd(fd, flags | FdFlags::CLOEXEC)?;
    Ok(family)
}
