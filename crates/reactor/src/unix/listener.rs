//! Listening Unix stream sockets: binding (with stale socket file handling,
//! the optional lock file and the file mode) and accepting.

use std::io;

use gyre_core::address::{Address, UnixAddress};
use gyre_core::connector::ListeningPort;
use gyre_core::errors::CannotListen;
use gyre_core::{Failure, SharedFactory};
use socket2::{Domain, Socket, Type};

use super::UnixListenOptions;
use super::address::{from_std, to_sockaddr};
use super::socket::UnixSocket;
use super::socket_file::{Lockfile, SocketFile, clear_stale, set_mode};
use crate::reactor::Reactor;
use crate::stream_port::{self, Acceptor};

/// A listening Unix socket and what it owns in the file system.
pub(crate) struct UnixAcceptor {
    listener: mio::net::UnixListener,
    host: UnixAddress,
    /// The socket file we created, removed when the port closes.
    file: Option<SocketFile>,
    lock: Option<Lockfile>,
}

impl UnixAcceptor {
    /// A listener opened elsewhere (adopted): its socket file, if any,
    /// belongs to whoever bound it and is left alone.
    pub(crate) fn adopted(listener: mio::net::UnixListener) -> io::Result<UnixAcceptor> {
        let host = from_std(&listener.local_addr()?);
        Ok(UnixAcceptor {
            listener,
            host,
            file: None,
            lock: None,
        })
    }
}

impl Acceptor for UnixAcceptor {
    type Stream = UnixSocket;
    type Io = mio::net::UnixListener;

    fn io(&mut self) -> &mut Self::Io {
        &mut self.listener
    }

    fn accept(&self) -> io::Result<(UnixSocket, Address, Address)> {
        let (stream, peer) = self.listener.accept()?;
        Ok((
            UnixSocket::new(stream),
            Address::Unix(self.host.clone()),
            Address::Unix(from_std(&peer)),
        ))
    }

    fn host(&self) -> Address {
        Address::Unix(self.host.clone())
    }

    fn closed(&mut self) {
        // The socket file goes first, while the lock still guards the path.
        self.file.take();
        self.lock.take();
    }
}

pub(super) fn listen(
    reactor: &Reactor,
    address: UnixAddress,
    factory: SharedFactory,
    options: UnixListenOptions,
) -> Result<ListeningPort, Failure> {
    let acceptor = bind(&address, &options)
        .map_err(|error| Failure::new(CannotListen::new(Address::Unix(address.clone()), error)))?;
    stream_port::listen(reactor, acceptor, factory)
        .map_err(|error| Failure::new(CannotListen::new(Address::Unix(address), error)))
}

fn bind(address: &UnixAddress, options: &UnixListenOptions) -> io::Result<UnixAcceptor> {
    let sockaddr = to_sockaddr(address)?;
    let path = match address {
        UnixAddress::Path(path) => Some(path.as_path()),
        _ => None,
    };
    let lock = match path {
        Some(path) if options.lockfile => Some(Lockfile::acquire(path)?),
        _ => None,
    };
    if let Some(path) = path {
        clear_stale(path, Type::STREAM)?;
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None)?;
    rustix::net::bind(&socket, &sockaddr)?;
    // From here on the file is ours: it is removed again if a later step fails.
    let file = path.map(SocketFile::bound).transpose()?;
    if let (Some(path), Some(mode)) = (path, options.mode) {
        set_mode(path, mode)?;
    }
    socket.listen(options.backlog.min(i32::MAX as u32) as i32)?;
    let listener = mio::net::UnixListener::from_std(socket.into());
    Ok(UnixAcceptor {
        listener,
        host: address.clone(),
        file,
        lock,
    })
}
