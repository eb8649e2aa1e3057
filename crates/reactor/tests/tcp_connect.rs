//! Opening TCP connections over real sockets: refused and timed-out
//! connects, cancelling, reconnecting from the factory's own callbacks, a
//! client factory that refuses, `disconnect`, the local address, and the
//! socket options (`TCP_NODELAY` on by default, keepalive).

mod tcp_support;

use std::cell::{Cell, RefCell};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::connector::{Connector, ConnectorState, ListeningPort};
use gyre_core::interfaces::ReactorTcp;
use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, ListenOptions, Reactor, TcpKeepAlive, TcpNoDelay};
use socket2::{Domain, Socket, Type};
use tcp_support::{Echo, Log, LoggingClient, Scripted, closed_port, ipv4, ipv6, run_until};

fn refused(family: SocketAddr) {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || Scripted::new("client", &log)
    });
    let connector = reactor.connect_tcp_with(closed_port(family), client, ConnectOptions::default());
    assert_eq!(connector.state(), ConnectorState::Connecting);
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.has("client factory stopped")
    });
    assert_eq!(
        log.events(),
        [
            "client factory started",
            "client failed: refused",
            "client factory stopped"
        ]
    );
    assert_eq!(connector.state(), ConnectorState::Disconnected);
}

#[test]
fn connecting_to_a_closed_port_is_refused_over_ipv4() {
    refused(ipv4());
}

#[test]
fn connecting_to_a_closed_port_is_refused_over_ipv6() {
    refused(ipv6());
}

/// A listening socket (a plain one, never accepting) whose accept queue is
/// full, so a further connect stays pending: the SYN is dropped.
struct FullBacklog {
    address: SocketAddr,
    _listener: Socket,
    _queued: Vec<Socket>,
}

fn full_backlog(family: SocketAddr) -> FullBacklog {
    let listener = Socket::new(Domain::for_address(family), Type::STREAM, None).unwrap();
    listener.bind(&family.into()).unwrap();
    listener.listen(0).unwrap();
    let address = listener.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    for _ in 0..8 {
        let socket = Socket::new(Domain::for_address(family), Type::STREAM, None).unwrap();
        match socket.connect_timeout(&address.into(), Duration::from_millis(200)) {
            Ok(()) => queued.push(socket),
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::TimedOut, "filling the backlog");
                return FullBacklog {
                    address,
                    _listener: listener,
                    _queued: queued,
                };
            }
        }
    }
    panic!("the listen queue never filled up");
}

#[test]
fn connecting_to_a_full_backlog_times_out() {
    let backlog = full_backlog(ipv4());
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || Scripted::new("client", &log)
    });
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    // Through the ReactorTcp trait, as endpoint code would call it.
    let _connector = reactor.connect_tcp(backlog.address, client.into(), timeout, None);
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.has("client factory stopped")
    });
    let elapsed = started.elapsed();
    assert_eq!(
        log.events(),
        [
            "client factory started",
            "client failed: timed out",
            "client factory stopped"
        ]
    );
    assert!(
        elapsed >= timeout,
        "gave up after {elapsed:?}, before the timeout"
    );
    assert!(elapsed < Duration::from_secs(3), "gave up only after {elapsed:?}");
}

#[test]
fn stop_connecting_cancels_a_pending_attempt() {
    let backlog = full_backlog(ipv6());
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || Scripted::new("client", &log)
    });
    let connector = reactor.connect_tcp_with(backlog.address, client, ConnectOptions::default());
    let (c, l) = (connector.clone(), log.clone());
    drop(reactor.call_later(Duration::from_millis(100), move || {
        assert_eq!(c.state(), ConnectorState::Connecting);
        c.stop_connecting();
        l.push("stopped");
        // A second stop and a disconnect change nothing.
        c.stop_connecting();
        c.disconnect();
    }));
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.has("client factory stopped")
    });
    assert_eq!(
        log.events(),
        [
            "client factory started",
            "stopped",
            "client failed: cancelled",
            "client factory stopped"
        ]
    );
    assert_eq!(connector.state(), ConnectorState::Disconnected);
}

#[test]
fn disconnect_from_connection_made_closes_the_new_connection() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let port = reactor
        .listen_tcp_with(ipv4(), protocol_factory(|_| Echo), ListenOptions::default())
        .unwrap();
    let connector: Rc<RefCell<Option<Connector>>> = Rc::default();
    let client = LoggingClient::new("client", &log, {
        let (log, connector) = (log.clone(), connector.clone());
        move || {
            let connector = connector.clone();
            Scripted::new("client", &log).on_made(move |t| {
                let connector = connector.borrow().clone().unwrap();
                assert_eq!(connector.state(), ConnectorState::Connected);
                connector.disconnect();
                assert!(
                    !t.is_closed(),
                    "disconnect is a lose_connection: it flushes first"
                );
            })
        }
    });
    *connector.borrow_mut() = Some(reactor.connect_tcp_with(
        port.host().socket_addr().unwrap(),
        client,
        ConnectOptions::default(),
    ));
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.has("client factory stopped")
    });
    assert_eq!(
        log.events(),
        [
            "client factory started",
            "client made",
            "client lost: done",
            "client connector lost: done",
            "client factory stopped"
        ]
    );
}

#[test]
fn a_client_factory_reconnects_from_its_own_callbacks() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    // Nothing listens there yet: the first attempts are refused.
    let address = closed_port(ipv4());
    let port: Rc<RefCell<Option<ListeningPort>>> = Rc::default();
    let failures = Rc::new(Cell::new(0));
    let connections = Rc::new(Cell::new(0));
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || {
            Scripted::new("client", &log)
                .on_data(|t, _| t.lose_connection())
                .on_made(|t| t.write(b"ping"))
        }
    })
    .on_failed({
        let (reactor, log, port, failures) = (reactor.clone(), log.clone(), port.clone(), failures.clone());
        move |connector, _| {
            failures.set(failures.get() + 1);
            if failures.get() == 3 {
                // Open the server from inside the callback, then retry.
                let server = {
                    let log = log.clone();
                    protocol_factory(move |_| Scripted::new("server", &log).on_data(|t, d| t.write(d)))
                };
                *port.borrow_mut() = Some(
                    reactor
                        .listen_tcp_with(address, server, ListenOptions::default())
                        .unwrap(),
                );
            }
            // Retry at once, while the factory is still borrowed.
            connector.connect();
            assert_eq!(connector.state(), ConnectorState::Connecting);
        }
    })
    .on_lost({
        let (reactor, connections) = (reactor.clone(), connections.clone());
        move |connector, _| {
            connections.set(connections.get() + 1);
            if connections.get() < 3 {
                // Reconnecting-factory style: retry after a delay.
                let connector = connector.clone();
                drop(reactor.call_later(Duration::from_millis(10), move || connector.connect()));
            }
        }
    });
    let _connector = reactor.connect_tcp_with(address, client, ConnectOptions::default());
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.count("client connector lost: done") == 3 && done.count("server lost: done") == 3
    });
    assert_eq!(log.count("client failed: refused"), 3, "{log:?}");
    assert_eq!(log.count("client made"), 3, "{log:?}");
    assert_eq!(log.count("client lost: done"), 3, "{log:?}");
    assert_eq!(log.count("server made"), 3, "{log:?}");
    // Immediate retries keep the factory started; a delayed retry leaves
    // the connector idle in between, so the factory is stopped and started
    // again (as in Twisted).
    assert_eq!(log.count("client factory started"), 3, "{log:?}");
    assert_eq!(log.count("client factory stopped"), 3, "{log:?}");
    let events = log.events();
    assert_eq!(
        events[..4],
        [
            "client factory started",
            "client failed: refused",
            "client failed: refused",
            "client failed: refused"
        ]
    );
}

#[test]
fn a_client_factory_that_refuses_fails_the_attempt() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let factory = {
        let log = log.clone();
        protocol_factory(move |_| Scripted::new("server", &log))
    };
    let port = reactor
        .listen_tcp_with(ipv4(), factory, ListenOptions::default())
        .unwrap();
    let client = LoggingClient::refusing("client", &log);
    let _connector = reactor.connect_tcp_with(
        port.host().socket_addr().unwrap(),
        client,
        ConnectOptions::default(),
    );
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.has("client factory stopped") && done.has("server lost: done")
    });
    assert_eq!(log.count_prefix("client failed"), 1, "{log:?}");
    assert_eq!(
        log.count("server lost: done"),
        1,
        "the socket was closed: {log:?}"
    );
}

#[test]
fn nodelay_is_on_by_default_on_both_ends_and_options_apply() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    /// Who saw which (nodelay, keepalive) settings.
    type Seen = Rc<RefCell<Vec<(String, bool, bool)>>>;
    let options_seen: Seen = Rc::default();
    let record = |name: &'static str, seen: &Seen| {
        let seen = seen.clone();
        move |t: &Transport| {
            let nodelay = t.capability::<TcpNoDelay>().unwrap();
            let keepalive = t.capability::<TcpKeepAlive>().unwrap();
            seen.borrow_mut().push((name.to_string(), nodelay, keepalive));
            t.lose_connection();
        }
    };
    let server = {
        let (log, record) = (log.clone(), record("server", &options_seen));
        protocol_factory(move |_| Scripted::new("server", &log).on_made(record.clone()))
    };
    let port = reactor
        .listen_tcp_with(ipv4(), server, ListenOptions::default())
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    let tuned_server = {
        let (log, record) = (log.clone(), record("tuned server", &options_seen));
        protocol_factory(move |_| Scripted::new("server", &log).on_made(record.clone()))
    };
    let tuned = ListenOptions::default()
        .nodelay(false)
        .keepalive(Duration::from_secs(60));
    let tuned_port = reactor.listen_tcp_with(ipv4(), tuned_server, tuned).unwrap();
    let defaults = LoggingClient::new("default", &log, {
        let (log, record) = (log.clone(), record("default client", &options_seen));
        move || Scripted::new("default", &log).on_made(record.clone())
    });
    let _a = reactor.connect_tcp_with(address, defaults, ConnectOptions::default());
    let nagle = LoggingClient::new("nagle", &log, {
        let (log, record) = (log.clone(), record("nagle client", &options_seen));
        move || Scripted::new("nagle", &log).on_made(record.clone())
    });
    let options = ConnectOptions::default()
        .nodelay(false)
        .keepalive(Duration::from_secs(60));
    let _b = reactor.connect_tcp_with(tuned_port.host().socket_addr().unwrap(), nagle, options);
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.has("default factory stopped")
            && done.has("nagle factory stopped")
            && done.count("server lost: done") == 2
    });
    let mut seen = options_seen.borrow().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("default client".to_string(), true, false),
            ("nagle client".to_string(), false, true),
            ("server".to_string(), true, false),
            ("tuned server".to_string(), false, true),
        ]
    );
}

#[test]
fn connecting_from_a_chosen_local_address() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let peers: Rc<RefCell<Vec<(String, Address)>>> = Rc::default();
    let server = {
        let (log, peers) = (log.clone(), peers.clone());
        protocol_factory(move |_| {
            let peers = peers.clone();
            Scripted::new("server", &log)
                .on_made(move |t| peers.borrow_mut().push(("server peer".into(), t.peer())))
        })
    };
    let port = reactor
        .listen_tcp_with(ipv6(), server, ListenOptions::default())
        .unwrap();
    let local = closed_port(ipv6());
    let client = LoggingClient::new("client", &log, {
        let (log, peers) = (log.clone(), peers.clone());
        move || {
            let peers = peers.clone();
            Scripted::new("client", &log).on_made(move |t| {
                peers.borrow_mut().push(("client host".into(), t.host()));
                t.lose_connection();
            })
        }
    });
    let options = ConnectOptions::default().bind_address(local);
    let _connector = reactor.connect_tcp_with(port.host().socket_addr().unwrap(), client, options);
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.has("client factory stopped") && done.has("server lost: done")
    });
    let mut peers = peers.borrow().clone();
    peers.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        peers,
        [
            ("client host".to_string(), Address::tcp(local)),
            ("server peer".to_string(), Address::tcp(local))
        ]
    );
}
