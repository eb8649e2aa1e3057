//! Protocols that act on the reactor from inside their callbacks, over real
//! TCP sockets: they close connections, open new ones, listen, cancel
//! timers and stop the reactor, and every `connection_lost` still arrives
//! exactly once, after the callback that caused it returned.

mod tcp_support;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::connector::ListeningPort;
use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, ListenOptions, Reactor};
use tcp_support::{Echo, Log, LoggingClient, Scripted, ipv4, ipv6, run_until};

fn echo_port(reactor: &Reactor, log: &Log, family: SocketAddr) -> SocketAddr {
    let log = log.clone();
    let factory = protocol_factory(move |_| Scripted::new("server", &log).on_data(|t, d| t.write(d)));
    let port = reactor
        .listen_tcp_with(family, factory, ListenOptions::default())
        .unwrap();
    port.host().socket_addr().unwrap()
}

#[test]
fn callbacks_close_connect_listen_cancel_timers_and_stop_the_reactor() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let first_server = echo_port(&reactor, &log, ipv4());
    let ports: Rc<RefCell<Vec<ListeningPort>>> = Rc::default();

    // The second client stops the reactor from data_received.
    let second = {
        let (log, reactor) = (log.clone(), reactor.clone());
        LoggingClient::new("second", &log.clone(), move || {
            let (log2, reactor) = (log.clone(), reactor.clone());
            Scripted::new("second", &log)
                .on_made(|t| t.write(b"two"))
                .on_data(move |t, _| {
                    log2.push("second stops the reactor");
                    reactor.stop().unwrap();
                    // Still usable after asking to stop: the shutdown comes later.
                    t.write(b"after stop");
                    assert!(!t.is_closed());
                })
        })
    };
    let second = Rc::new(RefCell::new(Some(second)));

    // The first client, on its echo: cancels its timer, listens on a new
    // port, connects the second client there, and closes itself.
    let first = {
        let (log, reactor, ports) = (log.clone(), reactor.clone(), ports.clone());
        LoggingClient::new("first", &log.clone(), move || {
            let timer: Rc<RefCell<Option<DelayedCall>>> = Rc::default();
            let (log2, log3, reactor2, timer2) = (log.clone(), log.clone(), reactor.clone(), timer.clone());
            let (ports, second) = (ports.clone(), second.clone());
            Scripted::new("first", &log)
                .on_made(move |t| {
                    let log = log2.clone();
                    *timer.borrow_mut() =
                        Some(reactor2.call_later(Duration::from_secs(3), move || log.push("timer fired")));
                    t.write(b"one");
                })
                .on_data({
                    let reactor = reactor.clone();
                    move |t, _| {
                        timer2.borrow_mut().take().unwrap().cancel();
                        let new_server = echo_port(&reactor, &log3, ipv6());
                        let port_count = reactor.source_count();
                        let client = second.borrow_mut().take().unwrap();
                        drop(reactor.connect_tcp_with(new_server, client, ConnectOptions::default()));
                        assert_eq!(
                            reactor.source_count(),
                            port_count + 1,
                            "the attempt is registered at once"
                        );
                        ports.borrow_mut().push(
                            reactor
                                .listen_tcp_with(ipv4(), protocol_factory(|_| Echo), ListenOptions::default())
                                .unwrap(),
                        );
                        t.lose_connection();
                        log3.push("first closed itself");
                    }
                })
        })
    };
    let _connector = reactor.connect_tcp_with(first_server, first, ConnectOptions::default());
    // The reactor stops itself; the condition never holds.
    run_until(&reactor, Duration::from_secs(10), &log, || false);

    let events = log.events();
    assert!(!log.has("timer fired"), "{events:?}");
    let at = |e: &str| {
        events
            .iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("no {e:?} in {events:?}"))
    };
    assert!(at("first closed itself") < at("first lost: done"), "{events:?}");
    assert!(
        at("second stops the reactor") < at("second lost: lost"),
        "{events:?}"
    );
    // Every connection ended exactly once: the first cleanly, the ones
    // still open when the reactor stopped as lost.
    assert_eq!(log.count_prefix("first lost"), 1, "{events:?}");
    assert_eq!(log.count_prefix("second lost"), 1, "{events:?}");
    assert_eq!(log.count("server made"), 2, "{events:?}");
    assert_eq!(log.count_prefix("server lost"), 2, "{events:?}");
    assert_eq!(log.count("server lost: lost"), 1, "{events:?}");
    assert_eq!(log.count("first factory stopped"), 1, "{events:?}");
    assert_eq!(log.count("second factory stopped"), 1, "{events:?}");
    assert_eq!(
        reactor.source_count(),
        0,
        "the shutdown closed every port and connection"
    );
}

#[test]
fn stopping_the_reactor_ends_every_connection_once() {
    const CLIENTS: usize = 5;
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server = echo_port(&reactor, &log, ipv4());
    let echoed = Rc::new(Cell::new(0));
    let mut connectors = Vec::new();
    for _ in 0..CLIENTS {
        let client = LoggingClient::new("client", &log, {
            let (log, echoed, reactor) = (log.clone(), echoed.clone(), reactor.clone());
            move || {
                let (echoed, reactor) = (echoed.clone(), reactor.clone());
                Scripted::new("client", &log)
                    .on_made(|t| t.write(b"ping"))
                    .on_data(move |_, _| {
                        echoed.set(echoed.get() + 1);
                        if echoed.get() == CLIENTS {
                            reactor.stop().unwrap();
                            // A second stop is refused, not a panic.
                            assert!(reactor.stop().is_err());
                        }
                    })
            }
        });
        connectors.push(reactor.connect_tcp_with(server, client, ConnectOptions::default()));
    }
    run_until(&reactor, Duration::from_secs(10), &log, || false);
    assert_eq!(log.count("client lost: lost"), CLIENTS, "{log:?}");
    assert_eq!(log.count("server lost: lost"), CLIENTS, "{log:?}");
    assert_eq!(log.count_prefix("client lost"), CLIENTS, "{log:?}");
    assert_eq!(log.count_prefix("server lost"), CLIENTS, "{log:?}");
    assert_eq!(log.count("client connector lost: lost"), CLIENTS, "{log:?}");
}

#[test]
fn closing_other_connections_from_connection_lost_cascades_once_each() {
    const CHAIN: usize = 4;
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    // Server connections in order of arrival; each one's end aborts the next.
    let chain: Rc<RefCell<Vec<Transport>>> = Rc::default();
    let factory = {
        let (log, chain) = (log.clone(), chain.clone());
        protocol_factory(move |_| {
            let (joined, chain) = (chain.clone(), chain.clone());
            Scripted::new("server", &log)
                .on_made(move |t| joined.borrow_mut().push(t.clone()))
                .on_lost(move |t, _| {
                    let chain = chain.borrow();
                    let me = chain.iter().position(|c| c.ptr_eq(t)).unwrap();
                    if let Some(next) = chain.get(me + 1) {
                        next.abort_connection();
                        // Our own transport is closed: writes are dropped.
                        t.write(b"ignored");
                    }
                })
        })
    };
    let port = reactor
        .listen_tcp_with(ipv4(), factory, ListenOptions::default())
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    let mut connectors = Vec::new();
    for _ in 0..CHAIN {
        let client = LoggingClient::new("client", &log, {
            let log = log.clone();
            move || Scripted::new("client", &log)
        });
        connectors.push(reactor.connect_tcp_with(address, client, ConnectOptions::default()));
    }
    let (started, waiting) = (Rc::new(Cell::new(false)), chain.clone());
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        if waiting.borrow().len() == CHAIN && !started.replace(true) {
            // Close the first one cleanly; the rest follow from callbacks.
            waiting.borrow()[0].lose_connection();
        }
        done.count("client connector lost: lost") + done.count("client connector lost: done") == CHAIN
    });
    assert_eq!(log.count("server lost: done"), 1, "{log:?}");
    assert_eq!(log.count("server lost: aborted"), CHAIN - 1, "{log:?}");
    assert_eq!(log.count_prefix("server lost"), CHAIN, "{log:?}");
    assert_eq!(log.count("client lost: done"), 1, "{log:?}");
    assert_eq!(log.count("client lost: lost"), CHAIN - 1, "{log:?}");
}
