//! Unix datagram sockets: [`Reactor::listen_unix_datagram`] and
//! [`Reactor::connect_unix_datagram`].
//!
//! Addresses are file system paths, Linux abstract names, or unnamed. Binding
//! to [`UnixAddress::Unnamed`] asks the kernel for a unique abstract name
//! (Linux "autobind"), so that peers can answer; `host()` then tells the
//! name. A socket file left behind by a process that died is replaced when
//! nothing is bound to it any more, and the file this socket made is removed
//! when it closes.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use gyre_core::Failure;
use gyre_core::address::{Address, UnixAddress};
use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::errors::CannotListen;
use rustix::fs::Mode;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketFlags, SocketType};
use socket2::SockRef;

use super::port::{DatagramPort, DatagramSocket, connect_failure};
use super::set_buffer_sizes;
use crate::Reactor;
use crate::unix::address::{from_sockaddr, is_same, to_sockaddr};
use crate::unix::socket_file::{SocketFile, clear_stale, set_mode};

/// Options for [`Reactor::listen_unix_datagram_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UnixDatagramOptions {
    /// Permissions of the socket file (for path addresses), for example
    /// `0o660` so only a group may send to it. Default: what the umask gives.
    /// The file never has more permissions than these, not even between
    /// `bind` and setting them (datagram sockets have no `listen` that could
    /// hold senders off meanwhile).
    pub mode: Option<u32>,
    /// `SO_RCVBUF`: bytes of datagrams queued before senders see a full queue.
    pub recv_buffer_size: Option<usize>,
    /// `SO_SNDBUF`: also the largest datagram this socket can send.
    pub send_buffer_size: Option<usize>,
}

impl UnixDatagramOptions {
    /// Sets the socket file's permissions.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Sets `SO_RCVBUF`.
    pub fn recv_buffer_size(mut self, bytes: usize) -> Self {
        self.recv_buffer_size = Some(bytes);
        self
    }

    /// Sets `SO_SNDBUF`.
    pub fn send_buffer_size(mut self, bytes: usize) -> Self {
        self.send_buffer_size = Some(bytes);
        self
    }
}

/// A bound Unix datagram socket.
pub(super) struct UnixDatagramSocket {
    io: mio::net::UnixDatagram,
    /// The socket file this socket created, removed when it closes unless
    /// another socket has replaced it since.
    _file: Option<SocketFile>,
}

impl DatagramSocket for UnixDatagramSocket {
    const KIND: &'static str = "unix-datagram";
    type Io = mio::net::UnixDatagram;

    fn io_mut(&mut self) -> &mut Self::Io {
        &mut self.io
    }

    /// With `MSG_TRUNC` the kernel tells the full length of a datagram
    /// larger than the buffer, so the port can drop it instead of handing
    /// the protocol a truncated one. A sender that is the previous one is
    /// recognised by its bytes, so `from` is kept without allocating.
    fn recv_from(&self, buf: &mut [u8], from: &mut Address) -> io::Result<usize> {
        let (_, len, sender) = rustix::net::recvfrom(self.io.as_fd(), buf, RecvFlags::TRUNC)?;
        let sender = sender.and_then(|sender| SocketAddrUnix::try_from(sender).ok());
        match sender {
            Some(sender) if !is_same(from, &sender) => *from = Address::Unix(from_sockaddr(&sender)),
            Some(_) => {}
            None => *from = Address::Unix(UnixAddress::Unnamed),
        }
        Ok(len)
    }

    fn send_to(&self, data: &[u8], to: &Address) -> io::Result<usize> {
        let to = destination(to)?;
        Ok(rustix::net::sendto(
            self.io.as_fd(),
            data,
            SendFlags::NOSIGNAL,
            &to,
        )?)
    }

    fn send(&self, data: &[u8]) -> io::Result<usize> {
        Ok(rustix::net::send(self.io.as_fd(), data, SendFlags::NOSIGNAL)?)
    }

    fn connect(&self, to: &Address) -> io::Result<()> {
        Ok(rustix::net::connect(self.io.as_fd(), &destination(to)?)?)
    }
}

fn destination(to: &Address) -> io::Result<SocketAddrUnix> {
    match to {
        Address::Unix(UnixAddress::Unnamed) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an unnamed Unix socket cannot be sent to",
        )),
        Address::Unix(address) => to_sockaddr(address),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{other} is not a Unix socket address"),
        )),
    }
}

fn new_socket(options: &UnixDatagramOptions) -> io::Result<OwnedFd> {
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    let socket = SockRef::from(&fd);
    set_buffer_sizes(&socket, options.recv_buffer_size, options.send_buffer_size)?;
    Ok(fd)
}

/// Makes a socket bound to `address` (`Unnamed`: autobind), replacing a
/// stale socket file.
fn bind(address: &UnixAddress, options: &UnixDatagramOptions) -> io::Result<UnixDatagramSocket> {
    let fd = new_socket(options)?;
    let (addr, path) = match address {
        UnixAddress::Unnamed => (SocketAddrUnix::new_unnamed(), None),
        UnixAddress::Path(path) => (to_sockaddr(address)?, Some(path.as_path())),
        UnixAddress::Abstract(_) => (to_sockaddr(address)?, None),
    };
    let mode = path.and(options.mode);
    if let Some(path) = path {
        clear_stale(path, socket2::Type::DGRAM)?;
    }
    if let Some(mode) = mode {
        // Linux creates the socket file with the socket's own permissions
        // less the umask: set them before `bind`, so that no sender can
        // reach the file between `bind` and the `chmod` below. (Renaming a
        // file bound under a temporary name into place would leave that
        // name as the socket's address, the one its peers see.)
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    }
    rustix::net::bind(&fd, &addr)?;
    // From here on the file is ours: it is removed again if a later step fails.
    let file = path.map(SocketFile::bound).transpose()?;
    if let (Some(path), Some(mode)) = (path, mode) {
        // Exactly `mode`: the umask may have taken bits away.
        set_mode(path, mode)?;
    }
    let io = mio::net::UnixDatagram::from_std(std::os::unix::net::UnixDatagram::from(fd));
    Ok(UnixDatagramSocket { io, _file: file })
}

fn bound_address(socket: &UnixDatagramSocket) -> io::Result<UnixAddress> {
    let local = rustix::net::getsockname(socket.io.as_fd())?;
    Ok(SocketAddrUnix::try_from(local).map_or(UnixAddress::Unnamed, |local| from_sockaddr(&local)))
}

impl Reactor {
    /// Binds a Unix datagram socket to `address` (a path, an abstract name,
    /// or `Unnamed` for a kernel-chosen abstract name) and runs `protocol`
    /// on it. `start_protocol` is called before this returns. Fails with
    /// `CannotListen`.
    pub fn listen_unix_datagram(
        &self,
        address: UnixAddress,
        protocol: Box<dyn DatagramProtocol>,
    ) -> Result<DatagramTransport, Failure> {
        self.listen_unix_datagram_with(address, protocol, UnixDatagramOptions::default())
    }

    /// [`listen_unix_datagram`](Self::listen_unix_datagram) with options
    /// (socket file mode, buffer sizes).
    pub fn listen_unix_datagram_with(
        &self,
        address: UnixAddress,
        protocol: Box<dyn DatagramProtocol>,
        options: UnixDatagramOptions,
    ) -> Result<DatagramTransport, Failure> {
        let cannot_listen =
            |error: io::Error| Failure::new(CannotListen::new(Address::Unix(address.clone()), error));
        let socket = bind(&address, &options).map_err(cannot_listen)?;
        let host = bound_address(&socket).map_err(cannot_listen)?;
        DatagramPort::start(self, socket, Address::Unix(host), None, protocol).map_err(cannot_listen)
    }

    /// A Unix datagram socket bound to `local` (`Unnamed`: a kernel-chosen
    /// abstract name, so the peer can answer) and connected to `peer`: it
    /// hears only `peer`, and `DatagramTransport::write` sends to it. Fails
    /// with `ConnectionRefused` when nothing is bound to `peer`.
    pub fn connect_unix_datagram(
        &self,
        peer: UnixAddress,
        protocol: Box<dyn DatagramProtocol>,
        local: UnixAddress,
    ) -> Result<DatagramTransport, Failure> {
        let socket = bind(&local, &UnixDatagramOptions::default())
            .map_err(|error| Failure::new(CannotListen::new(Address::Unix(local.clone()), error)))?;
        let host = Address::Unix(bound_address(&socket).map_err(Failure::new)?);
        let peer = Address::Unix(peer);
        socket
            .connect(&peer)
            .map_err(|error| connect_failure(error, &host, &peer))?;
        DatagramPort::start(self, socket, host, Some(peer), protocol).map_err(Failure::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_and_foreign_destinations_are_refused() {
        let unnamed = destination(&Address::Unix(UnixAddress::Unnamed)).unwrap_err();
        assert_eq!(unnamed.kind(), io::ErrorKind::InvalidInput);
        let udp = destination(&Address::udp("127.0.0.1:9".parse().unwrap())).unwrap_err();
        assert_eq!(udp.kind(), io::ErrorKind::InvalidInput);
    }

    /// The address of a path (or abstract) sender is a heap allocation:
    /// datagrams from the sender of the previous one keep it.
    #[test]
    fn a_repeated_sender_keeps_its_address_allocation() {
        let dir = std::env::temp_dir().join(format!("gyre-udg-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let server = UnixAddress::Path(dir.join("server.sock"));
        let socket = bind(&server, &UnixDatagramOptions::default()).unwrap();
        let first = std::os::unix::net::UnixDatagram::bind(dir.join("first.sock")).unwrap();
        let second = std::os::unix::net::UnixDatagram::bind(dir.join("second.sock")).unwrap();
        first.send_to(b"1", dir.join("server.sock")).unwrap();
        first.send_to(b"2", dir.join("server.sock")).unwrap();
        second.send_to(b"3", dir.join("server.sock")).unwrap();
        let path_bytes = |from: &Address| match from {
            Address::Unix(UnixAddress::Path(path)) => path.as_os_str().as_encoded_bytes().as_ptr(),
            other => panic!("expected a path sender, got {other}"),
        };
        let mut buffer = [0; 8];
        let mut from = Address::Unix(UnixAddress::Unnamed);
        socket.recv_from(&mut buffer, &mut from).unwrap();
        assert_eq!(from, Address::Unix(UnixAddress::Path(dir.join("first.sock"))));
        let kept = path_bytes(&from);
        socket.recv_from(&mut buffer, &mut from).unwrap();
        assert_eq!(
            path_bytes(&from),
            kept,
            "the same sender's address is kept, not rebuilt"
        );
        socket.recv_from(&mut buffer, &mut from).unwrap();
        assert_eq!(from, Address::Unix(UnixAddress::Path(dir.join("second.sock"))));
        drop(socket);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn binding_unnamed_gets_a_kernel_chosen_abstract_name() {
        let socket = bind(&UnixAddress::Unnamed, &UnixDatagramOptions::default()).unwrap();
        match bound_address(&socket).unwrap() {
            UnixAddress::Abstract(name) => assert!(!name.is_empty()),
            other => panic!("expected an autobound abstract name, got {other:?}"),
        }
    }
}
