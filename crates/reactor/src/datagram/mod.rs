//! UDP, multicast and Unix datagram sockets.
//!
//! Every datagram socket is one `DatagramPort` (port.rs) registered with the
//! reactor: it runs a [`DatagramProtocol`](gyre_core::datagram::DatagramProtocol)
//! and hands it a [`DatagramTransport`](gyre_core::datagram::DatagramTransport)
//! in every callback.
//!
//! ```text
//!   listen_udp / listen_udp_with ──┐                 ┌─ udp.rs: socket2 options, bind
//!   listen_unix_datagram ──────────┼─► DatagramPort ─┼─ unix_datagram.rs: paths, abstract names
//!   connect_unix_datagram ─────────┘   (port.rs)     └─ multicast.rs: groups, TTL, loopback, interface
//! ```
//!
//! Behaviour shared by every kind:
//! - **Reading**: a readiness event means "read until the kernel has no more"
//!   (edge triggered), but at most 64 datagrams per event; the rest is read
//!   later in the same turn, after other sources had theirs, so one flooded
//!   socket cannot starve the others. Unix datagrams larger than the 64 KiB
//!   read buffer are dropped whole (with a warning), never handed over
//!   truncated; UDP datagrams always fit.
//! - **Writing**: datagrams are sent at once, never buffered. A full socket
//!   buffer drops the datagram, as a congested network would; a datagram too
//!   large for the socket fails with [`DatagramTooLarge`].
//! - **Connected mode**: `connect` fixes the peer (`write` without one fails
//!   with `NotConnected`). On Linux an ICMP "port unreachable" for an earlier
//!   datagram surfaces as `ECONNREFUSED` from the next `recv` or `send`, and
//!   is reported to the protocol's `connection_refused`: at once when a read
//!   found it, after the current callback when a `write` found it. Such a
//!   `write` returns `Ok`, and its datagram is lost, as one lost on the way.
//! - **Multicast**: joining a group also limits the socket to the groups it
//!   joined (`IP_MULTICAST_ALL` off), so leaving a group takes effect even
//!   while another socket on the host stays in it.
//! - **Closing**: `stop_listening` closes the socket at once and calls
//!   `stop_protocol` at the end of the turn; its Deferred fires after that.
//!   Stopping the reactor does the same for every socket still open.
//!
//! ```
//! use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
//! use gyre_core::interfaces::ReactorUdp;
//! use gyre_core::prelude::*;
//! use gyre_reactor::Reactor;
//!
//! /// Echoes every datagram to its sender.
//! struct Echo;
//!
//! impl DatagramProtocol for Echo {
//!     fn datagram_received(&mut self, transport: &DatagramTransport, data: &[u8], from: &Address) {
//!         let _ = transport.write_to(data, from);
//!     }
//! }
//!
//! let reactor = Reactor::new().unwrap();
//! let port = reactor.listen_udp("127.0.0.1:0".parse().unwrap(), Box::new(Echo)).unwrap();
//! assert!(port.host().port().unwrap() > 0);
//! drop(port.stop_listening());
//! ```

mod multicast;
mod port;
mod udp;
mod unix_datagram;

use std::error::Error;
use std::fmt;
use std::io;

use gyre_core::Address;

pub use udp::UdpOptions;
pub use unix_datagram::UnixDatagramOptions;

/// Sets `SO_RCVBUF` and `SO_SNDBUF` where the options ask for them: the
/// one buffer set-up of UDP and Unix datagram sockets.
fn set_buffer_sizes(socket: &socket2::Socket, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
    if let Some(bytes) = recv {
        socket.set_recv_buffer_size(bytes)?;
    }
    if let Some(bytes) = send {
        socket.set_send_buffer_size(bytes)?;
    }
    Ok(())
}

/// A datagram was larger than the socket can send in one piece (`EMSGSIZE`):
/// over 65,507 bytes for UDP over IPv4, over the send buffer for Unix
/// datagram sockets. Nothing was sent. UDP never fragments a datagram across
/// several sends, so the caller has to split the payload itself.
#[derive(Debug)]
#[non_exhaustive]
pub struct DatagramTooLarge {
    /// The size of the datagram that was refused.
    pub size: usize,
    /// Where it was going (`None` on a connected socket's `write`).
    pub destination: Option<Address>,
    /// The system's error.
    pub source: io::Error,
}

impl DatagramTooLarge {
    /// Makes the error.
    pub fn new(size: usize, destination: Option<Address>, source: io::Error) -> Self {
        DatagramTooLarge {
            size,
            destination,
            source,
        }
    }
}

impl fmt::Display for DatagramTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "datagram of {} bytes is too large to send", self.size)?;
        if let Some(destination) = &self.destination {
            write!(f, " to {destination}")?;
        }
        write!(f, ": {}", self.source)
    }
}

impl Error for DatagramTooLarge {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}
