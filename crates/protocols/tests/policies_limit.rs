//! Connection limits: the count follows connections as they open and end
//! (however they end), overflow is refused or diverted to a busy answer,
//! and per-peer limits key on the IP address.

mod policies_support;

use gyre_core::{Address, SharedFactory};
use gyre_protocols::policies::{ConnectionLimit, PeerKey, PeerLimit, busy, wrap_factory};
use gyre_testing::{StringTransport, StringTransportWithDisconnection, connect_pair_with_addresses};
use policies_support::{Recorder, echo_factory, lost, tcp};

fn connect(
    factory: &SharedFactory,
    peer: &Address,
) -> Option<StringTransportWithDisconnection<Box<dyn gyre_core::Protocol>>> {
    let protocol = factory.build_protocol(peer)?;
    let transport = StringTransport::with_addresses(tcp("127.0.0.1:8000"), peer.clone());
    Some(StringTransportWithDisconnection::with_transport(
        protocol, transport,
    ))
}

#[test]
fn total_limit_counts_opens_and_every_kind_of_end() {
    let limit = ConnectionLimit::new(2);
    let (echo, built) = echo_factory();
    let factory = wrap_factory(echo, limit.clone());
    let peer = tcp("127.0.0.1:5000");
    let mut first = connect(&factory, &peer).unwrap();
    let mut second = connect(&factory, &peer).unwrap();
    assert_eq!(limit.active(), 2);
    assert!(connect(&factory, &peer).is_none(), "the third is closed at once");
    assert_eq!((limit.active(), limit.overflowed()), (2, 1));
    assert_eq!(built.borrow().len(), 2, "the wrapped factory never saw it");

    first.peer_closed();
    assert_eq!(limit.active(), 1, "a clean close gives the slot back");
    let mut third = connect(&factory, &peer).unwrap();
    assert_eq!(limit.active(), 2);
    second.transport().handle().abort_connection();
    second.settle();
    assert_eq!(limit.active(), 1, "an abort gives it back");
    third.close_with(gyre_core::Failure::new(gyre_core::errors::ConnectionLost::new()));
    assert_eq!(limit.active(), 0, "a reset gives it back");
    assert_eq!(
        lost(&built.borrow()[2]),
        "lost",
        "the wrapped protocol heard the real reason"
    );

    // A protocol dropped without ever connecting also releases its slot.
    let never_connected = factory.build_protocol(&peer).unwrap();
    assert_eq!(limit.active(), 1);
    drop(never_connected);
    assert_eq!(limit.active(), 0);
    // connection_lost then drop releases once, not twice.
    let mut conn = connect(&factory, &peer).unwrap();
    conn.peer_closed();
    drop(conn);
    assert_eq!(limit.active(), 0);
    let _a = connect(&factory, &peer).unwrap();
    let _b = connect(&factory, &peer).unwrap();
    assert!(connect(&factory, &peer).is_none(), "still exactly two");
}

#[test]
fn overflow_gets_the_busy_answer_and_does_not_count() {
    let limit = ConnectionLimit::new(1).overflow(busy(b"421 too many connections\r\n"));
    let (echo, _) = echo_factory();
    let factory = wrap_factory(echo, limit.clone());
    let peer = tcp("127.0.0.1:5000");
    let mut admitted = connect(&factory, &peer).unwrap();
    admitted.data_received(b"echo me");
    assert_eq!(admitted.value(), b"echo me");
    for _ in 0..3 {
        let busy = connect(&factory, &peer).unwrap();
        assert_eq!(busy.value(), b"421 too many connections\r\n");
        assert!(!busy.is_connected(), "the busy protocol closes");
    }
    assert_eq!((limit.active(), limit.overflowed()), (1, 3));
}

#[test]
fn set_max_changes_the_limit_for_new_connections() {
    let limit = ConnectionLimit::new(1);
    let factory = wrap_factory(echo_factory().0, limit.clone());
    let peer = tcp("127.0.0.1:5000");
    let _one = connect(&factory, &peer).unwrap();
    assert!(connect(&factory, &peer).is_none());
    limit.set_max(2);
    let _two = connect(&factory, &peer).unwrap();
    limit.set_max(0);
    assert!(connect(&factory, &peer).is_none());
    assert_eq!(limit.active(), 2, "lowering the limit closes nobody");
}

#[test]
fn per_peer_limit_keys_on_the_ip_address() {
    let limit = PeerLimit::new(2).overflow(busy(b"busy\r\n"));
    let factory = wrap_factory(echo_factory().0, limit.clone());
    let alice = tcp("192.0.2.1:1000");
    let alice_other_port = tcp("192.0.2.1:2000");
    let alice_mapped = Address::tcp("[::ffff:192.0.2.1]:3000".parse().unwrap());
    let bob = tcp("192.0.2.2:1000");
    assert_eq!(PeerKey::of(&alice_mapped), PeerKey::of(&alice));

    let mut a1 = connect(&factory, &alice).unwrap();
    let _a2 = connect(&factory, &alice_other_port).unwrap();
    let refused = connect(&factory, &alice_mapped).unwrap();
    assert_eq!(
        refused.value(),
        b"busy\r\n",
        "the same host over IPv4-mapped IPv6"
    );
    let _b1 = connect(&factory, &bob).unwrap();
    let _b2 = connect(&factory, &bob).unwrap();
    assert_eq!(limit.active(&alice), 2);
    assert_eq!(limit.active(&bob), 2);
    assert_eq!((limit.peers(), limit.overflowed()), (2, 1));

    a1.peer_closed();
    assert_eq!(limit.active(&alice), 1);
    let _a3 = connect(&factory, &alice_mapped).unwrap();
    assert_eq!(connect(&factory, &alice).unwrap().value(), b"busy\r\n");
}

#[test]
fn per_peer_entries_vanish_when_their_last_connection_ends() {
    let limit = PeerLimit::new(1);
    let factory = wrap_factory(echo_factory().0, limit.clone());
    let mut conns: Vec<_> = (1..=50)
        .map(|i| connect(&factory, &tcp(&format!("198.51.100.{i}:40000"))).unwrap())
        .collect();
    assert_eq!(limit.peers(), 50);
    for conn in &mut conns {
        conn.peer_closed();
    }
    assert_eq!(limit.peers(), 0, "no memory kept for peers without connections");
    let unix = Address::unix_path("/run/x.sock");
    let _u = connect(&factory, &unix).unwrap();
    assert!(
        connect(&factory, &unix).is_none(),
        "non-IP peers are keyed by their whole address"
    );
}

#[test]
fn limits_compose_and_the_overflow_factory_is_started_with_the_port() {
    let total = ConnectionLimit::new(3);
    let per_peer = PeerLimit::new(1);
    let overflow = busy(b"busy\r\n");
    let factory = wrap_factory(
        wrap_factory(echo_factory().0, per_peer.clone()),
        total.clone().overflow(overflow.clone()),
    );
    factory.do_start();
    assert_eq!(overflow.ports(), 1);
    let (client, client_seen) = Recorder::new();
    let protocol = factory.build_protocol(&tcp("192.0.2.9:1")).unwrap();
    let mut pair = connect_pair_with_addresses(protocol, client, tcp("127.0.0.1:80"), tcp("192.0.2.9:1"));
    assert!(
        factory.build_protocol(&tcp("192.0.2.9:2")).is_none(),
        "per-peer limit inside"
    );
    assert_eq!((total.active(), per_peer.active(&tcp("192.0.2.9:1"))), (1, 1));
    pair.client_transport().lose_connection();
    pair.pump();
    assert_eq!(lost(&client_seen), "done");
    assert_eq!((total.active(), per_peer.peers()), (0, 0));
    factory.do_stop();
    assert_eq!(overflow.ports(), 0);
}
