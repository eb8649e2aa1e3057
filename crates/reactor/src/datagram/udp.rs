//! UDP sockets: [`Reactor::listen_udp_with`] and the [`ReactorUdp`] trait.
//!
//! Sockets are made with socket2 so every option is set before `bind`
//! (address and port reuse, broadcast, buffer sizes), then handed to mio.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use gyre_core::Failure;
use gyre_core::address::Address;
use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::errors::CannotListen;
use gyre_core::interfaces::ReactorUdp;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::port::{DatagramPort, DatagramSocket};
use super::set_buffer_sizes;
use crate::Reactor;

/// Options for [`Reactor::listen_udp_with`]. The defaults are those of
/// [`ReactorUdp::listen_udp`]: a plain socket that owns its port.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UdpOptions {
    /// `SO_REUSEADDR`: bind even while another socket with this option has
    /// the port. Every such socket gets its own copy of each multicast or
    /// broadcast datagram (Twisted's `listenMultiple`).
    pub reuse_address: bool,
    /// `SO_REUSEPORT`: several sockets (one per worker thread or process)
    /// share one port, and the kernel spreads unicast datagrams among them
    /// by sender.
    pub reuse_port: bool,
    /// `SO_BROADCAST`: allow sending to broadcast addresses. It can also be
    /// changed later with `DatagramTransport::set_broadcast_allowed`.
    pub broadcast: bool,
    /// For IPv6 addresses: IPv6 only (`IPV6_V6ONLY`). Default false, the
    /// system's dual-stack behaviour.
    pub ipv6_only: bool,
    /// `SO_RCVBUF`: how many bytes of datagrams the kernel queues before it
    /// drops new ones (the kernel doubles the value and caps it at
    /// `net.core.rmem_max`).
    pub recv_buffer_size: Option<usize>,
    /// `SO_SNDBUF`: how many bytes may wait to be sent before sends are
    /// dropped.
    pub send_buffer_size: Option<usize>,
}

impl UdpOptions {
    /// Sets `SO_REUSEADDR`.
    pub fn reuse_address(mut self, enabled: bool) -> Self {
        self.reuse_address = enabled;
        self
    }

    /// Sets `SO_REUSEPORT`.
    pub fn reuse_port(mut self, enabled: bool) -> Self {
        self.reuse_port = enabled;
        self
    }

    /// Sets `SO_BROADCAST`.
    pub fn broadcast(mut self, enabled: bool) -> Self {
        self.broadcast = enabled;
        self
    }

    /// Sets `IPV6_V6ONLY`.
    pub fn ipv6_only(mut self, enabled: bool) -> Self {
        self.ipv6_only = enabled;
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

/// A bound UDP socket.
pub(super) struct UdpSocket {
    io: mio::net::UdpSocket,
    /// An `AF_INET6` socket: IPv4 destinations are sent as IPv4-mapped
    /// addresses, which is how a dual-stack socket reaches IPv4 peers.
    ipv6: bool,
}

impl UdpSocket {
    fn destination(&self, to: &Address) -> io::Result<SocketAddr> {
        let Some(addr) = to.socket_addr() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{to} is not an IP address"),
            ));
        };
        Ok(match addr {
            SocketAddr::V4(v4) if self.ipv6 => {
                SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
            }
            other => other,
        })
    }
}

impl DatagramSocket for UdpSocket {
    const KIND: &'static str = "udp";
    type Io = mio::net::UdpSocket;

    fn io_mut(&mut self) -> &mut Self::Io {
        &mut self.io
    }

    fn recv_from(&self, buf: &mut [u8], from: &mut Address) -> io::Result<usize> {
        // 64 KiB always holds a whole UDP datagram (at most 65,535 bytes
        // with its header), so there is no truncation to detect.
        let (len, sender) = self.io.recv_from(buf)?;
        *from = Address::udp(sender);
        Ok(len)
    }

    fn send_to(&self, data: &[u8], to: &Address) -> io::Result<usize> {
        self.io.send_to(data, self.destination(to)?)
    }

    fn send(&self, data: &[u8]) -> io::Result<usize> {
        self.io.send(data)
    }

    fn connect(&self, to: &Address) -> io::Result<()> {
        self.io.connect(self.destination(to)?)
    }

    fn ip_socket(&self) -> Option<SockRef<'_>> {
        Some(SockRef::from(&self.io))
    }
}

fn bind(addr: SocketAddr, options: &UdpOptions) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )?;
    socket.set_reuse_address(options.reuse_address)?;
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if options.broadcast {
        socket.set_broadcast(true)?;
    }
    if addr.is_ipv6() && options.ipv6_only {
        socket.set_only_v6(true)?;
    }
    set_buffer_sizes(&socket, options.recv_buffer_size, options.send_buffer_size)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

impl Reactor {
    /// Binds a UDP socket on `addr` with `options` and runs `protocol` on it;
    /// see [`ReactorUdp::listen_udp`]. `start_protocol` is called before this
    /// returns. Port 0 picks a free port (see `DatagramTransport::host`).
    /// Fails with `CannotListen`.
    pub fn listen_udp_with(
        &self,
        addr: SocketAddr,
        protocol: Box<dyn DatagramProtocol>,
        options: UdpOptions,
    ) -> Result<DatagramTransport, Failure> {
        let cannot_listen = |error: io::Error| Failure::new(CannotListen::new(Address::udp(addr), error));
        let socket = bind(addr, &options).map_err(cannot_listen)?;
        let io = mio::net::UdpSocket::from_std(socket.into());
        let host = io.local_addr().map_err(cannot_listen)?;
        let ipv6 = matches!(host.ip(), IpAddr::V6(_));
        DatagramPort::start(self, UdpSocket { io, ipv6 }, Address::udp(host), None, protocol)
            .map_err(cannot_listen)
    }
}

impl ReactorUdp for Reactor {
    fn listen_udp(
        &self,
        addr: SocketAddr,
        protocol: Box<dyn DatagramProtocol>,
    ) -> Result<DatagramTransport, Failure> {
        self.listen_udp_with(addr, protocol, UdpOptions::default())
    }
}
