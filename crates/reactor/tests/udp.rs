//! UDP sockets over real sockets on 127.0.0.1 and ::1: echo, connected mode
//! and ICMP refusals, and closing (options and limits: `udp_options.rs`).

mod udp_support;

use std::cell::{Cell, RefCell};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;
use std::time::Duration;

use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::errors::TransportClosed;
use gyre_core::interfaces::ReactorUdp;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use udp_support::{Event, echo, new_log, payloads, recorder, run_bounded, stop, stop_soon, stop_when};

const LIMIT: Duration = Duration::from_secs(10);

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

type Replies = Rc<RefCell<Vec<(Vec<u8>, Address)>>>;

/// Sends three datagrams to `server` when started; stops the reactor once
/// all three came back.
struct Pinger {
    server: Address,
    reactor: Reactor,
    replies: Replies,
}

impl DatagramProtocol for Pinger {
    fn start_protocol(&mut self, transport: &DatagramTransport) {
        for n in 0..3 {
            transport
                .write_to(format!("ping {n}").as_bytes(), &self.server)
                .unwrap();
        }
    }

    fn datagram_received(&mut self, _transport: &DatagramTransport, data: &[u8], from: &Address) {
        self.replies.borrow_mut().push((data.to_vec(), from.clone()));
        if self.replies.borrow().len() == 3 {
            stop(&self.reactor);
        }
    }
}

#[test]
fn echo_over_ipv4_and_ipv6_loopback() {
    for local in ["127.0.0.1:0", "[::1]:0"] {
        let reactor = Reactor::new().unwrap();
        let server_log = new_log();
        let server = reactor.listen_udp(addr(local), echo(&server_log)).unwrap();
        let replies = Rc::default();
        let pinger = Pinger {
            server: server.host(),
            reactor: reactor.clone(),
            replies: Rc::clone(&replies),
        };
        let client = reactor.listen_udp(addr(local), Box::new(pinger)).unwrap();
        run_bounded(&reactor, LIMIT);
        let replies = replies.borrow();
        let texts: Vec<&[u8]> = replies.iter().map(|(data, _)| data.as_slice()).collect();
        assert_eq!(texts, [b"ping 0", b"ping 1", b"ping 2"], "over {local}");
        assert!(
            replies.iter().all(|(_, from)| *from == server.host()),
            "replies come from the server"
        );
        assert_eq!(server_log.borrow()[0], Event::Started(server.host()));
        let senders: Vec<Address> = server_log
            .borrow()
            .iter()
            .filter_map(|event| match event {
                Event::Datagram(_, from) => Some(from.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(senders, vec![client.host(); 3]);
        assert_eq!(
            server_log.borrow().last(),
            Some(&Event::Stopped),
            "stopping the reactor stopped it"
        );
        assert_eq!(
            server.host().port(),
            server.host().socket_addr().map(|a| a.port())
        );
        assert_ne!(
            server.host().port(),
            Some(0),
            "port 0 is replaced by the bound port"
        );
        assert_eq!(server.peer(), None);
    }
}

#[test]
fn a_connected_socket_hears_only_its_peer_and_writes_to_it() {
    let reactor = Reactor::new().unwrap();
    let server_log = new_log();
    let server = reactor
        .listen_udp(addr("127.0.0.1:0"), echo(&server_log))
        .unwrap();
    let log = new_log();
    let client = reactor
        .listen_udp(addr("127.0.0.1:0"), recorder(&log, |_, _, _| {}))
        .unwrap();
    let unconnected = client.write(b"nowhere").unwrap_err();
    let error = unconnected.downcast_ref::<io::Error>().expect("an io::Error");
    assert_eq!(
        error.kind(),
        io::ErrorKind::NotConnected,
        "write needs a connected peer"
    );
    client.connect(&server.host()).unwrap();
    assert_eq!(client.peer(), Some(server.host()));

    // A stranger's datagram is filtered out by the kernel; the peer's reply arrives.
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    stranger
        .send_to(b"spoofed", client.host().socket_addr().unwrap())
        .unwrap();
    client.write(b"via write").unwrap();
    let seen = log.clone();
    stop_when(&reactor, move || payloads(&seen).len() == 1);
    run_bounded(&reactor, LIMIT);
    assert_eq!(payloads(&log), [b"via write".to_vec()]);
    assert_eq!(
        log.borrow()[1],
        Event::Datagram(b"via write".to_vec(), server.host())
    );
}

/// Writes to a closed port on a connected socket, and notes whether
/// `connection_refused` ever arrives while one of its own writes is running.
struct Refused {
    reactor: Reactor,
    writing: Rc<Cell<bool>>,
    refusals: Rc<Cell<u32>>,
    reentered: Rc<Cell<bool>>,
    target: Address,
}

impl DatagramProtocol for Refused {
    fn start_protocol(&mut self, transport: &DatagramTransport) {
        transport.connect(&self.target).unwrap();
        self.writing.set(true);
        // On loopback the ICMP error is usually queued before `send`
        // returns, so the second write sees ECONNREFUSED.
        transport.write(b"first").unwrap();
        transport.write(b"second").unwrap();
        self.writing.set(false);
    }

    fn datagram_received(&mut self, _transport: &DatagramTransport, _data: &[u8], _from: &Address) {}

    fn connection_refused(&mut self, transport: &DatagramTransport) {
        self.reentered.set(self.reentered.get() || self.writing.get());
        self.refusals.set(self.refusals.get() + 1);
        // After a refusal the socket still works: this datagram is sent
        // (and refused in turn).
        if self.refusals.get() == 1 {
            transport.write(b"again").unwrap();
        } else {
            stop(&self.reactor);
        }
    }
}

#[test]
fn icmp_port_unreachable_on_a_connected_socket_reports_connection_refused() {
    let reactor = Reactor::new().unwrap();
    let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refusals = Rc::new(Cell::new(0));
    let reentered = Rc::new(Cell::new(false));
    let protocol = Refused {
        reactor: reactor.clone(),
        writing: Rc::default(),
        refusals: refusals.clone(),
        reentered: reentered.clone(),
        target: Address::udp(closed),
    };
    let port = reactor
        .listen_udp(addr("127.0.0.1:0"), Box::new(protocol))
        .unwrap();
    run_bounded(&reactor, LIMIT);
    assert_eq!(refusals.get(), 2, "each refused datagram is reported");
    assert!(
        !reentered.get(),
        "connection_refused never runs inside the protocol's own write"
    );
    assert_eq!(port.peer(), Some(Address::udp(closed)));
}

#[test]
fn stop_listening_closes_at_once_and_stops_the_protocol_after_the_turn() {
    let reactor = Reactor::new().unwrap();
    let log = new_log();
    let port = reactor
        .listen_udp(addr("127.0.0.1:0"), recorder(&log, |_, _, _| {}))
        .unwrap();
    let bound = port.host().socket_addr().unwrap();
    let fired = Rc::new(RefCell::new(Vec::new()));
    for n in 0..2 {
        let seen = log.clone();
        let fired = fired.clone();
        port.stop_listening().add_callback(move |()| {
            // stop_protocol ran before the Deferred fired.
            assert_eq!(seen.borrow().last(), Some(&Event::Stopped));
            fired.borrow_mut().push(n);
        });
    }
    assert_eq!(
        log.borrow().len(),
        1,
        "stop_protocol is not called from inside stop_listening"
    );
    let failure = port.write_to(b"late", &Address::udp(bound)).unwrap_err();
    assert!(failure.is::<TransportClosed>());
    // The port is free again at once.
    let again = UdpSocket::bind(bound).expect("the port was released");
    drop(again);
    stop_soon(&reactor);
    run_bounded(&reactor, LIMIT);
    assert_eq!(*fired.borrow(), [0, 1]);
    assert_eq!(
        *log.borrow(),
        [Event::Started(Address::udp(bound)), Event::Stopped]
    );
    // Once stopped, stop_listening fires at once.
    let late = port.stop_listening();
    assert!(late.is_fired());
    assert_eq!(log.borrow().len(), 2, "stop_protocol runs once");
}

#[test]
fn stopping_inside_a_callback_delivers_no_further_datagrams() {
    let reactor = Reactor::new().unwrap();
    let log = new_log();
    let stopper = reactor.clone();
    let port = reactor
        .listen_udp(
            addr("127.0.0.1:0"),
            recorder(&log, move |transport, _, _| {
                let stopper = stopper.clone();
                transport.stop_listening().add_callback(move |()| stop(&stopper));
            }),
        )
        .unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in 0..3 {
        sender.send_to(&[n], port.host().socket_addr().unwrap()).unwrap();
    }
    run_bounded(&reactor, LIMIT);
    assert_eq!(payloads(&log), [vec![0]]);
    assert_eq!(log.borrow().last(), Some(&Event::Stopped));
}

#[test]
fn stopping_the_reactor_stops_every_protocol() {
    let reactor = Reactor::new().unwrap();
    let log = new_log();
    let port = reactor
        .listen_udp(addr("[::1]:0"), recorder(&log, |_, _, _| {}))
        .unwrap();
    stop_soon(&reactor);
    run_bounded(&reactor, LIMIT);
    assert_eq!(*log.borrow(), [Event::Started(port.host()), Event::Stopped]);
    assert!(
        port.write_to(b"x", &port.host())
            .unwrap_err()
            .is::<TransportClosed>()
    );
    assert_eq!(reactor.source_count(), 0);
}
