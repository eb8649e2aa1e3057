//! [`DatagramProtocol`] and [`DatagramTransport`]: connectionless protocols
//! (UDP, Unix datagram sockets).

use std::fmt;
use std::net::IpAddr;
use std::rc::Rc;

use crate::address::Address;
use crate::capability::{Capability, CapabilityRequest};
use crate::deferred::Deferred;
use crate::errors::NotSupportedByTransport;
use crate::failure::Failure;

/// The handler of a datagram socket.
pub trait DatagramProtocol: 'static {
    /// The socket is bound and ready.
    fn start_protocol(&mut self, transport: &DatagramTransport) {
        let _ = transport;
    }

    /// A datagram arrived from `from`.
    fn datagram_received(&mut self, transport: &DatagramTransport, data: &[u8], from: &Address);

    /// On a connected socket, the peer's port was unreachable (ICMP), so an
    /// earlier datagram was refused.
    fn connection_refused(&mut self, transport: &DatagramTransport) {
        let _ = transport;
    }

    /// The socket was closed.
    fn stop_protocol(&mut self) {}
}

fn unsupported(what: &'static str, transport: &'static str) -> Failure {
    Failure::new(NotSupportedByTransport::new(what, transport))
}

/// What a datagram socket implementation provides. Multicast and broadcast
/// settings default to "not supported", for sockets that have none (Unix).
pub trait DatagramBackend {
    /// Sends one datagram to `to`. A full socket buffer drops the datagram,
    /// as the network would; an oversized datagram is an error.
    fn write_to(&self, data: &[u8], to: &Address) -> Result<(), Failure>;
    /// Sends one datagram to the connected peer.
    fn write(&self, data: &[u8]) -> Result<(), Failure>;
    /// Fixes the peer: only its datagrams are received, and `write` goes to it.
    fn connect(&self, to: &Address) -> Result<(), Failure>;
    /// The bound address.
    fn host(&self) -> Address;
    /// The connected peer, if any.
    fn peer(&self) -> Option<Address>;
    /// Closes the socket; fires once it is closed.
    fn stop_listening(&self) -> Deferred<()>;
    /// A short name for messages ("udp", "unix-datagram").
    fn kind(&self) -> &'static str;
    /// Joins a multicast group on an interface (unspecified address: any).
    fn join_group(&self, group: IpAddr, interface: IpAddr) -> Result<(), Failure> {
        let _ = (group, interface);
        Err(unsupported("multicast", self.kind()))
    }
    /// Leaves a multicast group.
    fn leave_group(&self, group: IpAddr, interface: IpAddr) -> Result<(), Failure> {
        let _ = (group, interface);
        Err(unsupported("multicast", self.kind()))
    }
    /// Whether our own multicast datagrams are looped back to us.
    fn set_multicast_loopback(&self, enabled: bool) -> Result<(), Failure> {
        let _ = enabled;
        Err(unsupported("multicast", self.kind()))
    }
    /// The time-to-live of outgoing multicast datagrams.
    fn set_multicast_ttl(&self, ttl: u32) -> Result<(), Failure> {
        let _ = ttl;
        Err(unsupported("multicast", self.kind()))
    }
    /// The interface outgoing multicast datagrams leave by.
    fn set_multicast_interface(&self, interface: IpAddr) -> Result<(), Failure> {
        let _ = interface;
        Err(unsupported("multicast", self.kind()))
    }
    /// Whether datagrams may be sent to broadcast addresses.
    fn set_broadcast_allowed(&self, enabled: bool) -> Result<(), Failure> {
        let _ = enabled;
        Err(unsupported("broadcast", self.kind()))
    }
    /// Answers optional capabilities.
    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        let _ = request;
    }
}

/// A handle to a datagram socket, cheap to clone.
#[derive(Clone)]
pub struct DatagramTransport {
    backend: Rc<dyn DatagramBackend>,
}

impl DatagramTransport {
    /// Wraps a backend.
    pub fn new(backend: Rc<dyn DatagramBackend>) -> Self {
        DatagramTransport { backend }
    }

    /// Sends one datagram to `to`.
    pub fn write_to(&self, data: &[u8], to: &Address) -> Result<(), Failure> {
        self.backend.write_to(data, to)
    }

    /// Sends one datagram to the connected peer.
    pub fn write(&self, data: &[u8]) -> Result<(), Failure> {
        self.backend.write(data)
    }

    /// Fixes the peer.
    pub fn connect(&self, to: &Address) -> Result<(), Failure> {
        self.backend.connect(to)
    }

    /// The bound address.
    pub fn host(&self) -> Address {
        self.backend.host()
    }

    /// The connected peer, if any.
    pub fn peer(&self) -> Option<Address> {
        self.backend.peer()
    }

    /// Closes the socket.
    pub fn stop_listening(&self) -> Deferred<()> {
        self.backend.stop_listening()
    }

    /// Joins a multicast group.
    pub fn join_group(&self, group: IpAddr, interface: IpAddr) -> Result<(), Failure> {
        self.backend.join_group(group, interface)
    }

    /// Leaves a multicast group.
    pub fn leave_group(&self, group: IpAddr, interface: IpAddr) -> Result<(), Failure> {
        self.backend.leave_group(group, interface)
    }

    /// Whether our own multicast datagrams come back to us.
    pub fn set_multicast_loopback(&self, enabled: bool) -> Result<(), Failure> {
        self.backend.set_multicast_loopback(enabled)
    }

    /// The TTL of outgoing multicast datagrams.
    pub fn set_multicast_ttl(&self, ttl: u32) -> Result<(), Failure> {
        self.backend.set_multicast_ttl(ttl)
    }

    /// The interface for outgoing multicast.
    pub fn set_multicast_interface(&self, interface: IpAddr) -> Result<(), Failure> {
        self.backend.set_multicast_interface(interface)
    }

    /// Whether broadcast is allowed.
    pub fn set_broadcast_allowed(&self, enabled: bool) -> Result<(), Failure> {
        self.backend.set_broadcast_allowed(enabled)
    }

    /// Asks for an optional capability by type.
    pub fn capability<C: Capability>(&self) -> Result<C::Value, NotSupportedByTransport> {
        CapabilityRequest::ask::<C>(|request| self.backend.capability(request))
            .ok_or_else(|| NotSupportedByTransport::new(C::NAME, self.backend.kind()))
    }
}

impl fmt::Debug for DatagramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramTransport")
            .field("kind", &self.backend.kind())
            .field("host", &self.host())
            .finish()
    }
}
