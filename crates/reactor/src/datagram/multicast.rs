//! Multicast and other IP-level options of a UDP socket.
//!
//! The [`DatagramTransport`](gyre_core::datagram::DatagramTransport) API names
//! interfaces by address, as Twisted does. IPv4 takes the address as is
//! (`ip_mreq`); IPv6 needs the interface's index, which is looked up from the
//! interface's address in `/proc/net/if_inet6` (the table of the network
//! namespace the process runs in). The unspecified address means "let the
//! kernel choose" in both families.
//!
//! Linux by default delivers a group's datagrams to every socket bound to
//! the wildcard address on the port as soon as *any* socket on the host
//! joined the group (`IP_MULTICAST_ALL`), so leaving a group would change
//! nothing while a neighbour stays in it. A socket that joins a group here
//! turns that off, so it hears exactly the groups it joined, as on other
//! systems and as Twisted users expect.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use socket2::SockRef;

/// Joins `group` on `interface`.
pub(super) fn join(socket: &SockRef<'_>, group: IpAddr, interface: IpAddr) -> io::Result<()> {
    match group {
        IpAddr::V4(group) => {
            socket.join_multicast_v4(&group, &ipv4_interface(interface)?)?;
            only_joined_groups(socket.set_multicast_all_v4(false));
        }
        IpAddr::V6(group) => {
            socket.join_multicast_v6(&group, ipv6_interface_index(interface)?)?;
            only_joined_groups(socket.set_multicast_all_v6(false));
        }
    }
    Ok(())
}

/// The membership is made either way; kernels before 4.20 lack
/// `IPV6_MULTICAST_ALL`, and then the socket keeps the Linux default.
fn only_joined_groups(result: io::Result<()>) {
    if let Err(error) = result {
        tracing::debug!(target: "gyre::reactor", %error,
            "could not limit the socket to the groups it joined");
    }
}

/// Leaves `group` on `interface`.
pub(super) fn leave(socket: &SockRef<'_>, group: IpAddr, interface: IpAddr) -> io::Result<()> {
    match group {
        IpAddr::V4(group) => socket.leave_multicast_v4(&group, &ipv4_interface(interface)?),
        IpAddr::V6(group) => socket.leave_multicast_v6(&group, ipv6_interface_index(interface)?),
    }
}

/// Whether our own multicast datagrams are delivered to local sockets
/// (this one included). On by default.
pub(super) fn set_loopback(socket: &SockRef<'_>, enabled: bool) -> io::Result<()> {
    if is_ipv6(socket)? {
        socket.set_multicast_loop_v6(enabled)
    } else {
        socket.set_multicast_loop_v4(enabled)
    }
}

/// The time-to-live (IPv4) or hop limit (IPv6) of outgoing multicast
/// datagrams. The default, 1, keeps them on the local network.
pub(super) fn set_ttl(socket: &SockRef<'_>, ttl: u32) -> io::Result<()> {
    if is_ipv6(socket)? {
        socket.set_multicast_hops_v6(ttl)
    } else {
        socket.set_multicast_ttl_v4(ttl)
    }
}

/// The interface outgoing multicast datagrams leave by.
pub(super) fn set_interface(socket: &SockRef<'_>, interface: IpAddr) -> io::Result<()> {
    if is_ipv6(socket)? {
        socket.set_multicast_if_v6(ipv6_interface_index(interface)?)
    } else {
        socket.set_multicast_if_v4(&ipv4_interface(interface)?)
    }
}

fn is_ipv6(socket: &SockRef<'_>) -> io::Result<bool> {
    Ok(socket.local_addr()?.is_ipv6())
}

fn ipv4_interface(interface: IpAddr) -> io::Result<Ipv4Addr> {
    match interface {
        IpAddr::V4(address) => Ok(address),
        IpAddr::V6(address) if address.is_unspecified() => Ok(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(address) => Err(invalid(format!(
            "an IPv4 group needs an IPv4 interface address, not {address}"
        ))),
    }
}

/// The index of the interface that has `interface` as one of its IPv6
/// addresses (0 for the unspecified address: any interface).
fn ipv6_interface_index(interface: IpAddr) -> io::Result<u32> {
    match interface {
        IpAddr::V4(address) if address.is_unspecified() => Ok(0),
        IpAddr::V6(address) if address.is_unspecified() => Ok(0),
        IpAddr::V6(address) => {
            let table = std::fs::read_to_string("/proc/net/if_inet6")?;
            index_in_if_inet6(&table, address)
                .ok_or_else(|| invalid(format!("no interface has the IPv6 address {address}")))
        }
        IpAddr::V4(address) => Err(invalid(format!(
            "an IPv6 group needs an IPv6 interface address, not {address}"
        ))),
    }
}

/// Finds `address` in the text of `/proc/net/if_inet6`: one line per
/// address, `<32 hex digits> <index in hex> <prefix> <scope> <flags> <name>`.
fn index_in_if_inet6(table: &str, address: Ipv6Addr) -> Option<u32> {
    let wanted = address
        .octets()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();
    table.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let hex = fields.next()?;
        let index = fields.next()?;
        (hex.eq_ignore_ascii_case(&wanted))
            .then(|| u32::from_str_radix(index, 16).ok())
            .flatten()
    })
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
fd000000000000000000000000000002 04 40 00 82     eth0
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
00000000000000000000000000000001 01 80 10 80       lo
fd006779000000000000000000000001 1a 40 00 80   gyre0
";

    #[test]
    fn addresses_map_to_their_interface_index() {
        assert_eq!(index_in_if_inet6(TABLE, Ipv6Addr::LOCALHOST), Some(1));
        assert_eq!(index_in_if_inet6(TABLE, "fd00::2".parse().unwrap()), Some(4));
        assert_eq!(
            index_in_if_inet6(TABLE, "fd00:6779::1".parse().unwrap()),
            Some(0x1a)
        );
        assert_eq!(index_in_if_inet6(TABLE, "2001:db8::1".parse().unwrap()), None);
    }

    #[test]
    fn unspecified_means_any_interface_and_families_must_match() {
        assert_eq!(
            ipv6_interface_index(IpAddr::V6(Ipv6Addr::UNSPECIFIED)).unwrap(),
            0
        );
        assert_eq!(
            ipv4_interface(IpAddr::V6(Ipv6Addr::UNSPECIFIED)).unwrap(),
            Ipv4Addr::UNSPECIFIED
        );
        let wrong = ipv6_interface_index(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap_err();
        assert_eq!(wrong.kind(), io::ErrorKind::InvalidInput);
        let wrong = ipv4_interface(IpAddr::V6(Ipv6Addr::LOCALHOST)).unwrap_err();
        assert_eq!(wrong.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn the_loopback_address_is_found_on_this_host() {
        // `::1` is on `lo` in every network namespace with IPv6 enabled.
        assert!(ipv6_interface_index(IpAddr::V6(Ipv6Addr::LOCALHOST)).unwrap() > 0);
    }
}
