//! The SOCKS5 client endpoint on the memory reactor (the test plays the
//! proxy), and the `socks5:` description.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::errors::{Cancelled, ConnectionRefused};
use gyre_core::{Address, Factory, Failure, Protocol, SharedFactory, Transport};
use gyre_endpoints::errors::NoProtocol;
use gyre_endpoints::{ClientEndpoint, Description, EndpointRegistry, TcpClientEndpoint, connect_protocol};
use gyre_protocols::socks::wire::{ReplyCode, TargetAddr};
use gyre_protocols::socks::{
    Socks5ClientEndpoint, Socks5ClientSpec, SocksClientError, register_socks5_client,
};
use gyre_testing::{MemoryReactor, assert_no_result, failure_result_of, success_result_of};

/// Records its callbacks in order.
#[derive(Default)]
struct App {
    log: Rc<RefCell<Vec<String>>>,
}

impl Protocol for App {
    fn connection_made(&mut self, transport: &Transport) {
        self.log
            .borrow_mut()
            .push(format!("made peer={}", transport.peer()));
        transport.write(b"GET / HTTP/1.0\r\n\r\n");
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.log
            .borrow_mut()
            .push(format!("data {}", data.escape_ascii()));
    }
    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.log.borrow_mut().push(format!("lost {reason}"));
    }
}

fn endpoint(reactor: &MemoryReactor, target: TargetAddr) -> Socks5ClientEndpoint {
    let proxy = TcpClientEndpoint::new(reactor.clone(), "127.0.0.1:1080".parse().unwrap());
    Socks5ClientEndpoint::new(Rc::new(proxy), target)
}

fn example() -> TargetAddr {
    TargetAddr::domain("example.com", 80).unwrap()
}

#[test]
fn the_application_starts_only_after_the_proxy_connected_and_gets_early_bytes_in_order() {
    let reactor = MemoryReactor::new();
    let endpoint = endpoint(&reactor, example()).with_credentials("alice", "pw");
    let app = App::default();
    let log = app.log.clone();
    let connected = connect_protocol(&endpoint, app);
    let mut proxy = reactor.connect_tcp_client(0).unwrap();
    assert_eq!(proxy.transport().take(), [5, 2, 0, 2]);
    proxy.data_received(&[5, 2]);
    assert_eq!(proxy.transport().take(), b"\x01\x05alice\x02pw");
    proxy.data_received(&[1, 0]);
    assert_eq!(
        proxy.transport().take(),
        b"\x05\x01\x00\x03\x0bexample.com\x00\x50"
    );
    assert_no_result(&connected);
    assert!(log.borrow().is_empty(), "no connection_made before the reply");
    proxy.data_received(b"\x05\x00\x00\x01\x0a\x00\x00\x01\x30\x39HTTP/1.0 200");
    let connected = success_result_of(connected);
    assert_eq!(
        connected.transport.peer(),
        Address::Hostname {
            host: "example.com".into(),
            port: 80
        }
    );
    assert_eq!(connected.transport.kind(), "socks5");
    proxy.data_received(b" OK\r\n");
    assert_eq!(
        *log.borrow(),
        [
            "made peer=host:example.com:80",
            "data HTTP/1.0 200",
            "data  OK\\r\\n"
        ]
    );
    assert_eq!(proxy.transport().take(), b"GET / HTTP/1.0\r\n\r\n");
    proxy.peer_closed();
    assert_eq!(log.borrow().last().unwrap(), "lost connection was closed cleanly");
}

#[test]
fn refusals_are_typed_and_carry_the_reply_code() {
    for (answer, expected) in [
        (
            &b"\x05\x00\x05\x04\x00\x01\0\0\0\0\0\0"[..],
            SocksClientError::Rejected(ReplyCode::HostUnreachable),
        ),
        (b"\x05\xff", SocksClientError::NoAcceptableMethod),
        (b"\x05\x02", SocksClientError::PasswordRequired),
    ] {
        let reactor = MemoryReactor::new();
        let connected = connect_protocol(&endpoint(&reactor, example()), App::default());
        let mut proxy = reactor.connect_tcp_client(0).unwrap();
        proxy.data_received(answer);
        let failure = failure_result_of(connected);
        assert_eq!(
            failure.downcast_ref::<SocksClientError>(),
            Some(&expected),
            "{failure}"
        );
        assert!(!proxy.is_connected(), "the proxy connection is closed");
    }
    let reactor = MemoryReactor::new();
    let connected = connect_protocol(&endpoint(&reactor, example()), App::default());
    let mut proxy = reactor.connect_tcp_client(0).unwrap();
    proxy.data_received(&[5]);
    proxy.peer_closed();
    let failure = failure_result_of(connected);
    assert_eq!(failure.downcast_ref(), Some(&SocksClientError::ProxyClosed));
}

#[test]
fn an_unreachable_proxy_fails_with_its_own_reason() {
    let reactor = MemoryReactor::new();
    let connected = connect_protocol(&endpoint(&reactor, example()), App::default());
    reactor.tcp_clients()[0]
        .connector
        .fail(Failure::new(ConnectionRefused::new()));
    let failure = failure_result_of(connected);
    assert!(failure.is::<ConnectionRefused>(), "{failure}");
    assert!(
        failure.contexts().any(|c| c == "connecting to the SOCKS proxy"),
        "{failure:?}"
    );
}

#[test]
fn cancelling_abandons_the_attempt_or_aborts_the_negotiation() {
    let reactor = MemoryReactor::new();
    let connected = connect_protocol(&endpoint(&reactor, example()), App::default());
    connected.cancel();
    assert!(failure_result_of(connected).is::<Cancelled>());
    assert_eq!(reactor.tcp_clients()[0].connector.stop_connecting_calls(), 1);

    let connected = connect_protocol(&endpoint(&reactor, example()), App::default());
    let mut proxy = reactor.connect_tcp_client(1).unwrap();
    proxy.data_received(&[5, 0]);
    connected.cancel();
    assert!(failure_result_of(connected).is::<Cancelled>());
    assert!(proxy.transport().is_aborted());
    proxy.settle();
    assert!(!proxy.is_connected());
}

#[test]
fn a_factory_that_builds_nothing_fails_the_connect() {
    struct Nothing;
    impl Factory for Nothing {
        fn build_protocol(&mut self, _: &Address) -> Option<Box<dyn Protocol>> {
            None
        }
    }
    let reactor = MemoryReactor::new();
    let connected = endpoint(&reactor, TargetAddr::Ip("192.0.2.1:80".parse().unwrap()))
        .connect(SharedFactory::new(Nothing));
    let mut proxy = reactor.connect_tcp_client(0).unwrap();
    assert_eq!(proxy.transport().take(), [5, 1, 0]);
    proxy.data_received(&[5, 0]);
    assert_eq!(
        proxy.transport().take(),
        [5, 1, 0, 1, 192, 0, 2, 1, 0, 80],
        "an IP target is sent as an address"
    );
    proxy.data_received(b"\x05\x00\x00\x01\x0a\x00\x00\x01\x30\x39");
    assert!(failure_result_of(connected).is::<NoProtocol>());
    assert!(!proxy.is_connected());
}

fn spec(text: &str) -> Result<Socks5ClientSpec, String> {
    Socks5ClientSpec::parse(&Description::parse(text).unwrap()).map_err(|e| e.to_string())
}

#[test]
fn socks5_descriptions_parse() {
    let parsed =
        spec("socks5:proxy.example:1080:host=example.com:port=443:user=alice:password=a\\:b").unwrap();
    assert_eq!(parsed.proxy_host, "proxy.example");
    assert_eq!(parsed.proxy_port, 1080);
    assert_eq!(parsed.target, TargetAddr::domain("example.com", 443).unwrap());
    assert_eq!(parsed.credentials, Some(("alice".into(), "a:b".into())));
    let positional = spec("socks5:127.0.0.1:9050:2001\\:db8\\:\\:1:80:timeout=2.5").unwrap();
    assert_eq!(
        positional.target,
        TargetAddr::Ip("[2001:db8::1]:80".parse().unwrap())
    );
    assert_eq!(positional.timeout, Duration::from_millis(2500));
    for (bad, says) in [
        ("socks5:proxy:1080:host=x", "port"),
        ("socks5:proxy:99999:host=x:port=1", "proxyPort"),
        ("socks5:proxy:1080:host=x:port=1:user=u", "password"),
        ("socks5:proxy:1080:host=x:port=1:colour=red", "colour"),
        ("socks5::1080:host=x:port=1", "proxyHost"),
    ] {
        let error = spec(bad).unwrap_err();
        assert!(error.contains(says), "{bad}: {error}");
    }
    let mut registry = EndpointRegistry::default();
    register_socks5_client(&mut registry);
    assert!(registry.client_prefixes().contains(&"socks5".to_owned()));
}
