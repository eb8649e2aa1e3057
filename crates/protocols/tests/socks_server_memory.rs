//! The SOCKS server on the memory reactor: CONNECT in every version,
//! authentication, the access policy, reply codes for every failure, the
//! handshake timeout on the manual clock, and relaying through the SOCKS
//! connection.

mod socks_support;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::errors::{ConnectionRefused, TimedOut};
use gyre_core::{Deferred, Failure, Resolver};
use gyre_protocols::socks::wire::v5::PasswordAuth;
use gyre_protocols::socks::wire::{Command, ReplyCode, TargetAddr};
use gyre_protocols::socks::{AccessRequest, LoginDenied, PasswordChecker, StaticPasswords, reply_code_for};
use socks_support::*;

#[test]
fn socks5_connect_to_a_name_relays_both_ways_with_optimistic_data_first() {
    let reactor = server(|f| f);
    let mut client = connect(&reactor);
    let mut hello = vec![5, 1, 0];
    hello.extend(request5(Command::Connect, &name("db.internal", 5432)));
    hello.extend(b"early query");
    client.data_received(&hello);
    assert_eq!(client.transport().take(), [5, 0], "no reply before the outcome");
    assert!(client.transport().is_reading_paused());
    let attempt = &reactor.tcp_clients()[0];
    assert_eq!(attempt.addr, addr("10.0.0.5:5432"));
    let mut database = reactor.connect_tcp_client(0).unwrap();
    let local = attempt.connector.local_address().socket_addr().unwrap();
    assert_eq!(
        client.transport().take(),
        reply5(0, local),
        "bound: where the server connected from"
    );
    assert_eq!(database.transport().take(), b"early query");
    client.data_received(b"SELECT 1");
    assert_eq!(database.transport().take(), b"SELECT 1");
    database.data_received(b"1 row");
    assert_eq!(client.transport().take(), b"1 row");
    client.peer_half_closed();
    assert!(
        database.transport().is_write_closed(),
        "the client's EOF is forwarded"
    );
    database.peer_closed();
    assert!(client.transport().is_disconnecting());
}

#[test]
fn socks4_socks4a_and_ipv6_targets_connect() {
    let reactor = server(|f| f);
    let mut v4 = connect(&reactor);
    v4.data_received(b"\x04\x01\x1f\x90\xc0\x00\x02\x09alice\x00");
    assert_eq!(reactor.tcp_clients()[0].addr, addr("192.0.2.9:8080"));
    reactor.connect_tcp_client(0).unwrap();
    assert_eq!(&v4.transport().take()[..2], [0, 90]);

    let mut v4a = connect(&reactor);
    v4a.data_received(b"\x04\x01\x00\x50\x00\x00\x00\x01\x00v6.internal\x00");
    assert_eq!(reactor.tcp_clients()[1].addr, addr("[2001:db8::5]:80"));

    let mut v6 = connect(&reactor);
    v6.data_received(&[5, 1, 0]);
    v6.data_received(&request5(Command::Connect, &ip("[2001:db8::9]:443")));
    assert_eq!(reactor.tcp_clients()[2].addr, addr("[2001:db8::9]:443"));
}

#[test]
fn connection_failures_get_their_reply_codes_and_close() {
    let io_failure = |kind| Failure::new(io::Error::from(kind));
    let cases: Vec<(Failure, u8)> = vec![
        (Failure::new(ConnectionRefused::new()), 5),
        (Failure::new(TimedOut::new()), 4),
        (io_failure(io::ErrorKind::NetworkUnreachable), 3),
        (io_failure(io::ErrorKind::HostUnreachable), 4),
        (io_failure(io::ErrorKind::PermissionDenied), 1),
    ];
    for (failure, code) in cases {
        assert_eq!(reply_code_for(&failure).as_u8(), code, "{failure}");
        let reactor = server(|f| f);
        let mut client = connect(&reactor);
        client.data_received(&[5, 1, 0]);
        client.data_received(&request5(Command::Connect, &ip("192.0.2.1:25")));
        client.transport().take();
        reactor.tcp_clients()[0].connector.fail(failure);
        client.settle();
        assert_eq!(client.value(), refusal5(code));
        assert!(!client.is_connected());
    }
    // A name the resolver does not know: host unreachable, nothing dialled.
    let reactor = server(|f| f);
    let mut client = connect(&reactor);
    client.data_received(&[5, 1, 0]);
    client.data_received(&request5(Command::Connect, &name("nowhere.invalid", 80)));
    assert_eq!(client.transport().take(), [vec![5, 0], refusal5(4)].concat());
    assert!(reactor.tcp_clients().is_empty());
    // SOCKS4 knows only "rejected or failed".
    let mut client = connect(&reactor);
    client.data_received(b"\x04\x01\x00\x19\xc0\x00\x02\x01\x00");
    reactor.tcp_clients()[0]
        .connector
        .fail(Failure::new(ConnectionRefused::new()));
    assert_eq!(client.value(), REFUSAL4);
}

#[test]
fn unsupported_commands_and_address_types_are_answered() {
    let reactor = server(|f| f.allow_udp(false).allow_bind(false));
    for (request, code) in [
        (request5(Command::UdpAssociate, &ip("0.0.0.0:0")), 7),
        (request5(Command::Bind, &ip("192.0.2.1:21")), 7),
        (request5(Command::Other(0x42), &ip("192.0.2.1:21")), 7),
        (vec![5, 1, 0, 0x09, 1, 2, 3, 4, 0, 80], 8),
    ] {
        let mut client = connect(&reactor);
        client.data_received(&[5, 1, 0]);
        client.data_received(&request);
        assert_eq!(client.value(), [vec![5, 0], refusal5(code)].concat());
        assert!(!client.is_connected());
    }
    assert!(reactor.tcp_clients().is_empty() && reactor.udp_ports().is_empty());
}

#[test]
fn username_and_password_are_checked_and_socks4_is_refused() {
    let checker = Rc::new(StaticPasswords::new().with_user("alice", "secret"));
    let reactor = server(|f| f.with_password_checker(checker));
    let mut client = connect(&reactor);
    client.data_received(b"\x05\x02\x00\x02\x01\x05alice\x06secret");
    client.data_received(&request5(Command::Connect, &ip("192.0.2.1:80")));
    assert_eq!(client.transport().take(), [5, 2, 1, 0]);
    assert_eq!(reactor.tcp_clients().len(), 1);

    let mut wrong = connect(&reactor);
    wrong.data_received(b"\x05\x01\x02\x01\x05alice\x05wrong");
    assert_eq!(wrong.value(), [5, 2, 1, 1]);
    assert!(!wrong.is_connected());

    let mut anonymous = connect(&reactor);
    anonymous.data_received(&[5, 1, 0]);
    assert_eq!(anonymous.value(), [5, 0xff]);
    assert!(!anonymous.is_connected());

    let mut old = connect(&reactor);
    old.data_received(b"\x04\x01\x00\x50\xc0\x00\x02\x01\x00");
    assert_eq!(old.value(), REFUSAL4);
    assert_eq!(
        reactor.tcp_clients().len(),
        1,
        "only the authenticated client connected"
    );
}

/// A checker whose answers the test gives later.
#[derive(Default)]
struct LaterChecker {
    asked: RefCell<Vec<(PasswordAuth, Resolver<Vec<u8>>)>>,
}

impl PasswordChecker for LaterChecker {
    fn check(&self, credentials: &PasswordAuth) -> Deferred<Vec<u8>> {
        let (deferred, resolver) = Deferred::new();
        self.asked.borrow_mut().push((credentials.clone(), resolver));
        deferred
    }
}

#[test]
fn reading_pauses_while_an_asynchronous_checker_decides() {
    let checker = Rc::new(LaterChecker::default());
    let seen_user = Rc::new(RefCell::new(None));
    let seen = seen_user.clone();
    let policy = move |request: &AccessRequest<'_>| {
        *seen.borrow_mut() = request.user.map(<[u8]>::to_vec);
        true
    };
    let reactor = server(|f| {
        f.with_password_checker(checker.clone())
            .with_policy(Rc::new(policy))
    });
    let mut client = connect(&reactor);
    client.data_received(b"\x05\x01\x02\x01\x03bob\x02pw");
    assert!(client.transport().is_reading_paused());
    assert_eq!(client.transport().take(), [5, 2]);
    let (credentials, resolver) = checker.asked.borrow_mut().pop().unwrap();
    assert_eq!(credentials.username, b"bob");
    resolver.callback(b"bob@example".to_vec());
    assert!(!client.transport().is_reading_paused());
    assert_eq!(client.transport().take(), [1, 0]);
    client.data_received(&request5(Command::Connect, &ip("192.0.2.1:80")));
    assert_eq!(seen_user.borrow().as_deref(), Some(&b"bob@example"[..]));

    let mut refused = connect(&reactor);
    refused.data_received(b"\x05\x01\x02\x01\x03bob\x02no");
    let (_, resolver) = checker.asked.borrow_mut().pop().unwrap();
    resolver.errback(LoginDenied::new());
    refused.settle();
    assert_eq!(refused.value(), [5, 2, 1, 1]);
    assert!(!refused.is_connected());
}

#[test]
fn the_access_policy_refuses_targets_in_both_versions() {
    let policy = |request: &AccessRequest<'_>| match request.target {
        TargetAddr::Ip(addr) => !addr.ip().is_loopback(),
        TargetAddr::Domain { host, .. } => host != "db.internal",
    };
    let reactor = server(|f| f.with_policy(Rc::new(policy)));
    let mut denied = connect(&reactor);
    denied.data_received(&[5, 1, 0]);
    denied.data_received(&request5(Command::Connect, &name("db.internal", 1)));
    assert_eq!(denied.value(), [vec![5, 0], refusal5(2)].concat());
    let mut denied4 = connect(&reactor);
    denied4.data_received(b"\x04\x01\x00\x16\x7f\x00\x00\x01\x00");
    assert_eq!(denied4.value(), REFUSAL4);
    assert!(reactor.tcp_clients().is_empty());
    assert_eq!(
        reply_code_for(&Failure::new(ConnectionRefused::new())),
        ReplyCode::ConnectionRefused
    );
}

#[test]
fn a_client_that_does_not_finish_its_request_in_time_is_disconnected() {
    let reactor = server(|f| f.handshake_timeout(Duration::from_secs(10)));
    let mut slow = connect(&reactor);
    slow.data_received(&[5, 1]);
    let mut quick = connect(&reactor);
    quick.data_received(&[5, 1, 0]);
    quick.data_received(&request5(Command::Connect, &ip("192.0.2.1:80")));
    reactor.clock().advance(Duration::from_secs(9));
    slow.settle();
    assert!(slow.is_connected());
    reactor.clock().advance(Duration::from_secs(1));
    slow.settle();
    assert!(!slow.is_connected(), "timed out in the handshake");
    quick.settle();
    assert!(quick.is_connected(), "a complete request is not timed out");
    assert!(reactor.clock().calls().iter().all(|call| !call.active()));
}

#[test]
fn garbage_and_early_closes_end_the_connection_without_a_request() {
    let reactor = server(|f| f);
    let mut http = connect(&reactor);
    http.data_received(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(http.value(), b"");
    assert!(!http.is_connected());
    let mut half = connect(&reactor);
    half.data_received(&[5, 1, 0, 5, 1]);
    half.peer_half_closed();
    assert!(!half.is_connected());
    assert!(reactor.tcp_clients().is_empty());
}
