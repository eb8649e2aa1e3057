//! Echo over real TCP sockets on 127.0.0.1 and ::1: round trips, a thousand
//! clients at once, multi-megabyte writes, flushing before a close, and
//! pausing reading with data pending.

mod tcp_support;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, ListenOptions, Reactor};
use tcp_support::{
    Echo, Log, LoggingClient, Scripted, describe, ipv4, ipv6, pattern, raise_fd_limit, run_until,
};

fn echo_server(reactor: &Reactor, family: SocketAddr, backlog: u32) -> SocketAddr {
    let options = ListenOptions::default().backlog(backlog);
    let port = reactor
        .listen_tcp_with(family, protocol_factory(|_| Echo), options)
        .unwrap();
    port.host().socket_addr().unwrap()
}

/// A client that writes `chunks`, closes once as many bytes came back, and
/// records them in `received`.
fn echo_client(log: &Log, chunks: Vec<Vec<u8>>, received: &Rc<RefCell<Vec<u8>>>) -> LoggingClient {
    let total: usize = chunks.iter().map(Vec::len).sum();
    let (log2, received) = (log.clone(), received.clone());
    LoggingClient::new("client", log, move || {
        let chunks = chunks.clone();
        let seen = received.clone();
        Scripted::new("client", &log2)
            .into_buffer(&received)
            .on_made(move |t| {
                for chunk in &chunks {
                    t.write(chunk);
                }
            })
            .on_data(move |t, _| {
                if seen.borrow().len() >= total {
                    t.lose_connection();
                }
            })
    })
}

fn echo_through(family: SocketAddr, chunks: Vec<Vec<u8>>) {
    let reactor = Reactor::new().unwrap();
    let server = echo_server(&reactor, family, 50);
    assert_eq!(server.is_ipv6(), family.is_ipv6());
    let expected = chunks.concat();
    let log = Log::new();
    let received = Rc::new(RefCell::new(Vec::new()));
    let _connector = reactor.connect_tcp_with(
        server,
        echo_client(&log, chunks, &received),
        ConnectOptions::default(),
    );
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(20), &log, move || {
        done.has("client factory stopped")
    });
    let received = received.borrow();
    assert!(
        *received == expected,
        "sent {}, got back {}",
        describe(&expected),
        describe(&received)
    );
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
fn echo_round_trip_over_ipv4() {
    echo_through(ipv4(), vec![b"hello, ".to_vec(), b"gyre".to_vec()]);
}

#[test]
fn echo_round_trip_over_ipv6() {
    echo_through(ipv6(), vec![b"hello, ".to_vec(), b"gyre".to_vec()]);
}

#[test]
fn megabyte_writes_come_back_intact_over_ipv4() {
    let big = pattern(3 * 1024 * 1024 + 123);
    let small: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 200_000]).collect();
    echo_through(ipv4(), std::iter::once(big).chain(small).collect());
}

#[test]
fn megabyte_writes_come_back_intact_over_ipv6() {
    echo_through(ipv6(), vec![pattern(2 * 1024 * 1024 + 7)]);
}

#[test]
fn a_thousand_clients_at_once() {
    const CLIENTS: usize = 1000;
    // Each connection costs one descriptor here for each end.
    let limit = raise_fd_limit();
    assert!(
        limit >= 2 * CLIENTS as u64 + 200,
        "RLIMIT_NOFILE hard limit {limit} is too low for this test"
    );
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let live = Rc::new(Cell::new(0usize));
    let most = Rc::new(Cell::new(0usize));
    let server_lost = Rc::new(Cell::new(0usize));
    let factory = {
        let (log, live, most, server_lost) = (log.clone(), live.clone(), most.clone(), server_lost.clone());
        protocol_factory(move |_| {
            let (live, most, server_lost, lost_live) =
                (live.clone(), most.clone(), server_lost.clone(), live.clone());
            Scripted::new("server", &log)
                .on_made(move |_| {
                    live.set(live.get() + 1);
                    most.set(most.get().max(live.get()));
                })
                .on_data(|t, data| t.write(data))
                .on_lost(move |_, failure| {
                    lost_live.set(lost_live.get() - 1);
                    if tcp_support::reason(failure) == "done" {
                        server_lost.set(server_lost.get() + 1);
                    }
                })
        })
    };
    let port = reactor
        .listen_tcp_with(ipv4(), factory, ListenOptions::default().backlog(2048))
        .unwrap();
    let server = port.host().socket_addr().unwrap();
    // Every client holds its connection open until all have their echo.
    let echoed: Rc<RefCell<Vec<Transport>>> = Rc::default();
    let wrong = Rc::new(Cell::new(0usize));
    let mut connectors = Vec::new();
    for i in 0..CLIENTS {
        let message = format!("client {i:04} says {}\n", "x".repeat(i % 97)).into_bytes();
        let (echoed, wrong, sent) = (echoed.clone(), wrong.clone(), message.clone());
        let log2 = log.clone();
        let client = LoggingClient::new("client", &log, move || {
            let (message, echoed, wrong, sent) =
                (message.clone(), echoed.clone(), wrong.clone(), sent.clone());
            let received = Rc::new(RefCell::new(Vec::new()));
            Scripted::new("client", &log2)
                .into_buffer(&received)
                .on_made(move |t| t.write(&message))
                .on_data(move |t, _| {
                    let received = received.borrow();
                    if received.len() < sent.len() {
                        return;
                    }
                    if *received != sent {
                        wrong.set(wrong.get() + 1);
                    }
                    let mut echoed = echoed.borrow_mut();
                    echoed.push(t.clone());
                    if echoed.len() == CLIENTS {
                        for transport in echoed.drain(..) {
                            transport.lose_connection();
                        }
                    }
                })
        });
        connectors.push(reactor.connect_tcp_with(server, client, ConnectOptions::default()));
    }
    let done = log.clone();
    let all_lost = server_lost.clone();
    run_until(&reactor, Duration::from_secs(60), &log, move || {
        done.count("client connector lost: done") == CLIENTS && all_lost.get() == CLIENTS
    });
    assert_eq!(wrong.get(), 0, "echoes that differ from what was sent");
    assert_eq!(most.get(), CLIENTS, "all clients were connected at the same time");
    assert_eq!(log.count("client made"), CLIENTS);
    assert_eq!(log.count("server made"), CLIENTS);
    assert_eq!(log.count("client lost: done"), CLIENTS);
    assert_eq!(log.count("server lost: done"), CLIENTS);
    assert_eq!(log.count_prefix("client failed"), 0);
    assert_eq!(live.get(), 0);
}

#[test]
fn lose_connection_sends_everything_buffered_first() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let payload = pattern(4 * 1024 * 1024);
    let factory = {
        let (log, payload) = (log.clone(), payload.clone());
        protocol_factory(move |_| {
            let payload = payload.clone();
            Scripted::new("server", &log).on_made(move |t| {
                t.write(&payload);
                t.write(b"END");
                t.lose_connection();
                // Still sent: lose_connection only starts the close.
                t.write(b"!");
                assert_eq!(t.buffered_len(), payload.len() + 4);
            })
        })
    };
    let port = reactor
        .listen_tcp_with(ipv4(), factory, ListenOptions::default())
        .unwrap();
    let received = Rc::new(RefCell::new(Vec::new()));
    let client = LoggingClient::new("client", &log, {
        let (log, received) = (log.clone(), received.clone());
        move || Scripted::new("client", &log).into_buffer(&received)
    });
    let _connector = reactor.connect_tcp_with(
        port.host().socket_addr().unwrap(),
        client,
        ConnectOptions::default(),
    );
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(20), &log, move || {
        done.has("client factory stopped") && done.has("server lost: done")
    });
    let mut expected = payload;
    expected.extend_from_slice(b"END!");
    let received = received.borrow();
    assert!(
        *received == expected,
        "expected {}, got {}",
        describe(&expected),
        describe(&received)
    );
    assert_eq!(log.count("server lost: done"), 1, "{log:?}");
    assert_eq!(log.count("client lost: done"), 1, "{log:?}");
    assert!(
        log.has("client read lost"),
        "the client saw the end of file: {log:?}"
    );
}

/// Runs a server whose protocol is built by `server` against a client that
/// sends `payload` once and then only waits (or closes its write side when
/// `then_close`), so no further readiness event can arrive for the server.
fn paused_server(
    server: impl Fn(&Reactor, &Log) -> Scripted + 'static,
    payload: Vec<u8>,
    then_close: bool,
) -> Log {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let factory = {
        let (reactor, log) = (reactor.clone(), log.clone());
        protocol_factory(move |_| server(&reactor, &log))
    };
    let port = reactor
        .listen_tcp_with(ipv6(), factory, ListenOptions::default())
        .unwrap();
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || {
            let payload = payload.clone();
            Scripted::new("client", &log).on_made(move |t| {
                t.write(&payload);
                if then_close {
                    t.lose_write_connection();
                }
            })
        }
    });
    let _connector = reactor.connect_tcp_with(
        port.host().socket_addr().unwrap(),
        client,
        ConnectOptions::default(),
    );
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(20), &log, move || {
        done.has("server got everything")
    });
    log
}

#[test]
fn data_that_arrived_while_paused_is_delivered_after_resume() {
    const SIZE: usize = 100_000;
    let log = paused_server(
        |reactor, log| {
            let received = Rc::new(RefCell::new(Vec::new()));
            let seen = received.clone();
            let (reactor, log, log2) = (reactor.clone(), log.clone(), log.clone());
            Scripted::new("server", &log)
                .into_buffer(&received)
                .on_made(move |t| {
                    t.pause_reading();
                    let (t, log, seen) = (t.clone(), log.clone(), seen.clone());
                    drop(reactor.call_later(Duration::from_millis(300), move || {
                        log.push(format!("resumed with {} bytes delivered", seen.borrow().len()));
                        t.resume_reading();
                    }));
                })
                .on_data(move |_, _| {
                    if received.borrow().len() == SIZE {
                        log2.push("server got everything");
                    }
                })
        },
        pattern(SIZE),
        false,
    );
    assert_eq!(
        log.events()[1..5],
        [
            "server made",
            "client made",
            "resumed with 0 bytes delivered",
            "server got everything"
        ]
    );
}

#[test]
fn pausing_after_every_read_still_delivers_everything() {
    const SIZE: usize = 2 * 1024 * 1024;
    let log = paused_server(
        |reactor, log| {
            let received = Rc::new(RefCell::new(Vec::new()));
            let (reactor, log2) = (reactor.clone(), log.clone());
            let pauses = Rc::new(Cell::new(0));
            Scripted::new("server", log)
                .into_buffer(&received)
                .on_data(move |t, _| {
                    if received.borrow().len() == SIZE {
                        assert!(*received.borrow() == pattern(SIZE));
                        log2.push(format!(
                            "{} pauses",
                            if pauses.get() > 1 { "several" } else { "too few" }
                        ));
                        return log2.push("server got everything");
                    }
                    pauses.set(pauses.get() + 1);
                    t.pause_reading();
                    let t = t.clone();
                    drop(reactor.call_later(Duration::from_millis(5), move || t.resume_reading()));
                })
        },
        pattern(SIZE),
        false,
    );
    assert!(log.has("several pauses"), "{log:?}");
}

#[test]
fn end_of_file_that_arrived_while_paused_is_delivered_after_resume() {
    let log = paused_server(
        |reactor, log| {
            let (reactor, log2, log3) = (reactor.clone(), log.clone(), log.clone());
            let received = Rc::new(RefCell::new(Vec::new()));
            let seen = received.clone();
            Scripted::new("server", log)
                .into_buffer(&received)
                .on_made(move |t| {
                    t.pause_reading();
                    let (t, log) = (t.clone(), log2.clone());
                    drop(reactor.call_later(Duration::from_millis(300), move || {
                        log.push("resumed");
                        t.resume_reading();
                    }));
                })
                .on_read_lost(move |t| {
                    assert_eq!(&*seen.borrow(), b"last words");
                    log3.push("server got everything");
                    t.lose_connection();
                })
        },
        b"last words".to_vec(),
        true,
    );
    assert_eq!(
        log.events()[1..6],
        [
            "server made",
            "client made",
            "client write lost",
            "resumed",
            "server read lost"
        ]
    );
    assert!(log.has("server got everything"));
}
