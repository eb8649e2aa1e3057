//! SOCKS BIND and UDP ASSOCIATE on the memory reactor: the two BIND
//! replies, the expected-host check and the BIND timeout on the manual
//! clock; the UDP relay both ways, its source filtering, fragments, host
//! names, the policy per datagram, and the association ending with its
//! control connection.

mod socks_support;

use std::rc::Rc;
use std::time::Duration;

use gyre_core::Address;
use gyre_protocols::socks::AccessRequest;
use gyre_protocols::socks::wire::udp::{UdpHeader, encode_header};
use gyre_protocols::socks::wire::{Command, TargetAddr};
use socks_support::*;

fn socks4_reply(port: u16, ip: [u8; 4]) -> Vec<u8> {
    let mut reply = vec![0, 90];
    reply.extend(port.to_be_bytes());
    reply.extend(ip);
    reply
}

#[test]
fn socks4_bind_listens_replies_twice_and_relays() {
    let reactor = server(|f| f);
    let mut client = connect(&reactor);
    client.data_received(b"\x04\x02\x00\x15\xc0\x00\x02\x05ftp\x00");
    let listener = reactor.tcp_servers()[1].clone();
    assert_eq!((listener.addr, listener.backlog), (addr("127.0.0.1:0"), 1));
    let port = listener.port.host().port().unwrap();
    assert_eq!(client.transport().take(), socks4_reply(port, [127, 0, 0, 1]));
    client.data_received(b"sent before the remote came");
    let mut remote = listener
        .port
        .accept(Address::tcp(addr("192.0.2.5:2000")))
        .unwrap();
    assert_eq!(client.transport().take(), socks4_reply(2000, [192, 0, 2, 5]));
    assert!(!listener.port.is_listening(), "one connection only");
    assert_eq!(remote.transport().take(), b"sent before the remote came");
    remote.data_received(b"RETR file");
    assert_eq!(client.transport().take(), b"RETR file");
    client.data_received(b"contents");
    assert_eq!(remote.value(), b"contents");
    client.peer_closed();
    remote.settle();
    assert!(!remote.is_connected());
    assert!(
        reactor.clock().calls().iter().all(|call| !call.active()),
        "the BIND timer was cancelled"
    );
}

#[test]
fn socks5_bind_sends_both_replies_in_socks5() {
    let reactor = server(|f| f);
    let mut client = connect(&reactor);
    client.data_received(&[5, 1, 0]);
    client.data_received(&request5(Command::Bind, &ip("0.0.0.0:0")));
    let listener = reactor.tcp_servers()[1].clone();
    let bound = listener.port.host().socket_addr().unwrap();
    assert_eq!(client.transport().take(), [vec![5, 0], reply5(0, bound)].concat());
    listener
        .port
        .accept(Address::tcp(addr("198.51.100.1:3000")))
        .unwrap();
    assert_eq!(
        client.transport().take(),
        reply5(0, addr("198.51.100.1:3000")),
        "any host when none was named"
    );
}

#[test]
fn a_bind_from_the_wrong_host_or_too_late_is_refused() {
    let reactor = server(|f| f.bind_timeout(Duration::from_secs(60)));
    let mut client = connect(&reactor);
    client.data_received(b"\x04\x02\x00\x15\xc0\x00\x02\x05\x00");
    let listener = reactor.tcp_servers()[1].clone();
    client.transport().take();
    assert!(
        listener
            .port
            .accept(Address::tcp(addr("203.0.113.9:2000")))
            .is_none()
    );
    reactor.clock().advance(Duration::ZERO);
    client.settle();
    assert_eq!(client.value(), REFUSAL4);
    assert!(!client.is_connected());
    assert!(!listener.port.is_listening());

    let mut client = connect(&reactor);
    client.data_received(b"\x04\x02\x00\x15\xc0\x00\x02\x05\x00");
    let listener = reactor.tcp_servers()[2].clone();
    client.transport().take();
    reactor.clock().advance(Duration::from_secs(59));
    client.settle();
    assert!(client.is_connected());
    reactor.clock().advance(Duration::from_secs(1));
    client.settle();
    assert_eq!(client.value(), REFUSAL4);
    assert!(!client.is_connected() && !listener.port.is_listening());
}

fn datagram(target: &TargetAddr, frag: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let header = UdpHeader {
        frag,
        target: target.clone(),
    };
    encode_header(&header, &mut bytes);
    bytes.extend_from_slice(payload);
    bytes
}

fn udp(text: &str) -> Address {
    Address::udp(addr(text))
}

#[test]
fn udp_associate_relays_for_the_client_only_and_ends_with_the_control_connection() {
    let policy = |request: &AccessRequest<'_>| request.resolved != Some(addr("192.0.2.66:53"));
    let reactor = server(|f| f.with_policy(Rc::new(policy)));
    let mut client = connect(&reactor);
    client.data_received(&[5, 1, 0]);
    client.data_received(&request5(Command::UdpAssociate, &ip("0.0.0.0:0")));
    let relay = reactor.udp_ports()[0].clone();
    assert_eq!(relay.addr, addr("127.0.0.1:0"));
    let bound = relay.port.host().socket_addr().unwrap();
    assert_eq!(client.transport().take(), [vec![5, 0], reply5(0, bound)].concat());

    let resolver_target = ip("192.0.2.50:53");
    relay
        .port
        .deliver(&datagram(&resolver_target, 0, b"query"), &udp("127.0.0.1:6000"));
    assert_eq!(
        relay.port.take_sent(),
        [(b"query".to_vec(), udp("192.0.2.50:53"))]
    );
    relay.port.deliver(b"answer", &udp("192.0.2.50:53"));
    let back = datagram(&resolver_target, 0, b"answer");
    assert_eq!(relay.port.take_sent(), [(back, udp("127.0.0.1:6000"))]);

    // Dropped: fragments, other sources, replies from hosts never asked,
    // malformed headers, destinations the policy denies, IPv6 through an
    // IPv4 relay.
    relay.port.deliver(
        &datagram(&resolver_target, 1, b"fragment"),
        &udp("127.0.0.1:6000"),
    );
    relay
        .port
        .deliver(&datagram(&resolver_target, 0, b"spoof"), &udp("203.0.113.1:6000"));
    relay.port.deliver(
        &datagram(&resolver_target, 0, b"other port"),
        &udp("127.0.0.1:6001"),
    );
    relay.port.deliver(b"unsolicited", &udp("192.0.2.51:53"));
    relay.port.deliver(&[0, 0, 0, 9], &udp("127.0.0.1:6000"));
    relay.port.deliver(
        &datagram(&ip("192.0.2.66:53"), 0, b"denied"),
        &udp("127.0.0.1:6000"),
    );
    relay.port.deliver(
        &datagram(&name("v6.internal", 53), 0, b"v6"),
        &udp("127.0.0.1:6000"),
    );
    assert_eq!(relay.port.take_sent(), []);

    // A host name is resolved by the server.
    relay.port.deliver(
        &datagram(&name("db.internal", 7), 0, b"ping"),
        &udp("127.0.0.1:6000"),
    );
    assert_eq!(relay.port.take_sent(), [(b"ping".to_vec(), udp("10.0.0.5:7"))]);

    client.data_received(b"bytes on the control connection are ignored");
    assert_eq!(client.value(), b"");
    client.peer_closed();
    assert!(
        !relay.port.is_listening(),
        "the association ended with its control connection"
    );
}

#[test]
fn udp_associate_with_a_named_client_port_accepts_only_that_port() {
    let reactor = server(|f| f);
    let mut client = connect(&reactor);
    client.data_received(&[5, 1, 0]);
    client.data_received(&request5(Command::UdpAssociate, &name("0", 7000)));
    let relay = reactor.udp_ports()[0].clone();
    let target = ip("192.0.2.1:9");
    relay
        .port
        .deliver(&datagram(&target, 0, b"wrong port"), &udp("127.0.0.1:6000"));
    assert_eq!(relay.port.take_sent(), []);
    relay
        .port
        .deliver(&datagram(&target, 0, b"right port"), &udp("127.0.0.1:7000"));
    assert_eq!(
        relay.port.take_sent(),
        [(b"right port".to_vec(), udp("192.0.2.1:9"))]
    );
}
