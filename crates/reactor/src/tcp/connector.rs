//! Outgoing TCP connections: the [`Dialer`] for the shared stream connector
//! (`stream_connector.rs`), which does the waiting, the timeout, the typed
//! failures and the factory's notifications.
//!
//! Options are set on the socket before `connect` (`TCP_NODELAY`,
//! keepalive, the local address to bind), so the first segment already has
//! them.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use gyre_core::SharedClientFactory;
use gyre_core::address::Address;
use gyre_core::connector::Connector;
use socket2::TcpKeepalive;

use super::{ConnectOptions, new_socket};
use crate::reactor::Reactor;
use crate::stream_connector::{self, Dialer};

struct TcpDialer {
    destination: SocketAddr,
    options: ConnectOptions,
}

pub(super) fn connect(
    reactor: &Reactor,
    destination: SocketAddr,
    factory: SharedClientFactory,
    options: ConnectOptions,
) -> Connector {
    stream_connector::connect(reactor, TcpDialer { destination, options }, factory)
}

impl Dialer for TcpDialer {
    type Stream = mio::net::TcpStream;

    fn dial(&self) -> io::Result<mio::net::TcpStream> {
        let socket = new_socket(self.destination)?;
        if self.options.nodelay {
            socket.set_tcp_nodelay(true)?;
        }
        if let Some(idle) = self.options.keepalive {
            socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
        }
        if let Some(local) = self.options.bind_address {
            socket.bind(&local.into())?;
        }
        match socket.connect(&self.destination.into()) {
            Ok(()) => {}
            Err(error) if error.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
            Err(error) => return Err(error),
        }
        Ok(mio::net::TcpStream::from_std(socket.into()))
    }

    /// Connected once the peer address is known; before that the event was
    /// spurious.
    fn is_connected(&self, stream: &mio::net::TcpStream) -> io::Result<bool> {
        match stream.peer_addr() {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(error) => Err(error),
        }
    }

    fn addresses(&self, stream: &mio::net::TcpStream) -> (Address, Address) {
        let host = stream
            .local_addr()
            .unwrap_or_else(|_| unspecified(self.destination));
        let peer = stream.peer_addr().unwrap_or(self.destination);
        (Address::tcp(host), Address::tcp(peer))
    }

    fn destination(&self) -> Address {
        Address::tcp(self.destination)
    }

    fn timeout(&self) -> Duration {
        self.options.timeout
    }
}

fn unspecified(destination: SocketAddr) -> SocketAddr {
    match destination {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    }
}
