//! A first end-to-end check of the loop with real TCP sockets on 127.0.0.1.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::connector::Connector;
use gyre_core::errors::{ConnectionDone, ConnectionRefused};
use gyre_core::interfaces::ReactorTcp;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// Sends a greeting, collects the echo, closes when all came back.
struct Greeter {
    expected: usize,
    received: Rc<RefCell<Vec<u8>>>,
}

impl Protocol for Greeter {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(b"hello, ");
        transport.write(b"gyre");
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.received.borrow_mut().extend_from_slice(data);
        if self.received.borrow().len() >= self.expected {
            transport.lose_connection();
        }
    }
}

struct ClientEnd {
    log: Rc<RefCell<Vec<String>>>,
    reactor: Reactor,
    received: Rc<RefCell<Vec<u8>>>,
}

impl Factory for ClientEnd {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Greeter {
            expected: 11,
            received: self.received.clone(),
        }))
    }
}

impl ClientFactory for ClientEnd {
    fn client_connection_failed(&mut self, _connector: &Connector, reason: Failure) {
        self.log
            .borrow_mut()
            .push(format!("failed refused={}", reason.is::<ConnectionRefused>()));
        let _ = self.reactor.stop();
    }

    fn client_connection_lost(&mut self, _connector: &Connector, reason: Failure) {
        self.log
            .borrow_mut()
            .push(format!("lost done={}", reason.is::<ConnectionDone>()));
        let _ = self.reactor.stop();
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[test]
fn echo_round_trip_over_loopback() {
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_tcp(loopback(), protocol_factory(|_| Echo).into(), 50)
        .unwrap();
    let server = port.host().socket_addr().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let received = Rc::new(RefCell::new(Vec::new()));
    let client = ClientEnd {
        log: log.clone(),
        reactor: reactor.clone(),
        received: received.clone(),
    };
    reactor.connect_tcp(server, client.into(), Duration::from_secs(5), None);
    let guard = reactor.call_later(Duration::from_secs(10), {
        let reactor = reactor.clone();
        move || {
            let _ = reactor.stop();
        }
    });
    reactor.run().unwrap();
    guard.cancel();
    assert_eq!(&*received.borrow(), b"hello, gyre");
    assert_eq!(*log.borrow(), ["lost done=true"]);
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let reactor = Reactor::new().unwrap();
    // Bind then drop, so the port is (very likely) closed.
    let closed = std::net::TcpListener::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let client = ClientEnd {
        log: log.clone(),
        reactor: reactor.clone(),
        received: Rc::default(),
    };
    reactor.connect_tcp(closed, client.into(), Duration::from_secs(5), None);
    reactor.run().unwrap();
    assert_eq!(*log.borrow(), ["failed refused=true"]);
}
