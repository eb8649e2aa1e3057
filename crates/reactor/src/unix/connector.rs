//! Outgoing Unix stream connections: the [`Dialer`] for the shared
//! connector.
//!
//! A non-blocking `connect` to a Unix socket completes at once or fails at
//! once; when the listener's queue is full Linux answers `EAGAIN` and keeps
//! nothing pending, so the connector dials again shortly until the timeout,
//! as a blocking `connect` would wait.

use std::io;
use std::time::Duration;

use gyre_core::address::{Address, UnixAddress};
use socket2::{Domain, Socket, Type};

use super::address::{from_std, to_sockaddr};
use super::socket::UnixSocket;
use crate::stream_connector::Dialer;

pub(super) struct UnixDialer {
    pub(super) address: UnixAddress,
    pub(super) timeout: Duration,
}

impl Dialer for UnixDialer {
    type Stream = UnixSocket;

    fn dial(&self) -> io::Result<UnixSocket> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None)?;
        match rustix::net::connect(&socket, &to_sockaddr(&self.address)?) {
            Ok(()) | Err(rustix::io::Errno::INPROGRESS) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(UnixSocket::new(mio::net::UnixStream::from_std(socket.into())))
    }

    fn is_connected(&self, socket: &UnixSocket) -> io::Result<bool> {
        match socket.stream().peer_addr() {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(error) => Err(error),
        }
    }

    fn addresses(&self, socket: &UnixSocket) -> (Address, Address) {
        let host = socket
            .stream()
            .local_addr()
            .map(|a| from_std(&a))
            .unwrap_or(UnixAddress::Unnamed);
        let peer = socket
            .stream()
            .peer_addr()
            .map(|a| from_std(&a))
            .unwrap_or_else(|_| self.address.clone());
        (Address::Unix(host), Address::Unix(peer))
    }

    fn destination(&self) -> Address {
        Address::Unix(self.address.clone())
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }
}
