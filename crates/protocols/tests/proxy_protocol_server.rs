//! The PROXY protocol server adapter with the in-memory doubles: the
//! wrapped protocol sees the header's addresses, starts only after the
//! header, gets the bytes after it in order (at every chunk size), and bad
//! headers, refused clients, early closes and slow peers (manual clock)
//! close the connection with a clear reason. Also the `haproxy:` prefix.

mod policies_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::capability::PeerCertificates;
use gyre_core::{Address, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::{EndpointRegistry, ParseErrorKind};
use gyre_protocols::policies::{PeerLimit, wrap_factory};
use gyre_protocols::proxy_protocol::{
    ProxyHeader, ProxyHeaderError, ProxyInfo, ProxyProtocolOptions, Tlv, Version, register_haproxy,
    server_factory, tlv,
};
use gyre_testing::{ManualClock, StringTransport, StringTransportWithDisconnection, feed_chunked};
use policies_support::{clock, echo_factory, tcp};

/// Writes `peer host` on connection, then echoes.
struct Announce;

impl Protocol for Announce {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(format!("{} {}\n", transport.peer(), transport.host()).as_bytes());
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

fn announce() -> SharedFactory {
    SharedFactory::new(protocol_factory(|_: &Address| Announce))
}

type Rejections = Rc<RefCell<Vec<(Address, ProxyHeaderError)>>>;

fn options(clock: &ManualClock) -> (ProxyProtocolOptions, Rejections) {
    let rejections = Rejections::default();
    let list = rejections.clone();
    let options = ProxyProtocolOptions::new(Rc::new(clock.clone()))
        .header_timeout(Duration::from_secs(3))
        .on_rejected(move |peer, error| list.borrow_mut().push((peer.clone(), error.clone())));
    (options, rejections)
}

const PROXY_PEER: &str = "10.0.0.2:55555";

fn connect(factory: &SharedFactory) -> StringTransportWithDisconnection<Box<dyn Protocol>> {
    let transport = StringTransport::with_addresses(tcp("10.0.0.1:8080"), tcp(PROXY_PEER));
    StringTransportWithDisconnection::with_transport(
        factory.build_protocol(&tcp(PROXY_PEER)).unwrap(),
        transport,
    )
}

#[test]
fn the_wrapped_protocol_sees_the_client_and_the_bytes_after_the_header() {
    let (clock, _) = clock();
    let factory = server_factory(announce(), options(&clock).0);
    let mut conn = connect(&factory);
    assert_eq!(conn.value(), b"", "nothing runs before the header");
    conn.data_received(b"PROXY TCP4 198.51.100.7 203.0.113.1 40000 443\r\nhello");
    assert_eq!(
        conn.transport().take(),
        b"tcp:198.51.100.7:40000 tcp:203.0.113.1:443\nhello"
    );
    conn.data_received(b" again");
    assert_eq!(conn.transport().take(), b" again");
    assert!(clock.calls().is_empty(), "the header timeout was cancelled");
}

#[test]
fn the_whole_conversation_is_the_same_at_every_chunk_size() {
    let (clock, _) = clock();
    let factory = server_factory(announce(), options(&clock).0);
    let mut header = ProxyHeader::tcp(
        Version::V2,
        "[2001:db8::7]:1234".parse().unwrap(),
        "[2001:db8::1]:443".parse().unwrap(),
    );
    header.tlvs.push(Tlv::new(tlv::AUTHORITY, "example.org"));
    header.tlvs.push(Tlv::new(tlv::CRC32C, [0; 4]));
    let input = [header.encode().unwrap(), b"first line\nsecond".to_vec()].concat();
    let run = feed_chunked(|| factory.build_protocol(&tcp(PROXY_PEER)).unwrap(), &input);
    assert_eq!(
        String::from_utf8(run.written).unwrap(),
        "tcp:[2001:db8::7]:1234 tcp:[2001:db8::1]:443\nfirst line\nsecond"
    );
    assert!(!run.closed);
    let bad = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nGET /";
    let run = feed_chunked(|| factory.build_protocol(&tcp(PROXY_PEER)).unwrap(), bad);
    assert_eq!((run.written, run.closed), (Vec::new(), true));
}

/// Records the transport it was given.
struct Keep(Rc<RefCell<Option<Transport>>>);

impl Protocol for Keep {
    fn connection_made(&mut self, transport: &Transport) {
        *self.0.borrow_mut() = Some(transport.clone());
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

#[test]
fn the_header_and_its_tlvs_are_a_transport_capability() {
    let (clock, _) = clock();
    let kept: Rc<RefCell<Option<Transport>>> = Rc::default();
    let slot = kept.clone();
    let inner = SharedFactory::new(protocol_factory(move |_: &Address| Keep(slot.clone())));
    let factory = server_factory(inner, options(&clock).0);
    let mut conn = connect(&factory);
    conn.transport()
        .provide_capability::<PeerCertificates>(vec![b"cert".to_vec()]);
    let mut header = ProxyHeader::tcp(
        Version::V2,
        "192.0.2.1:1".parse().unwrap(),
        "192.0.2.2:2".parse().unwrap(),
    );
    header.tlvs = vec![Tlv::new(tlv::ALPN, "h2"), Tlv::new(tlv::UNIQUE_ID, "abc")];
    conn.data_received(&header.encode().unwrap());
    let transport = kept.borrow().clone().unwrap();
    let seen = transport.capability::<ProxyInfo>().unwrap();
    assert_eq!(seen, header);
    assert_eq!(seen.alpn(), Some(&b"h2"[..]));
    assert_eq!(
        transport.capability::<PeerCertificates>().unwrap(),
        vec![b"cert".to_vec()],
        "others pass through"
    );
    assert_eq!(transport.kind(), "string");
}

#[test]
fn local_and_unknown_headers_keep_the_real_addresses() {
    let (clock, _) = clock();
    let factory = server_factory(announce(), options(&clock).0);
    for header in [ProxyHeader::local(Version::V1), ProxyHeader::local(Version::V2)] {
        let mut conn = connect(&factory);
        conn.data_received(&header.encode().unwrap());
        assert_eq!(
            conn.value(),
            format!("tcp:{PROXY_PEER} tcp:10.0.0.1:8080\n").as_bytes()
        );
    }
}

#[test]
fn a_bad_or_missing_header_closes_with_the_reason() {
    let (clock, _) = clock();
    let (echo, built) = echo_factory();
    let (options, rejections) = options(&clock);
    let factory = server_factory(echo, options);
    let mut conn = connect(&factory);
    conn.data_received(b"GET / HTTP/1.1\r\n\r\n");
    assert!(!conn.is_connected() && conn.transport().is_aborted());
    let mut conn = connect(&factory);
    conn.data_received(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n");
    assert!(!conn.is_connected());
    assert_eq!(built.borrow().len(), 0, "no protocol was built for either");
    assert_eq!(
        *rejections.borrow(),
        [
            (tcp(PROXY_PEER), ProxyHeaderError::NotProxyProtocol),
            (
                tcp(PROXY_PEER),
                ProxyHeaderError::V1Malformed("a port is over 65535")
            ),
        ]
    );
    assert!(clock.calls().is_empty());
}

#[test]
fn a_slow_peer_is_cut_off_at_the_header_timeout() {
    let (clock, _) = clock();
    let (options, rejections) = options(&clock);
    let factory = server_factory(echo_factory().0, options);
    let mut slow = connect(&factory);
    slow.data_received(b"PROXY TCP4 1.2.3.4 ");
    clock.advance(Duration::from_secs(2));
    slow.data_received(b"5.6.7.8 ");
    clock.advance(Duration::from_secs(1));
    slow.settle();
    assert!(!slow.is_connected() && slow.transport().is_aborted());
    assert_eq!(
        *rejections.borrow(),
        [(tcp(PROXY_PEER), ProxyHeaderError::Timeout(Duration::from_secs(3)))]
    );
    // In time, no timeout.
    let mut quick = connect(&factory);
    clock.advance(Duration::from_millis(2900));
    quick.data_received(b"PROXY UNKNOWN\r\n");
    clock.advance(Duration::from_secs(10));
    quick.settle();
    assert!(quick.is_connected());
    assert_eq!(rejections.borrow().len(), 1);
}

#[test]
fn a_peer_closing_before_the_header_is_reported() {
    let (clock, _) = clock();
    let (options, rejections) = options(&clock);
    let factory = server_factory(echo_factory().0, options);
    let mut half = connect(&factory);
    half.data_received(b"PRO");
    half.peer_half_closed();
    assert!(!half.is_connected());
    let mut gone = connect(&factory);
    gone.peer_closed();
    let closed = (tcp(PROXY_PEER), ProxyHeaderError::ClosedBeforeHeader);
    assert_eq!(*rejections.borrow(), [closed.clone(), closed]);
    assert!(clock.calls().is_empty(), "both timers cancelled");
}

#[test]
fn factories_inside_see_the_client_so_per_client_limits_work_behind_the_proxy() {
    let (clock, _) = clock();
    let limit = PeerLimit::new(1);
    let factory = server_factory(wrap_factory(announce(), limit.clone()), options(&clock).0);
    let mut alice = connect(&factory);
    alice.data_received(b"PROXY TCP4 192.0.2.10 10.0.0.1 1000 8080\r\n");
    let mut bob = connect(&factory);
    bob.data_received(b"PROXY TCP4 192.0.2.20 10.0.0.1 1000 8080\r\n");
    assert!(
        alice.is_connected() && bob.is_connected(),
        "one proxy, two clients"
    );
    let mut alice_again = connect(&factory);
    alice_again.data_received(b"PROXY TCP4 192.0.2.10 10.0.0.1 2000 8080\r\n");
    assert!(
        !alice_again.is_connected(),
        "refused: the factory saw the client's address"
    );
    assert_eq!(limit.active(&tcp("192.0.2.10:0")), 1);
    alice.peer_closed();
    assert_eq!(limit.peers(), 1);
}

#[test]
fn the_haproxy_prefix_wraps_any_description() {
    let reactor = gyre_reactor::Reactor::new().unwrap();
    let mut registry = EndpointRegistry::default();
    register_haproxy(&mut registry);
    assert!(registry.server_prefixes().contains(&"haproxy".to_owned()));
    for good in [
        "haproxy:tcp:0:interface=127.0.0.1",
        "HAPROXY:timeout=2.5:maxHeader=1024:tcp:0",
        r"haproxy:unix:/tmp/gyre-haproxy\:test.sock",
    ] {
        assert!(registry.server_from_string(&reactor, good).is_ok(), "{good}");
    }
    let error = registry.server_from_string(&reactor, "haproxy:").err().unwrap();
    assert_eq!(error.kind(), &ParseErrorKind::MissingArgument("endpoint"));
    let error = registry
        .server_from_string(&reactor, "haproxy:timeout=x:tcp:0")
        .err()
        .unwrap();
    assert!(matches!(error.kind(), ParseErrorKind::InvalidValue { argument, .. } if argument == "timeout"));
    let error = registry
        .server_from_string(&reactor, "haproxy:colour=red:tcp:0")
        .err()
        .unwrap();
    assert_eq!(error.kind(), &ParseErrorKind::UnknownKey("colour".into()));
    let error = registry
        .server_from_string(&reactor, "haproxy:tcp:0:timeout=3")
        .err()
        .unwrap();
    assert_eq!(
        error.kind(),
        &ParseErrorKind::UnknownKey("timeout".into()),
        "options after the inner one are its own"
    );
    assert_eq!(error.position(), "haproxy:tcp:0:".len());
    let error = registry
        .server_from_string(&reactor, "haproxy:nope:0")
        .err()
        .unwrap();
    assert_eq!(
        (error.kind(), error.position()),
        (&ParseErrorKind::UnknownPrefix("nope".into()), 8)
    );
    reactor.close();
}
