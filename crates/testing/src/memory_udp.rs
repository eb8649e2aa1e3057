//! [`MemoryDatagramPort`]: the UDP socket [`MemoryReactor`](crate::MemoryReactor)
//! hands out. It records every datagram the protocol sends and delivers the
//! datagrams the test injects.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::{Rc, Weak};

use gyre_core::Failure;
use gyre_core::address::Address;
use gyre_core::datagram::{DatagramBackend, DatagramProtocol, DatagramTransport};
use gyre_core::deferred::{Deferred, succeed};
use gyre_core::errors::TransportClosed;

/// The multicast and broadcast settings the protocol made; `None` where it
/// never set one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatagramSettings {
    /// `set_multicast_loopback`.
    pub multicast_loopback: Option<bool>,
    /// `set_multicast_ttl`.
    pub multicast_ttl: Option<u32>,
    /// `set_multicast_interface`.
    pub multicast_interface: Option<IpAddr>,
    /// `set_broadcast_allowed`.
    pub broadcast_allowed: Option<bool>,
}

/// A UDP socket in memory. Clones share it.
#[derive(Clone)]
pub struct MemoryDatagramPort {
    shared: Rc<UdpShared>,
}

struct UdpShared {
    me: Weak<UdpShared>,
    host: Address,
    /// Taken out while one of its callbacks runs, so the protocol may call
    /// its transport (even `stop_listening`) from inside them.
    protocol: RefCell<Option<Box<dyn DatagramProtocol>>>,
    sent: RefCell<Vec<(Vec<u8>, Address)>>,
    peer: RefCell<Option<Address>>,
    listening: Cell<bool>,
    stop_owed: Cell<bool>,
    groups: RefCell<Vec<IpAddr>>,
    settings: RefCell<DatagramSettings>,
}

impl UdpShared {
    fn transport(&self) -> DatagramTransport {
        DatagramTransport::new(self.me.upgrade().expect("a port in use is alive"))
    }

    /// Runs `f` on the protocol, then delivers a `stop_protocol` owed
    /// because `stop_listening` was called while the protocol was busy.
    fn with_protocol(&self, f: impl FnOnce(&mut dyn DatagramProtocol, &DatagramTransport)) {
        let taken = self.protocol.borrow_mut().take();
        let Some(mut protocol) = taken else {
            return;
        };
        f(&mut *protocol, &self.transport());
        if self.stop_owed.replace(false) {
            protocol.stop_protocol();
        }
        *self.protocol.borrow_mut() = Some(protocol);
    }

    fn record(&self, data: &[u8], to: &Address) -> Result<(), Failure> {
        if !self.listening.get() {
            return Err(Failure::new(TransportClosed::new()));
        }
        self.sent.borrow_mut().push((data.to_vec(), to.clone()));
        Ok(())
    }
}

impl MemoryDatagramPort {
    /// Binds `protocol` to `host` and calls its `start_protocol`.
    pub(crate) fn start(host: Address, protocol: Box<dyn DatagramProtocol>) -> Self {
        let shared = Rc::new_cyclic(|me| UdpShared {
            me: me.clone(),
            host,
            protocol: RefCell::new(Some(protocol)),
            sent: RefCell::default(),
            peer: RefCell::new(None),
            listening: Cell::new(true),
            stop_owed: Cell::new(false),
            groups: RefCell::default(),
            settings: RefCell::default(),
        });
        shared.with_protocol(|protocol, transport| protocol.start_protocol(transport));
        MemoryDatagramPort { shared }
    }

    /// A handle to this socket, like the one `listen_udp` returned.
    pub fn handle(&self) -> DatagramTransport {
        self.shared.transport()
    }

    /// Delivers a datagram from `from` to the protocol. Returns whether it
    /// was delivered: a socket fixed to a peer with `connect` drops
    /// datagrams from anyone else, as the kernel does.
    ///
    /// # Panics
    /// When the socket was closed.
    #[track_caller]
    pub fn deliver(&self, data: &[u8], from: &Address) -> bool {
        assert!(
            self.is_listening(),
            "MemoryDatagramPort::deliver to {}: the socket was closed",
            self.shared.host
        );
        if self
            .shared
            .peer
            .borrow()
            .as_ref()
            .is_some_and(|peer| peer != from)
        {
            return false;
        }
        self.shared
            .with_protocol(|protocol, transport| protocol.datagram_received(transport, data, from));
        true
    }

    /// Every datagram sent, with its destination, oldest first.
    pub fn sent(&self) -> Vec<(Vec<u8>, Address)> {
        self.shared.sent.borrow().clone()
    }

    /// Returns the datagrams sent so far and forgets them.
    pub fn take_sent(&self) -> Vec<(Vec<u8>, Address)> {
        std::mem::take(&mut *self.shared.sent.borrow_mut())
    }

    /// The bound address, with the fake port filled in when port 0 was asked for.
    pub fn host(&self) -> Address {
        self.shared.host.clone()
    }

    /// The peer fixed by `connect`, if any.
    pub fn peer(&self) -> Option<Address> {
        self.shared.peer.borrow().clone()
    }

    /// Whether `stop_listening` has not been called.
    pub fn is_listening(&self) -> bool {
        self.shared.listening.get()
    }

    /// The multicast groups joined and not left, in joining order.
    pub fn groups(&self) -> Vec<IpAddr> {
        self.shared.groups.borrow().clone()
    }

    /// The multicast and broadcast settings made.
    pub fn settings(&self) -> DatagramSettings {
        self.shared.settings.borrow().clone()
    }
}

impl DatagramBackend for UdpShared {
    fn write_to(&self, data: &[u8], to: &Address) -> Result<(), Failure> {
        self.record(data, to)
    }

    /// Fails with `NotConnected` when no peer was fixed, as `send(2)` does.
    fn write(&self, data: &[u8]) -> Result<(), Failure> {
        let peer = self.peer.borrow().clone();
        match peer {
            Some(peer) => self.record(data, &peer),
            None => Err(Failure::new(io::Error::from(io::ErrorKind::NotConnected))),
        }
    }

    fn connect(&self, to: &Address) -> Result<(), Failure> {
        *self.peer.borrow_mut() = Some(to.clone());
        Ok(())
    }

    fn host(&self) -> Address {
        self.host.clone()
    }

    fn peer(&self) -> Option<Address> {
        self.peer.borrow().clone()
    }

    /// Closes the socket and calls `stop_protocol` once (after the current
    /// callback when called from inside one); already fired.
    fn stop_listening(&self) -> Deferred<()> {
        if self.listening.replace(false) {
            let taken = self.protocol.borrow_mut().take();
            match taken {
                Some(mut protocol) => {
                    protocol.stop_protocol();
                    *self.protocol.borrow_mut() = Some(protocol);
                }
                None => self.stop_owed.set(true),
            }
        }
        succeed(())
    }

    fn kind(&self) -> &'static str {
        "udp"
    }

    fn join_group(&self, group: IpAddr, _interface: IpAddr) -> Result<(), Failure> {
        let mut groups = self.groups.borrow_mut();
        if !groups.contains(&group) {
            groups.push(group);
        }
        Ok(())
    }

    fn leave_group(&self, group: IpAddr, _interface: IpAddr) -> Result<(), Failure> {
        self.groups.borrow_mut().retain(|joined| *joined != group);
        Ok(())
    }

    fn set_multicast_loopback(&self, enabled: bool) -> Result<(), Failure> {
        self.settings.borrow_mut().multicast_loopback = Some(enabled);
        Ok(())
    }

    fn set_multicast_ttl(&self, ttl: u32) -> Result<(), Failure> {
        self.settings.borrow_mut().multicast_ttl = Some(ttl);
        Ok(())
    }

    fn set_multicast_interface(&self, interface: IpAddr) -> Result<(), Failure> {
        self.settings.borrow_mut().multicast_interface = Some(interface);
        Ok(())
    }

    fn set_broadcast_allowed(&self, enabled: bool) -> Result<(), Failure> {
        self.settings.borrow_mut().broadcast_allowed = Some(enabled);
        Ok(())
    }
}

impl fmt::Debug for MemoryDatagramPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDatagramPort")
            .field("host", &self.shared.host)
            .field("peer", &self.peer())
            .field("sent", &self.shared.sent.borrow().len())
            .field("listening", &self.is_listening())
            .finish()
    }
}

/// A recorded `listen_udp` call.
#[derive(Clone, Debug)]
pub struct UdpPort {
    /// The address asked for (port 0 stays 0 here; see `port.host()`).
    pub addr: SocketAddr,
    /// The socket returned.
    pub port: MemoryDatagramPort,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echoes each datagram to its sender and quits on "stop".
    struct Echo {
        log: Rc<RefCell<Vec<String>>>,
    }

    impl DatagramProtocol for Echo {
        fn start_protocol(&mut self, transport: &DatagramTransport) {
            self.log
                .borrow_mut()
                .push(format!("start on {}", transport.host()));
        }
        fn datagram_received(&mut self, transport: &DatagramTransport, data: &[u8], from: &Address) {
            if data == b"stop" {
                drop(transport.stop_listening());
                self.log.borrow_mut().push("asked to stop".into());
            } else {
                transport.write_to(data, from).unwrap();
            }
        }
        fn stop_protocol(&mut self) {
            self.log.borrow_mut().push("stopped".into());
        }
    }

    fn udp(text: &str) -> Address {
        Address::udp(text.parse().unwrap())
    }

    fn port() -> (MemoryDatagramPort, Rc<RefCell<Vec<String>>>) {
        let log = Rc::new(RefCell::new(Vec::new()));
        let port = MemoryDatagramPort::start(udp("0.0.0.0:5353"), Box::new(Echo { log: log.clone() }));
        (port, log)
    }

    #[test]
    fn delivered_datagrams_are_answered_and_recorded() {
        let (port, log) = port();
        assert!(port.deliver(b"ping", &udp("192.0.2.9:4000")));
        assert_eq!(port.take_sent(), [(b"ping".to_vec(), udp("192.0.2.9:4000"))]);
        assert!(port.sent().is_empty());
        assert_eq!(*log.borrow(), ["start on udp:0.0.0.0:5353"]);
    }

    #[test]
    fn stop_listening_from_inside_a_callback_stops_the_protocol_after_it() {
        let (port, log) = port();
        port.deliver(b"stop", &udp("192.0.2.9:4000"));
        assert_eq!(log.borrow()[1..], ["asked to stop", "stopped"]);
        assert!(!port.is_listening());
        drop(port.handle().stop_listening());
        assert_eq!(log.borrow().len(), 3, "stop_protocol runs once");
        assert!(
            port.handle()
                .write_to(b"x", &udp("192.0.2.9:1"))
                .unwrap_err()
                .is::<TransportClosed>()
        );
    }

    #[test]
    fn a_connected_socket_writes_to_and_hears_only_its_peer() {
        let (port, _log) = port();
        let transport = port.handle();
        let err = transport.write(b"nowhere").unwrap_err();
        assert_eq!(
            err.downcast_ref::<io::Error>().unwrap().kind(),
            io::ErrorKind::NotConnected
        );
        transport.connect(&udp("192.0.2.1:53")).unwrap();
        transport.write(b"query").unwrap();
        assert!(!port.deliver(b"spoofed", &udp("192.0.2.66:53")));
        assert!(port.deliver(b"answer", &udp("192.0.2.1:53")));
        assert_eq!(
            port.sent(),
            [
                (b"query".to_vec(), udp("192.0.2.1:53")),
                (b"answer".to_vec(), udp("192.0.2.1:53"))
            ]
        );
        assert_eq!(port.peer(), Some(udp("192.0.2.1:53")));
    }

    #[test]
    fn multicast_membership_and_settings_are_recorded() {
        let (port, _log) = port();
        let transport = port.handle();
        let group: IpAddr = "224.0.0.251".parse().unwrap();
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        transport.join_group(group, any).unwrap();
        transport.join_group(group, any).unwrap();
        transport.set_multicast_ttl(4).unwrap();
        transport.set_multicast_loopback(false).unwrap();
        assert_eq!(port.groups(), [group]);
        transport.leave_group(group, any).unwrap();
        assert!(port.groups().is_empty());
        assert_eq!(
            port.settings(),
            DatagramSettings {
                multicast_loopback: Some(false),
                multicast_ttl: Some(4),
                ..DatagramSettings::default()
            }
        );
    }
}
