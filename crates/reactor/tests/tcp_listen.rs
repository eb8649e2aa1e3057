//! Listening TCP ports over real sockets: factories that refuse,
//! stopping a port (also from inside the factory), `SO_REUSEPORT`, and
//! listen failures.

mod tcp_support;

use std::cell::{Cell, RefCell};
use std::io::ErrorKind;
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::connector::ListeningPort;
use gyre_core::errors::CannotListen;
use gyre_core::interfaces::ReactorTcp;
use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, ListenOptions, Reactor};
use tcp_support::{Echo, Log, LoggingClient, Scripted, ipv4, ipv6, run_until};

type BuildFn = Box<dyn FnMut(&Log) -> Option<Box<dyn Protocol>>>;

/// A server factory that logs and builds protocols with a closure.
struct ServerFactory {
    log: Log,
    build: BuildFn,
}

impl Factory for ServerFactory {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        self.log.push("server build");
        (self.build)(&self.log)
    }

    fn start_factory(&mut self) {
        self.log.push("server factory started");
    }

    fn stop_factory(&mut self) {
        self.log.push("server factory stopped");
    }
}

#[test]
fn a_server_factory_that_refuses_closes_the_connection() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let factory = ServerFactory {
        log: log.clone(),
        build: Box::new(|_| None),
    };
    let port = reactor
        .listen_tcp_with(ipv6(), factory, ListenOptions::default())
        .unwrap();
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || Scripted::new("client", &log)
    });
    let _connector = reactor.connect_tcp_with(
        port.host().socket_addr().unwrap(),
        client,
        ConnectOptions::default(),
    );
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        done.has("client factory stopped")
    });
    let events = log.events();
    assert_eq!(log.count("server build"), 1, "{events:?}");
    assert_eq!(
        log.count("client lost: done"),
        1,
        "the client saw the connection close: {events:?}"
    );
    assert_eq!(log.count("client connector lost: done"), 1, "{events:?}");
}

fn stop_listening(from_build_protocol: bool) {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let port: Rc<RefCell<Option<ListeningPort>>> = Rc::default();
    let factory = ServerFactory {
        log: log.clone(),
        build: Box::new({
            let port = port.clone();
            move |log| {
                let port = port.clone();
                let stop = move |log: &Log| {
                    let log = log.clone();
                    let port = port.borrow().clone().unwrap();
                    drop(port.stop_listening().map(move |()| log.push("stopped listening")));
                };
                if from_build_protocol {
                    // The factory itself is borrowed here.
                    stop(log);
                    return Some(Box::new(Scripted::new("server", log).on_data(|t, d| t.write(d))));
                }
                let log2 = log.clone();
                Some(Box::new(
                    Scripted::new("server", log)
                        .on_made(move |_| stop(&log2))
                        .on_data(|t, d| t.write(d)),
                ))
            }
        }),
    };
    *port.borrow_mut() = Some(
        reactor
            .listen_tcp_with(ipv4(), factory, ListenOptions::default())
            .unwrap(),
    );
    let address = port.borrow().as_ref().unwrap().host().socket_addr().unwrap();
    // The first client connects and, once the port stopped, still talks.
    let first = LoggingClient::new("first", &log, {
        let (log, reactor) = (log.clone(), reactor.clone());
        move || {
            let (log2, reactor) = (log.clone(), reactor.clone());
            Scripted::new("first", &log).on_made(move |t| {
                let (t, log) = (t.clone(), log2.clone());
                drop(reactor.call_later(Duration::from_millis(50), move || {
                    assert!(log.has("stopped listening"), "{log:?}");
                    t.write(b"still served");
                }));
            })
        }
    });
    let received = Rc::new(RefCell::new(Vec::new()));
    let _first = reactor.connect_tcp_with(address, first, ConnectOptions::default());
    let (seen, l, r) = (received.clone(), log.clone(), reactor.clone());
    let second_started = Rc::new(Cell::new(false));
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        if l.has("stopped listening") && !second_started.replace(true) {
            // Nothing accepts any more.
            let second = LoggingClient::new("second", &l, {
                let (log, seen) = (l.clone(), seen.clone());
                move || Scripted::new("second", &log).into_buffer(&seen)
            });
            drop(r.connect_tcp_with(address, second, ConnectOptions::default()));
        }
        done.has("second factory stopped")
    });
    let events = log.events();
    let at = |e: &str| {
        events
            .iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("no {e:?} in {events:?}"))
    };
    assert!(
        at("server factory stopped") < at("stopped listening"),
        "{events:?}"
    );
    assert_eq!(log.count("server factory stopped"), 1);
    assert_eq!(log.count("server build"), 1);
    assert_eq!(log.count("second failed: refused"), 1, "{events:?}");
    // A second stop_listening is harmless and fires at once.
    let again = port.borrow().clone().unwrap().stop_listening();
    assert!(again.is_fired());
}

#[test]
fn stop_listening_stops_accepting_and_stops_the_factory() {
    stop_listening(false);
}

#[test]
fn stop_listening_from_inside_build_protocol() {
    stop_listening(true);
}

#[test]
fn listening_twice_on_a_port_needs_reuse_port() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let accepted = Rc::new([Cell::new(0), Cell::new(0)]);
    let factory = |which: usize| {
        let accepted = accepted.clone();
        protocol_factory(move |_| {
            accepted[which].set(accepted[which].get() + 1);
            Echo
        })
    };
    let options = ListenOptions::default().reuse_port(true);
    let first = reactor
        .listen_tcp_with(ipv4(), factory(0), options.clone())
        .unwrap();
    let address = first.host().socket_addr().unwrap();
    let second = reactor.listen_tcp_with(address, factory(1), options).unwrap();
    assert_eq!(second.host(), first.host());
    // Without SO_REUSEPORT the address is in use.
    let failure = reactor
        .listen_tcp_with(address, factory(1), ListenOptions::default())
        .unwrap_err();
    let cannot = failure
        .downcast_ref::<CannotListen>()
        .expect("a CannotListen failure");
    assert_eq!(cannot.source.kind(), ErrorKind::AddrInUse);
    assert_eq!(cannot.address.socket_addr(), Some(address));
    // Both ports serve: 40 connections arrive across them.
    let mut clients = Vec::new();
    for _ in 0..40 {
        clients.push(TcpStream::connect(address).unwrap());
    }
    let total = accepted.clone();
    run_until(&reactor, Duration::from_secs(10), &log, move || {
        total[0].get() + total[1].get() == 40
    });
    assert!(
        accepted[0].get() > 0 && accepted[1].get() > 0,
        "the kernel spread connections over both ports"
    );
}

#[test]
fn listening_on_an_address_in_use_fails_with_cannot_listen() {
    let taken = std::net::TcpListener::bind(ipv6()).unwrap();
    let address = taken.local_addr().unwrap();
    let reactor = Reactor::new().unwrap();
    let failure = reactor
        .listen_tcp(address, protocol_factory(|_| Echo).into(), 50)
        .unwrap_err();
    let cannot = failure
        .downcast_ref::<CannotListen>()
        .expect("a CannotListen failure");
    assert_eq!(cannot.source.kind(), ErrorKind::AddrInUse);
    assert_eq!(reactor.source_count(), 0, "nothing was left registered");
}
