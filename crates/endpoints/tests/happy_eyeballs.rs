//! HostnameEndpoint on MemoryReactor + ManualClock: attempt spacing,
//! family interleaving, first success wins, failures, cancellation, IDNA.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use gyre_core::connector::ConnectorState;
use gyre_core::errors::{ConnectionRefused, DnsLookupFailed};
use gyre_core::{Address, Deferred, Failure, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::hostname::interleave;
use gyre_endpoints::{ClientEndpoint, HostResolver, HostnameEndpoint, StaticResolver};
use gyre_testing::{MemoryReactor, assert_no_result, failure_result_of, success_result_of};

struct Quiet;
impl Protocol for Quiet {
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn factory(built: Rc<RefCell<usize>>) -> SharedFactory {
    SharedFactory::new(protocol_factory(move |_: &Address| {
        *built.borrow_mut() += 1;
        Quiet
    }))
}

fn destinations(reactor: &MemoryReactor) -> Vec<SocketAddr> {
    reactor.tcp_clients().iter().map(|c| c.addr).collect()
}

fn endpoint(reactor: &MemoryReactor) -> HostnameEndpoint<MemoryReactor> {
    let resolver = StaticResolver::new().with(
        "example.test",
        &[
            ip("2001:db8::1"),
            ip("2001:db8::2"),
            ip("192.0.2.1"),
            ip("192.0.2.2"),
        ],
    );
    HostnameEndpoint::new(reactor.clone(), Rc::new(resolver), "example.test", 443)
}

#[test]
fn interleaves_families_starting_with_the_first() {
    let a = |s: &str| s.parse::<SocketAddr>().unwrap();
    let input = [
        a("[::1]:1"),
        a("[::2]:1"),
        a("[::3]:1"),
        a("10.0.0.1:1"),
        a("[::1]:1"),
    ];
    assert_eq!(
        interleave(&input),
        vec![a("[::1]:1"), a("10.0.0.1:1"), a("[::2]:1"), a("[::3]:1")]
    );
}

#[test]
fn a_new_attempt_every_300ms_and_the_first_success_wins() {
    let reactor = MemoryReactor::new();
    let built = Rc::new(RefCell::new(0));
    let d = endpoint(&reactor).connect(factory(built.clone()));
    assert_eq!(destinations(&reactor), vec!["[2001:db8::1]:443".parse().unwrap()]);
    reactor.clock().advance(Duration::from_millis(299));
    assert_eq!(reactor.tcp_clients().len(), 1);
    reactor.clock().advance(Duration::from_millis(1));
    reactor.clock().advance(Duration::from_millis(300));
    assert_eq!(
        destinations(&reactor),
        ["[2001:db8::1]:443", "192.0.2.1:443", "[2001:db8::2]:443"]
            .map(|s| s.parse().unwrap())
            .to_vec()
    );
    assert_no_result(&d);
    // The second attempt connects first.
    let _connection = reactor.connect_tcp_client(1).expect("a protocol");
    let connection = success_result_of(d);
    assert_eq!(connection.peer(), Address::tcp("192.0.2.1:443".parse().unwrap()));
    let clients = reactor.tcp_clients();
    assert_eq!(
        clients[0].connector.state(),
        ConnectorState::Disconnected,
        "loser cancelled"
    );
    assert_eq!(clients[0].connector.stop_connecting_calls(), 1);
    assert_eq!(clients[2].connector.stop_connecting_calls(), 1);
    // No more attempts, and exactly one protocol was built.
    reactor.clock().advance(Duration::from_secs(5));
    assert_eq!(reactor.tcp_clients().len(), 3);
    assert_eq!(*built.borrow(), 1);
}

#[test]
fn a_failure_starts_the_next_attempt_at_once_and_all_failing_fails() {
    let reactor = MemoryReactor::new();
    let d = endpoint(&reactor).connect(factory(Rc::default()));
    for n in 0..4 {
        assert_eq!(reactor.tcp_clients().len(), n + 1);
        reactor.tcp_clients()[n]
            .connector
            .fail(Failure::new(ConnectionRefused::new()));
    }
    let failure = failure_result_of(d);
    assert!(failure.is::<ConnectionRefused>(), "{failure:?}");
    assert!(
        failure.contexts().any(|c| c.contains("all 4 addresses failed")),
        "{failure:?}"
    );
}

#[test]
fn cancelling_abandons_every_attempt_and_the_timer() {
    let reactor = MemoryReactor::new();
    let d = endpoint(&reactor).connect(factory(Rc::default()));
    reactor.clock().advance(Duration::from_millis(300));
    d.cancel();
    let _ = failure_result_of(d);
    for client in reactor.tcp_clients() {
        assert_eq!(client.connector.state(), ConnectorState::Disconnected);
    }
    reactor.clock().advance(Duration::from_secs(1));
    assert_eq!(reactor.tcp_clients().len(), 2);
}

/// Records the names asked for and answers later, by hand.
#[derive(Default)]
struct ManualResolver {
    asked: RefCell<Vec<String>>,
    pending: RefCell<Vec<gyre_core::Resolver<Vec<SocketAddr>>>>,
}

impl HostResolver for ManualResolver {
    fn resolve(&self, host: &str, _: u16) -> Deferred<Vec<SocketAddr>> {
        self.asked.borrow_mut().push(host.to_owned());
        let (d, r) = Deferred::new();
        self.pending.borrow_mut().push(r);
        d
    }
}

#[test]
fn names_are_idna_encoded_and_lookup_failures_are_typed() {
    let reactor = MemoryReactor::new();
    let resolver = Rc::new(ManualResolver::default());
    let e = HostnameEndpoint::new(reactor.clone(), resolver.clone(), "Bücher.Example", 80);
    let d = e.connect(factory(Rc::default()));
    assert_eq!(*resolver.asked.borrow(), vec!["xn--bcher-kva.example".to_owned()]);
    resolver.pending.borrow()[0].errback(DnsLookupFailed::new("xn--bcher-kva.example", None));
    assert!(failure_result_of(d).is::<DnsLookupFailed>());

    let d = e.connect(factory(Rc::default()));
    resolver.pending.borrow()[1].callback(Vec::new());
    assert!(
        failure_result_of(d).is::<DnsLookupFailed>(),
        "no addresses is a lookup failure"
    );

    let bad = HostnameEndpoint::new(reactor.clone(), resolver.clone(), "a..b\u{0}", 80);
    assert!(failure_result_of(bad.connect(factory(Rc::default()))).is::<DnsLookupFailed>());

    // IP literals skip the resolver.
    let literal = HostnameEndpoint::new(reactor.clone(), resolver.clone(), "[::1]", 80);
    let _d = literal.connect(factory(Rc::default()));
    assert_eq!(resolver.asked.borrow().len(), 2);
    assert_eq!(destinations(&reactor), vec!["[::1]:80".parse().unwrap()]);
}

#[test]
fn cancelling_during_resolution_cancels_the_lookup() {
    let reactor = MemoryReactor::new();
    let resolver = Rc::new(ManualResolver::default());
    let e = HostnameEndpoint::new(reactor.clone(), resolver.clone(), "example.test", 80);
    let d = e.connect(factory(Rc::default()));
    d.cancel();
    assert!(resolver.pending.borrow()[0].is_fired(), "lookup cancelled");
    let _ = failure_result_of(d);
    assert!(reactor.tcp_clients().is_empty());
}
