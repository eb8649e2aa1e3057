//! Conversions between gyre's [`UnixAddress`] and the kernel's Unix socket
//! addresses (rustix's [`SocketAddrUnix`], and std's for what std and mio
//! hand back), for stream and datagram sockets alike.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr as StdUnixAddr;
use std::path::PathBuf;

use gyre_core::address::{Address, UnixAddress};
use rustix::net::SocketAddrUnix;

/// The socket address to bind or connect to. `Unnamed` names no socket and
/// is refused; a datagram socket that asks the kernel for a name (autobind)
/// binds [`SocketAddrUnix::new_unnamed`] instead.
pub(crate) fn to_sockaddr(address: &UnixAddress) -> io::Result<SocketAddrUnix> {
    match address {
        UnixAddress::Path(path) => Ok(SocketAddrUnix::new(path.as_path())?),
        UnixAddress::Abstract(name) => abstract_sockaddr(name),
        UnixAddress::Unnamed => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an unnamed Unix address cannot be bound or connected to",
        )),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_sockaddr(name: &[u8]) -> io::Result<SocketAddrUnix> {
    Ok(SocketAddrUnix::new_abstract_name(name)?)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_sockaddr(_name: &[u8]) -> io::Result<SocketAddrUnix> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract Unix socket names exist only on Linux",
    ))
}

/// gyre's form of a kernel Unix socket address.
pub(crate) fn from_sockaddr(address: &SocketAddrUnix) -> UnixAddress {
    if let Some(path) = address.path_bytes() {
        return UnixAddress::Path(PathBuf::from(OsStr::from_bytes(path)));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(name) = address.abstract_name() {
        return UnixAddress::Abstract(name.to_vec());
    }
    UnixAddress::Unnamed
}

/// Whether `held` already is `address` (a received datagram's sender), so
/// the caller can keep it instead of building (allocating) it again.
pub(crate) fn is_same(held: &Address, address: &SocketAddrUnix) -> bool {
    match held {
        Address::Unix(UnixAddress::Path(path)) => address.path_bytes() == Some(path.as_os_str().as_bytes()),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Address::Unix(UnixAddress::Abstract(name)) => address.abstract_name() == Some(name.as_slice()),
        Address::Unix(UnixAddress::Unnamed) => address.is_unnamed(),
        _ => false,
    }
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
        rustix::net::bind(&socket, &to_sockaddr(&address).unwrap()).unwrap();
        let listener = std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(socket));
        assert_eq!(from_std(&listener.local_addr().unwrap()), address);
    }

    #[test]
    fn unnamed_cannot_be_bound() {
        let error = to_sockaddr(&UnixAddress::Unnamed).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn addresses_convert_both_ways_and_compare_without_converting() {
        for address in [
            UnixAddress::Path(PathBuf::from("/tmp/gyre-dgram.sock")),
            UnixAddress::Abstract(b"gyre\x00dgram".to_vec()),
        ] {
            let sockaddr = to_sockaddr(&address).unwrap();
            assert_eq!(from_sockaddr(&sockaddr), address);
            assert!(is_same(&Address::Unix(address.clone()), &sockaddr));
            assert!(!is_same(&Address::Unix(UnixAddress::Unnamed), &sockaddr));
        }
        let unnamed = SocketAddrUnix::new_unnamed();
        assert_eq!(from_sockaddr(&unnamed), UnixAddress::Unnamed);
        assert!(is_same(&Address::Unix(UnixAddress::Unnamed), &unnamed));
        let other = to_sockaddr(&UnixAddress::Path(PathBuf::from("/tmp/other"))).unwrap();
        assert!(!is_same(
            &Address::Unix(UnixAddress::Path(PathBuf::from("/tmp/othe"))),
            &other
        ));
    }
}
