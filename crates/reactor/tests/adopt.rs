//! Adopting sockets opened elsewhere: std listeners (TCP and Unix) and
//! std connected streams, plus the sockets that cannot be adopted.

mod tcp_support;
mod unix_support;

use std::cell::RefCell;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::address::UnixAddress;
use gyre_core::interfaces::{ReactorTcp, ReactorUnix};
use gyre_core::prelude::*;
use gyre_reactor::Reactor;

use tcp_support::{Echo, Log, LoggingClient, Scripted, run_until};
use unix_support::ScratchDir;

const LIMIT: Duration = Duration::from_secs(10);

/// A client that sends `ping`, closes once it came back, and records it.
fn pinger(log: &Log, received: &Rc<RefCell<Vec<u8>>>) -> LoggingClient {
    let buffer = received.clone();
    let log = log.clone();
    LoggingClient::new("client", &log.clone(), move || {
        Scripted::new("client", &log)
            .into_buffer(&buffer)
            .on_made(|transport| transport.write(b"ping"))
            .on_data(|transport, _| transport.lose_connection())
    })
}

fn run_until_lost(reactor: &Reactor, log: &Log) {
    let done = log.clone();
    run_until(reactor, LIMIT, log, move || {
        done.count_prefix("client connector lost") == 1
    });
}

#[test]
fn a_std_tcp_listener_serves_connections() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .adopt_listener(OwnedFd::from(listener), protocol_factory(|_: &Address| Echo))
        .unwrap();
    assert_eq!(port.host(), Address::tcp(address));
    let log = Log::new();
    let received = Rc::new(RefCell::new(Vec::new()));
    reactor.connect_tcp(address, pinger(&log, &received).into(), LIMIT, None);
    run_until_lost(&reactor, &log);
    assert_eq!(*received.borrow(), b"ping");
    assert!(log.has("client connector lost: done"), "{log:?}");
}

#[test]
fn a_std_unix_listener_serves_connections_and_keeps_its_file() {
    let dir = ScratchDir::new("adopt-unix");
    let path = dir.join("adopted.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .adopt_listener(OwnedFd::from(listener), protocol_factory(|_: &Address| Echo))
        .unwrap();
    assert_eq!(port.host(), Address::Unix(UnixAddress::Path(path.clone())));
    let log = Log::new();
    let received = Rc::new(RefCell::new(Vec::new()));
    reactor.connect_unix(
        UnixAddress::Path(path.clone()),
        pinger(&log, &received).into(),
        LIMIT,
    );
    run_until_lost(&reactor, &log);
    assert_eq!(*received.borrow(), b"ping");
    drop(port.stop_listening());
    assert!(path.exists(), "the socket file belongs to whoever bound it");
}

/// Adopts `ours` with an echo protocol and `theirs` with a pinger; both
/// run on the reactor.
fn adopt_both_ends(ours: OwnedFd, theirs: OwnedFd) -> (Vec<u8>, Log, Transport) {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server = reactor.adopt_connection(ours, Box::new(Echo)).unwrap();
    log.push(format!("server kind {}", server.kind()));
    let received = Rc::new(RefCell::new(Vec::new()));
    let client_log = log.clone();
    let client = Scripted::new("client", &log)
        .into_buffer(&received)
        .on_made(|transport| transport.write(b"ping"))
        .on_data(|transport, _| transport.lose_connection())
        .on_lost(move |_, _| client_log.push("client connector lost"));
    let client = reactor.adopt_connection(theirs, Box::new(client)).unwrap();
    assert!(
        log.has("client made"),
        "connection_made runs before adopt_connection returns"
    );
    run_until_lost(&reactor, &log);
    assert!(client.is_closed());
    let echoed = received.borrow().clone();
    (echoed, log, server)
}

#[test]
fn connected_tcp_streams_are_adopted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, peer) = listener.accept().unwrap();
    let server_address = server.local_addr().unwrap();
    let (echoed, log, server) = adopt_both_ends(OwnedFd::from(server), OwnedFd::from(client));
    assert_eq!(echoed, b"ping");
    assert!(log.has("client lost: done"), "{log:?}");
    assert_eq!(server.host(), Address::tcp(server_address));
    assert_eq!(server.peer(), Address::tcp(peer));
    assert!(log.has("server kind tcp"), "{log:?}");
}

#[test]
fn connected_unix_streams_are_adopted() {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let (echoed, log, server) = adopt_both_ends(OwnedFd::from(ours), OwnedFd::from(theirs));
    assert_eq!(echoed, b"ping");
    assert!(log.has("client lost: done"), "{log:?}");
    assert_eq!(server.peer(), Address::Unix(UnixAddress::Unnamed));
    assert!(log.has("server kind unix"), "{log:?}");
}

fn invalid_input(failure: Failure) -> io::ErrorKind {
    failure.downcast_ref::<io::Error>().expect("an io::Error").kind()
}

#[test]
fn sockets_of_the_wrong_kind_are_refused() {
    let reactor = Reactor::new().unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let failure = reactor
        .adopt_listener(OwnedFd::from(udp), protocol_factory(|_: &Address| Echo))
        .unwrap_err();
    assert_eq!(invalid_input(failure), io::ErrorKind::InvalidInput);

    let (one, _other) = std::os::unix::net::UnixStream::pair().unwrap();
    let failure = reactor
        .adopt_listener(OwnedFd::from(one), protocol_factory(|_: &Address| Echo))
        .unwrap_err();
    assert_eq!(
        invalid_input(failure),
        io::ErrorKind::InvalidInput,
        "a connected socket is no listener"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let failure = reactor
        .adopt_connection(OwnedFd::from(listener), Box::new(Echo))
        .unwrap_err();
    assert_eq!(
        invalid_input(failure),
        io::ErrorKind::InvalidInput,
        "a listener is no connection"
    );

    let file = std::fs::File::open("/dev/null").unwrap();
    let failure = reactor
        .adopt_connection(OwnedFd::from(file), Box::new(Echo))
        .unwrap_err();
    assert!(
        failure.downcast_ref::<io::Error>().is_some(),
        "not a socket at all"
    );
    assert_eq!(reactor.source_count(), 0);
}
