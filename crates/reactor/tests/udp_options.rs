//! UDP socket options and limits over real sockets on 127.0.0.1: several
//! listeners on one port, oversized datagrams, bad destinations, broadcast,
//! receive buffer size, and fairness between a flooded socket and others.

mod udp_support;

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;
use std::time::Duration;

use gyre_core::errors::CannotListen;
use gyre_core::interfaces::ReactorUdp;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use gyre_reactor::datagram::{DatagramTooLarge, UdpOptions};
use udp_support::{new_log, payloads, recorder, run_bounded, stop_when};

const LIMIT: Duration = Duration::from_secs(10);

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn several_listeners_share_one_port_with_reuse_port() {
    let reactor = Reactor::new().unwrap();
    let options = UdpOptions::default().reuse_port(true);
    let logs: Vec<_> = (0..4).map(|_| new_log()).collect();
    let first = reactor
        .listen_udp_with(
            addr("127.0.0.1:0"),
            recorder(&logs[0], |_, _, _| {}),
            options.clone(),
        )
        .unwrap();
    let shared = first.host().socket_addr().unwrap();
    let ports: Vec<_> = logs[1..]
        .iter()
        .map(|log| {
            reactor
                .listen_udp_with(shared, recorder(log, |_, _, _| {}), options.clone())
                .unwrap()
        })
        .collect();
    assert!(ports.iter().all(|port| port.host() == first.host()));
    let taken = reactor
        .listen_udp(shared, recorder(&new_log(), |_, _, _| {}))
        .unwrap_err();
    assert!(
        taken.is::<CannotListen>(),
        "a socket without SO_REUSEPORT cannot join: {taken:?}"
    );

    // The kernel spreads senders over the listeners by their address.
    let senders: Vec<UdpSocket> = (0..64).map(|_| UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
    for (n, sender) in senders.iter().enumerate() {
        sender.send_to(format!("from {n}").as_bytes(), shared).unwrap();
    }
    let counting = logs.clone();
    stop_when(&reactor, move || {
        counting.iter().map(|log| payloads(log).len()).sum::<usize>() == 64
    });
    run_bounded(&reactor, LIMIT);
    let counts: Vec<usize> = logs.iter().map(|log| payloads(log).len()).collect();
    assert_eq!(
        counts.iter().sum::<usize>(),
        64,
        "every datagram arrived once: {counts:?}"
    );
    assert!(
        counts.iter().filter(|&&n| n > 0).count() > 1,
        "more than one listener got datagrams: {counts:?}"
    );
}

#[test]
fn an_oversized_datagram_is_an_error_and_the_largest_one_arrives_whole() {
    let reactor = Reactor::new().unwrap();
    let log = new_log();
    let receiver = reactor
        .listen_udp(addr("127.0.0.1:0"), recorder(&log, |_, _, _| {}))
        .unwrap();
    let sender = reactor
        .listen_udp(addr("127.0.0.1:0"), recorder(&new_log(), |_, _, _| {}))
        .unwrap();
    let failure = sender.write_to(&vec![7; 70_000], &receiver.host()).unwrap_err();
    let too_large = failure
        .downcast_ref::<DatagramTooLarge>()
        .expect("a DatagramTooLarge");
    assert_eq!(too_large.size, 70_000);
    assert_eq!(too_large.destination, Some(receiver.host()));

    // 65,507 bytes is the most UDP over IPv4 carries: it fits the read buffer.
    let largest: Vec<u8> = (0..65_507u32).map(|n| n as u8).collect();
    sender.write_to(&largest, &receiver.host()).unwrap();
    sender.write_to(b"after", &receiver.host()).unwrap();
    let seen = log.clone();
    stop_when(&reactor, move || payloads(&seen).len() == 2);
    run_bounded(&reactor, LIMIT);
    assert_eq!(payloads(&log), [largest, b"after".to_vec()]);
}

#[test]
fn broadcast_needs_the_option() {
    let reactor = Reactor::new().unwrap();
    let log = new_log();
    // Bound to lo's broadcast address: it hears broadcasts, nothing leaves the host.
    let receiver = reactor
        .listen_udp(addr("127.255.255.255:0"), recorder(&log, |_, _, _| {}))
        .unwrap();
    let sender = reactor
        .listen_udp(addr("127.0.0.1:0"), recorder(&new_log(), |_, _, _| {}))
        .unwrap();
    let refused = sender.write_to(b"denied", &receiver.host()).unwrap_err();
    let error = refused.downcast_ref::<io::Error>().expect("an io::Error");
    assert_eq!(
        error.kind(),
        io::ErrorKind::PermissionDenied,
        "EACCES without SO_BROADCAST"
    );
    sender.set_broadcast_allowed(true).unwrap();
    sender.write_to(b"one", &receiver.host()).unwrap();
    let preset = reactor
        .listen_udp_with(
            addr("127.0.0.1:0"),
            recorder(&new_log(), |_, _, _| {}),
            UdpOptions::default().broadcast(true),
        )
        .unwrap();
    preset.write_to(b"two", &receiver.host()).unwrap();
    let seen = log.clone();
    stop_when(&reactor, move || payloads(&seen).len() == 2);
    run_bounded(&reactor, LIMIT);
    assert_eq!(payloads(&log), [b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn a_flooded_socket_yields_to_others_between_batches() {
    let reactor = Reactor::new().unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    let big_buffer = UdpOptions::default().recv_buffer_size(1 << 20);
    let flooded_order = order.clone();
    let flooded = reactor
        .listen_udp_with(
            addr("127.0.0.1:0"),
            recorder(&new_log(), move |_, data, _| {
                flooded_order.borrow_mut().push(format!("flood {}", data[0]))
            }),
            big_buffer,
        )
        .unwrap();
    let quiet_order = order.clone();
    let quiet = reactor
        .listen_udp(
            addr("127.0.0.1:0"),
            recorder(&new_log(), move |_, _, _| {
                quiet_order.borrow_mut().push("quiet".into())
            }),
        )
        .unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in 0..100u8 {
        sender
            .send_to(&[n], flooded.host().socket_addr().unwrap())
            .unwrap();
    }
    sender.send_to(b"q", quiet.host().socket_addr().unwrap()).unwrap();
    let seen = order.clone();
    stop_when(&reactor, move || seen.borrow().len() == 101);
    run_bounded(&reactor, LIMIT);
    let order = order.borrow();
    let quiet_at = order.iter().position(|entry| entry == "quiet").unwrap();
    assert!(
        quiet_at <= 64,
        "the quiet socket waited for more than one batch: position {quiet_at}"
    );
    let flood: Vec<&String> = order.iter().filter(|entry| entry.starts_with("flood")).collect();
    assert_eq!(flood.len(), 100, "every datagram arrived, in order");
    assert!(
        flood
            .iter()
            .enumerate()
            .all(|(n, entry)| **entry == format!("flood {n}"))
    );
}

#[test]
fn a_non_ip_destination_is_an_error() {
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_udp(addr("127.0.0.1:0"), recorder(&new_log(), |_, _, _| {}))
        .unwrap();
    let failure = port
        .write_to(b"x", &Address::unix_path("/tmp/nowhere.sock"))
        .unwrap_err();
    let error = failure.downcast_ref::<io::Error>().expect("an io::Error");
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(format!("{port:?}").contains(r#"kind: "udp""#), "{port:?}");
}
