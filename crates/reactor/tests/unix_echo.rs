//! Unix stream sockets end to end: echo over a path and an abstract name,
//! addresses, peer credentials, and connect failures.

mod tcp_support;
mod unix_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::address::UnixAddress;
use gyre_core::capability::{PeerCredentials, UnixCredentials};
use gyre_core::interfaces::ReactorUnix;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use gyre_reactor::unix::UnixConnectOptions;

use tcp_support::{Echo, Log, LoggingClient, Scripted, describe, pattern, run_until};
use unix_support::{ScratchDir, abstract_name};

const LIMIT: Duration = Duration::from_secs(10);

/// Echo server on `address`; a client sends a message in two writes, waits
/// for all of it to come back and closes. Returns what came back and the
/// log.
fn echo_round_trip(address: UnixAddress) -> (Vec<u8>, Log) {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server_log = log.clone();
    let factory = protocol_factory(move |peer: &Address| {
        server_log.push(format!("server peer {peer}"));
        Echo
    });
    let port = reactor
        .listen_unix(address.clone(), factory.into(), 50, None)
        .unwrap();
    assert_eq!(port.host(), Address::Unix(address.clone()));
    let received = Rc::new(RefCell::new(Vec::new()));
    let client_log = log.clone();
    let buffer = received.clone();
    let client = LoggingClient::new("client", &log, move || {
        let log = client_log.clone();
        Scripted::new("client", &log)
            .into_buffer(&buffer)
            .on_made(move |transport| {
                log.push(format!("client peer {}", transport.peer()));
                transport.write(b"hello, ");
                transport.write(b"unix");
            })
            .on_data(|transport, _| transport.lose_connection())
    });
    let done = log.clone();
    reactor.connect_unix(address, client.into(), LIMIT);
    let finished = received.clone();
    run_until(&reactor, LIMIT, &log, move || {
        finished.borrow().len() >= 11 && done.has("client connector lost: done")
    });
    let echoed = received.borrow().clone();
    (echoed, log)
}

#[test]
fn echo_over_a_path_socket() {
    let dir = ScratchDir::new("unix-echo");
    let path = dir.join("echo.sock");
    let (echoed, log) = echo_round_trip(UnixAddress::Path(path.clone()));
    assert_eq!(echoed, b"hello, unix");
    assert!(
        log.has(&format!("client peer unix:{}", path.display())),
        "{log:?}"
    );
    assert!(log.has("server peer unix:(unnamed)"), "{log:?}");
    assert!(log.has("client lost: done"), "{log:?}");
}

#[test]
fn echo_over_an_abstract_name() {
    let address = abstract_name("echo");
    let (echoed, log) = echo_round_trip(address.clone());
    assert_eq!(echoed, b"hello, unix");
    assert!(log.has(&format!("client peer unix:{address}")), "{log:?}");
}

#[test]
fn peer_credentials_name_this_process() {
    let reactor = Reactor::new().unwrap();
    let address = abstract_name("credentials");
    let seen: Rc<RefCell<Vec<UnixCredentials>>> = Rc::default();
    let server_seen = seen.clone();
    let factory = protocol_factory(move |_: &Address| {
        let seen = server_seen.clone();
        Scripted::new("server", &Log::new()).on_made(move |transport| {
            seen.borrow_mut()
                .push(transport.capability::<PeerCredentials>().unwrap());
            transport.lose_connection();
        })
    });
    let _port = reactor
        .listen_unix(address.clone(), factory.into(), 50, None)
        .unwrap();
    let log = Log::new();
    let client_seen = seen.clone();
    let client = LoggingClient::new("client", &log, move || {
        let seen = client_seen.clone();
        Scripted::new("client", &Log::new()).on_made(move |transport| {
            seen.borrow_mut()
                .push(transport.capability::<PeerCredentials>().unwrap())
        })
    });
    reactor.connect_unix(address, client.into(), LIMIT);
    let done = log.clone();
    run_until(&reactor, LIMIT, &log, move || {
        done.has("client connector lost: done")
    });
    let expected = UnixCredentials {
        uid: rustix::process::getuid().as_raw(),
        gid: rustix::process::getgid().as_raw(),
        pid: Some(std::process::id()),
    };
    assert_eq!(*seen.borrow(), [expected, expected]);
}

#[test]
fn connecting_to_a_missing_socket_file_fails_with_not_found() {
    let dir = ScratchDir::new("unix-missing");
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let kind = Rc::new(RefCell::new(None));
    let seen = kind.clone();
    let client = LoggingClient::new("client", &log, || Scripted::new("never", &Log::new())).on_failed(
        move |_, failure| {
            *seen.borrow_mut() = failure.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        },
    );
    reactor.connect_unix(UnixAddress::Path(dir.join("absent.sock")), client.into(), LIMIT);
    let done = log.clone();
    run_until(&reactor, LIMIT, &log, move || {
        done.count_prefix("client failed") == 1
    });
    assert_eq!(*kind.borrow(), Some(std::io::ErrorKind::NotFound));
}

#[test]
fn connecting_to_a_socket_nobody_listens_on_is_refused() {
    let dir = ScratchDir::new("unix-refused");
    let path = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let client = LoggingClient::new("client", &log, || Scripted::new("never", &Log::new()));
    reactor.connect_unix(UnixAddress::Path(path), client.into(), LIMIT);
    let done = log.clone();
    run_until(&reactor, LIMIT, &log, move || {
        done.count_prefix("client failed") == 1
    });
    assert_eq!(
        log.events(),
        [
            "client factory started",
            "client failed: refused",
            "client factory stopped"
        ]
    );
}

/// A listener that never accepts, with its queue filled: Linux answers
/// `EAGAIN` at once, and the connector keeps dialing until the timeout.
fn full_listener(address: &UnixAddress) -> (socket2::Socket, Vec<socket2::Socket>) {
    use socket2::{Domain, SockAddr, Socket, Type};
    let UnixAddress::Abstract(name) = address else {
        unreachable!()
    };
    let mut raw = vec![0u8];
    raw.extend_from_slice(name);
    let sockaddr = SockAddr::unix(std::ffi::OsStr::new(std::str::from_utf8(&raw).unwrap())).unwrap();
    let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    listener.bind(&sockaddr).unwrap();
    listener.listen(0).unwrap();
    let mut queued = Vec::new();
    loop {
        let client = Socket::new(Domain::UNIX, Type::STREAM.nonblocking(), None).unwrap();
        match client.connect(&sockaddr) {
            Ok(()) => queued.push(client),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(error) => panic!("filling the queue: {error}"),
        }
        assert!(queued.len() < 1000, "the queue never filled");
    }
    (listener, queued)
}

#[test]
fn a_full_listen_queue_times_out() {
    let address = abstract_name("full");
    let (_listener, _queued) = full_listener(&address);
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let client = LoggingClient::new("client", &log, || Scripted::new("never", &Log::new()));
    let options = UnixConnectOptions::default().timeout(Duration::from_millis(150));
    let started = std::time::Instant::now();
    reactor.connect_unix_with(address, client, options);
    let done = log.clone();
    run_until(&reactor, LIMIT, &log, move || {
        done.count_prefix("client failed") == 1
    });
    assert!(log.has("client failed: timed out"), "{log:?}");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[test]
fn a_full_listen_queue_connects_once_there_is_room() {
    let address = abstract_name("room");
    let (listener, _queued) = full_listener(&address);
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || Scripted::new("client", &log)
    });
    reactor.connect_unix(address, client.into(), LIMIT);
    // Make room after a while, as a slow server would.
    let listener = Rc::new(listener);
    let server = listener.clone();
    drop(reactor.call_later(Duration::from_millis(50), move || {
        drop(server.accept().expect("a queued connection"));
    }));
    let done = log.clone();
    run_until(&reactor, LIMIT, &log, move || {
        done.has("client made") || done.count_prefix("client failed") > 0
    });
    assert!(log.has("client made"), "{log:?}");
    drop(listener);
}

#[test]
fn several_mebibytes_round_trip_intact() {
    let reactor = Reactor::new().unwrap();
    let address = abstract_name("large");
    let _port = reactor.listen_unix(
        address.clone(),
        protocol_factory(|_: &Address| Echo).into(),
        50,
        None,
    );
    let payload = pattern(4 << 20);
    let log = Log::new();
    let received = Rc::new(RefCell::new(Vec::new()));
    let buffer = received.clone();
    let outgoing = payload.clone();
    let client = LoggingClient::new("client", &log, move || {
        let outgoing = outgoing.clone();
        let expected = outgoing.len();
        let seen = buffer.clone();
        Scripted::new("client", &Log::new())
            .into_buffer(&buffer)
            .on_made(move |transport| transport.write(&outgoing))
            .on_data(move |transport, _| {
                if seen.borrow().len() >= expected {
                    transport.lose_connection();
                }
            })
    });
    reactor.connect_unix(address, client.into(), LIMIT);
    let done = log.clone();
    run_until(&reactor, LIMIT, &log, move || {
        done.count_prefix("client connector lost") == 1
    });
    assert!(log.has("client connector lost: done"), "{log:?}");
    assert!(*received.borrow() == payload, "{}", describe(&received.borrow()));
}
