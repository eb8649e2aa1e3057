//! The UDP relay of a SOCKS5 UDP ASSOCIATE (RFC 1928 section 7).
//!
//! One UDP socket, bound on the address the client reached the server at,
//! carries both directions:
//!
//! * a datagram from the client's address (the control connection's peer
//!   IP, and the port the request named, if it named one; the first such
//!   datagram fixes the port) has a SOCKS UDP header naming its
//!   destination: fragments (FRAG ≠ 0) are dropped, host names are
//!   resolved through the `HostResolver`, the access policy is asked, and
//!   the payload is sent on;
//! * a datagram from an address the client has sent to goes back to the
//!   client with a header naming its source; from anyone else it is
//!   dropped, so the relay is not an open door into the client.
//!
//! The association ends (the socket is closed) when the control
//! connection closes; `server.rs` does that.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::{Address, Failure};
use gyre_endpoints::HostResolver;

use super::auth::{AccessPolicy, AccessRequest};
use super::handshake::Version;
use super::wire::udp::{UdpHeader, encode_header, parse_datagram};
use super::wire::{Command, TargetAddr};

/// Destinations remembered per association (replies are accepted from these).
const MAX_REMOTES: usize = 64;
/// Host-name lookups in flight per association; datagrams beyond are dropped.
const MAX_LOOKUPS: usize = 16;

/// What the asynchronous lookups share with the relay.
struct Shared {
    remotes: RefCell<VecDeque<SocketAddr>>,
    lookups: Cell<usize>,
    control: Address,
    user: Option<Vec<u8>>,
    policy: Option<Rc<dyn AccessPolicy>>,
}

/// The datagram protocol of one association.
pub(crate) struct UdpRelay {
    client_ip: IpAddr,
    client: Option<SocketAddr>,
    expected_port: Option<u16>,
    resolver: Rc<dyn HostResolver>,
    shared: Rc<Shared>,
    /// Where each reply to the client is assembled (header, then payload),
    /// reused so relaying a reply allocates nothing.
    reply: Vec<u8>,
}

impl UdpRelay {
    pub(crate) fn new(
        control: Address,
        client_ip: IpAddr,
        expected_port: Option<u16>,
        user: Option<Vec<u8>>,
        resolver: Rc<dyn HostResolver>,
        policy: Option<Rc<dyn AccessPolicy>>,
    ) -> Self {
        UdpRelay {
            client_ip: client_ip.to_canonical(),
            client: None,
            expected_port,
            resolver,
            reply: Vec::new(),
            shared: Rc::new(Shared {
                remotes: RefCell::new(VecDeque::new()),
                lookups: Cell::new(0),
                control,
                user,
                policy,
            }),
        }
    }

    fn is_client(&self, from: SocketAddr) -> bool {
        match self.client {
            Some(client) => client == from,
            None => {
                from.ip().to_canonical() == self.client_ip
                    && self.expected_port.is_none_or(|port| port == from.port())
            }
        }
    }

    fn client_datagram(&mut self, transport: &DatagramTransport, datagram: &[u8], from: SocketAddr) {
        self.client = Some(from);
        let (header, payload) = match parse_datagram(datagram) {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::trace!(target: "gyre::socks", %error, "dropping a malformed UDP request");
                return;
            }
        };
        if header.frag != 0 {
            tracing::trace!(target: "gyre::socks", frag = header.frag, "dropping a UDP fragment");
            return;
        }
        match header.target {
            TargetAddr::Ip(destination) => self.shared.send(transport, payload, &header.target, destination),
            TargetAddr::Domain { ref host, port } => {
                if self.shared.lookups.get() >= MAX_LOOKUPS {
                    tracing::trace!(target: "gyre::socks", "too many lookups in flight; dropping a datagram");
                    return;
                }
                self.shared.lookups.set(self.shared.lookups.get() + 1);
                let lookup = self.resolver.resolve(host, port);
                let (shared, transport, payload) = (self.shared.clone(), transport.clone(), payload.to_vec());
                let target = header.target;
                let _sent = lookup.then(move |result: Result<Vec<SocketAddr>, Failure>| {
                    shared.lookups.set(shared.lookups.get() - 1);
                    let family = transport.host().socket_addr().map(|a| a.is_ipv4());
                    let usable = result
                        .ok()
                        .and_then(|addresses| addresses.into_iter().find(|a| Some(a.is_ipv4()) == family));
                    if let Some(destination) = usable {
                        shared.send(&transport, &payload, &target, destination);
                    }
                    Ok::<(), Failure>(())
                });
            }
        }
    }

    fn remote_datagram(&mut self, transport: &DatagramTransport, payload: &[u8], from: SocketAddr) {
        let Some(client) = self.client else { return };
        let header = UdpHeader {
            frag: 0,
            target: TargetAddr::Ip(from),
        };
        let datagram = &mut self.reply;
        datagram.clear();
        encode_header(&header, datagram);
        datagram.extend_from_slice(payload);
        if let Err(failure) = transport.write_to(datagram, &Address::udp(client)) {
            tracing::trace!(target: "gyre::socks", %failure, "UDP reply to the client not sent");
        }
    }
}

impl Shared {
    /// Sends `payload` to `destination` if the policy allows it, and
    /// remembers the destination so its replies are let back in.
    fn send(
        &self,
        transport: &DatagramTransport,
        payload: &[u8],
        target: &TargetAddr,
        destination: SocketAddr,
    ) {
        if let Some(policy) = &self.policy {
            let request = AccessRequest {
                client: &self.control,
                user: self.user.as_deref(),
                user_id: &[],
                version: Version::V5,
                command: Command::UdpAssociate,
                target,
                resolved: Some(destination),
            };
            if !policy.allow(&request) {
                tracing::trace!(target: "gyre::socks", %destination, "UDP destination denied by policy");
                return;
            }
        }
        {
            let mut remotes = self.remotes.borrow_mut();
            if !remotes.contains(&destination) {
                if remotes.len() == MAX_REMOTES {
                    remotes.pop_front();
                }
                remotes.push_back(destination);
            }
        }
        if let Err(failure) = transport.write_to(payload, &Address::udp(destination)) {
            tracing::trace!(target: "gyre::socks", %failure, %destination, "UDP datagram not sent");
        }
    }
}

impl DatagramProtocol for UdpRelay {
    fn datagram_received(&mut self, transport: &DatagramTransport, data: &[u8], from: &Address) {
        let Some(from) = from.socket_addr() else { return };
        if self.is_client(from) {
            self.client_datagram(transport, data, from);
        } else if self.shared.remotes.borrow().contains(&from) {
            self.remote_datagram(transport, data, from);
        } else {
            tracing::trace!(target: "gyre::socks", %from, "dropping a datagram from an unknown source");
        }
    }
}
