//! Unix datagram sockets: [`Reactor::listen_unix_datagram`] and
//! [`Reactor::connect_unix_datagram`].
//!
//! Addresses are file system paths, Linux abstract names, or unnamed. Binding
//! to [`UnixAddress::Unnamed`] asks the kernel for a unique abstract name
//! (Linux "autobind"), so that peers can answer; `host()` then tells the
//! name. A socket file left behind by a process that died is replaced when
//! nothing is bound to it any more, and the file this socket made is removed
//! when it closes.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use gyre_core::Failure;
use gyre_core::address::{Address, UnixAddress};
use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::errors::CannotListen;
use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketFlags, SocketType};
use socket2::SockRef;

use super::port::{DatagramPort, DatagramSocket, connect_failure};
use super::set_buffer_sizes;
use crate::Reactor;

/// Options for [`Reactor::listen_unix_datagram_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UnixDatagramOptions {
    /// Permissions of the socket file (for path addresses), for example
    /// `0o660` so only a group may send to it. Default: what the umask gives.
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
    /// The socket file this socket created (with its device and inode), to
    /// remove when it closes unless another socket has replaced it since.
    owned_file: Option<(PathBuf, u64, u64)>,
}

impl Drop for UnixDatagramSocket {
    fn drop(&mut self) {
        if let Some((path, dev, ino)) = &self.owned_file
            && let Ok(metadata) = std::fs::symlink_metadata(path)
            && metadata.dev() == *dev
            && metadata.ino() == *ino
            && let Err(error) = std::fs::remove_file(path)
        {
            tracing::debug!(target: "gyre::reactor", %error, path = %path.display(),
                "removing the socket file");
        }
    }
}

impl DatagramSocket for UnixDatagramSocket {
    const KIND: &'static str = "unix-datagram";
    type Io = mio::net::UnixDatagram;

    fn io_mut(&mut self) -> &mut Self::Io {
        &mut self.io
    }

    /// With `MSG_TRUNC` the kernel tells the full length of a datagram
    /// larger than the buffer, so the port can drop it instead of handing
    /// the protocol a truncated one.
    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Address)> {
        let (_, len, from) = rustix::net::recvfrom(self.io.as_fd(), buf, RecvFlags::TRUNC)?;
        let from = from
            .and_then(|from| SocketAddrUnix::try_from(from).ok())
            .map_or(UnixAddress::Unnamed, |from| unix_address(&from));
        Ok((len, Address::Unix(from)))
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

/// The kernel's form of a Unix address (`Unnamed`: autobind).
fn socket_address(address: &UnixAddress) -> io::Result<SocketAddrUnix> {
    Ok(match address {
        UnixAddress::Path(path) => SocketAddrUnix::new(path.as_path())?,
        UnixAddress::Abstract(name) => SocketAddrUnix::new_abstract_name(name)?,
        UnixAddress::Unnamed => SocketAddrUnix::new_unnamed(),
    })
}

fn destination(to: &Address) -> io::Result<SocketAddrUnix> {
    match to {
        Address::Unix(UnixAddress::Unnamed) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an unnamed Unix socket cannot be sent to",
        )),
        Address::Unix(address) => socket_address(address),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{other} is not a Unix socket address"),
        )),
    }
}

fn unix_address(address: &SocketAddrUnix) -> UnixAddress {
    if let Some(name) = address.abstract_name() {
        UnixAddress::Abstract(name.to_vec())
    } else if let Some(path) = address.path_bytes() {
        UnixAddress::Path(PathBuf::from(OsStr::from_bytes(path)))
    } else {
        UnixAddress::Unnamed
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

/// Whether `path` is a socket file nothing is bound to any more (its owner
/// died without removing it): connecting to it is refused.
fn is_stale_socket_file(path: &Path) -> bool {
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_socket());
    if !is_socket {
        return false;
    }
    let Ok(probe) =
        rustix::net::socket_with(AddressFamily::UNIX, SocketType::DGRAM, SocketFlags::CLOEXEC, None)
    else {
        return false;
    };
    SocketAddrUnix::new(path).is_ok_and(|addr| rustix::net::connect(&probe, &addr) == Err(Errno::CONNREFUSED))
}

/// Makes a socket bound to `address`, replacing a stale socket file.
fn bind(address: &UnixAddress, options: &UnixDatagramOptions) -> io::Result<UnixDatagramSocket> {
    let fd = new_socket(options)?;
    let addr = socket_address(address)?;
    match rustix::net::bind(&fd, &addr) {
        Err(Errno::ADDRINUSE) if matches!(address, UnixAddress::Path(path) if is_stale_socket_file(path)) => {
            if let UnixAddress::Path(path) = address {
                std::fs::remove_file(path)?;
            }
            rustix::net::bind(&fd, &addr)?;
        }
        other => other?,
    }
    let owned_file = match address {
        UnixAddress::Path(path) => {
            if let Some(mode) = options.mode {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            }
            let metadata = std::fs::symlink_metadata(path)?;
            Some((path.clone(), metadata.dev(), metadata.ino()))
        }
        _ => None,
    };
    let io = mio::net::UnixDatagram::from_std(std::os::unix::net::UnixDatagram::from(fd));
    Ok(UnixDatagramSocket { io, owned_file })
}

fn bound_address(socket: &UnixDatagramSocket) -> io::Result<UnixAddress> {
    let local = rustix::net::getsockname(socket.io.as_fd())?;
    Ok(SocketAddrUnix::try_from(local).map_or(UnixAddress::Unnamed, |local| unix_address(&local)))
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
    fn addresses_convert_both_ways() {
        for address in [
            UnixAddress::Path(PathBuf::from("/tmp/gyre-dgram.sock")),
            UnixAddress::Abstract(b"gyre\x00dgram".to_vec()),
        ] {
            assert_eq!(unix_address(&socket_address(&address).unwrap()), address);
        }
        assert_eq!(unix_address(&SocketAddrUnix::new_unnamed()), UnixAddress::Unnamed);
    }

    #[test]
    fn unnamed_and_foreign_destinations_are_refused() {
        let unnamed = destination(&Address::Unix(UnixAddress::Unnamed)).unwrap_err();
        assert_eq!(unnamed.kind(), io::ErrorKind::InvalidInput);
        let udp = destination(&Address::udp("127.0.0.1:9".parse().unwrap())).unwrap_err();
        assert_eq!(udp.kind(), io::ErrorKind::InvalidInput);
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
