//! Conversions between gyre's [`UnixAddress`] and the socket addresses of
//! std and socket2.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr as StdUnixAddr;
use std::path::Path;

use gyre_core::address::UnixAddress;
use socket2::SockAddr;

/// The socket address to bind or connect to.
pub(crate) fn to_sockaddr(address: &UnixAddress) -> io::Result<SockAddr> {
    match address {
        UnixAddress::Path(path) => SockAddr::unix(path),
        UnixAddress::Abstract(name) => abstract_sockaddr(name),
        UnixAddress::Unnamed => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an unnamed Unix address cannot be bound or connected to",
        )),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_sockaddr(name: &[u8]) -> io::Result<SockAddr> {
    // socket2 takes a leading NUL byte as the mark of an abstract name.
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.push(0);
    bytes.extend_from_slice(name);
    SockAddr::unix(Path::new(OsStr::from_bytes(&bytes)))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_sockaddr(_name: &[u8]) -> io::Result<SockAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract Unix socket names exist only on Linux",
    ))
}

/// gyre's form of a std Unix socket address.
pub(crate) fn from_std(address: &StdUnixAddr) -> UnixAddress {
    if let Some(path) = address.as_pathname() {
        return UnixAddress::Path(path.to_path_buf());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = address.as_abstract_name() {
            return UnixAddress::Abstract(name.to_vec());
        }
    }
    UnixAddress::Unnamed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abstract_names_round_trip_through_a_bound_socket() {
        let name = format!("gyre-address-test-{}", std::process::id()).into_bytes();
        let address = UnixAddress::Abstract(name.clone());
        let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
        socket.bind(&to_sockaddr(&address).unwrap()).unwrap();
        let listener = std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(socket));
        assert_eq!(from_std(&listener.local_addr().unwrap()), address);
    }

    #[test]
    fn unnamed_cannot_be_bound() {
        let error = to_sockaddr(&UnixAddress::Unnamed).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
