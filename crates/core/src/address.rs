//! Addresses of the two ends of a connection.
//!
//! One enum covers every transport gyre offers, so a protocol can log
//! `transport.peer()` without knowing whether it runs over TCP, a Unix socket
//! or a child process's pipes. IP addresses carry the socket type (TCP or UDP)
//! like Twisted's `IPv4Address('TCP', ...)`; IPv6 keeps flow info and scope id
//! because link-local peers are unusable without the scope.

use std::fmt;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::PathBuf;

/// Which IP socket type an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpTransport {
    /// A stream (TCP) socket.
    Tcp,
    /// A datagram (UDP) socket.
    Udp,
}

/// The address of one end of a connection or a listening port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// An IPv4 socket address.
    Ipv4 {
        /// TCP or UDP.
        transport: IpTransport,
        /// Address and port.
        addr: SocketAddrV4,
    },
    /// An IPv6 socket address, with flow info and scope id.
    Ipv6 {
        /// TCP or UDP.
        transport: IpTransport,
        /// Address, port, flow info and scope id.
        addr: SocketAddrV6,
    },
    /// A Unix domain socket.
    Unix(UnixAddress),
    /// A host name and port, before (or instead of) resolution.
    Hostname {
        /// The name as given, for example `example.com`.
        host: String,
        /// The port.
        port: u16,
    },
    /// A child process's pipes.
    Process(ProcessAddress),
}

impl Address {
    /// A TCP address.
    pub fn tcp(addr: SocketAddr) -> Self {
        Self::ip(IpTransport::Tcp, addr)
    }

    /// A UDP address.
    pub fn udp(addr: SocketAddr) -> Self {
        Self::ip(IpTransport::Udp, addr)
    }

    /// An IP address of the given socket type.
    pub fn ip(transport: IpTransport, addr: SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(addr) => Address::Ipv4 { transport, addr },
            SocketAddr::V6(addr) => Address::Ipv6 { transport, addr },
        }
    }

    /// A Unix socket bound to a file system path.
    pub fn unix_path(path: impl Into<PathBuf>) -> Self {
        Address::Unix(UnixAddress::Path(path.into()))
    }

    /// The socket address, when this is an IP address.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            Address::Ipv4 { addr, .. } => Some(SocketAddr::V4(*addr)),
            Address::Ipv6 { addr, .. } => Some(SocketAddr::V6(*addr)),
            _ => None,
        }
    }

    /// The port, for IP and host-name addresses.
    pub fn port(&self) -> Option<u16> {
        match self {
            Address::Hostname { port, .. } => Some(*port),
            _ => self.socket_addr().map(|a| a.port()),
        }
    }
}

impl From<SocketAddr> for Address {
    /// Socket addresses without a stated type are TCP, the common case.
    fn from(addr: SocketAddr) -> Self {
        Address::tcp(addr)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ipv4 { transport, addr } => write!(f, "{}:{addr}", transport.scheme()),
            Address::Ipv6 { transport, addr } => write!(f, "{}:{addr}", transport.scheme()),
            Address::Unix(unix) => write!(f, "unix:{unix}"),
            Address::Hostname { host, port } => write!(f, "host:{host}:{port}"),
            Address::Process(process) => write!(f, "{process}"),
        }
    }
}

impl IpTransport {
    fn scheme(self) -> &'static str {
        match self {
            IpTransport::Tcp => "tcp",
            IpTransport::Udp => "udp",
        }
    }
}

/// The address of a Unix domain socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UnixAddress {
    /// Bound to a path in the file system.
    Path(PathBuf),
    /// Linux abstract namespace: the name without its leading NUL byte.
    Abstract(Vec<u8>),
    /// Not bound to any name (the client side of most connections, socketpairs).
    Unnamed,
}

impl fmt::Display for UnixAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixAddress::Path(path) => write!(f, "{}", path.display()),
            UnixAddress::Abstract(name) => write!(f, "@{}", name.escape_ascii()),
            UnixAddress::Unnamed => f.write_str("(unnamed)"),
        }
    }
}

/// The address of a child process's pipes: its pid once it is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessAddress {
    /// The child's process id, `None` before it started or after it was reaped.
    pub pid: Option<u32>,
}

impl fmt::Display for ProcessAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "process:{pid}"),
            None => f.write_str("process:(not running)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv6Addr, SocketAddrV6};

    #[test]
    fn ipv6_keeps_flow_info_and_scope() {
        let v6 = SocketAddrV6::new(Ipv6Addr::LOCALHOST, 8080, 7, 3);
        let address = Address::udp(SocketAddr::V6(v6));
        match &address {
            Address::Ipv6 { transport, addr } => {
                assert_eq!(*transport, IpTransport::Udp);
                assert_eq!(addr.flowinfo(), 7);
                assert_eq!(addr.scope_id(), 3);
            }
            other => panic!("expected IPv6, got {other:?}"),
        }
        assert_eq!(address.port(), Some(8080));
        assert_eq!(address.to_string(), "udp:[::1%3]:8080");
    }

    #[test]
    fn display_forms() {
        let tcp = Address::from("127.0.0.1:80".parse::<SocketAddr>().unwrap());
        assert_eq!(tcp.to_string(), "tcp:127.0.0.1:80");
        assert_eq!(Address::unix_path("/run/x.sock").to_string(), "unix:/run/x.sock");
        assert_eq!(
            Address::Unix(UnixAddress::Abstract(b"gyre\x01".to_vec())).to_string(),
            "unix:@gyre\\x01"
        );
        let host = Address::Hostname {
            host: "example.com".into(),
            port: 25,
        };
        assert_eq!(host.to_string(), "host:example.com:25");
        assert_eq!(host.port(), Some(25));
        assert_eq!(
            Address::Process(ProcessAddress { pid: Some(42) }).to_string(),
            "process:42"
        );
    }
}
