//! Tests of [`MemoryConnector`]: the factory hears about attempts as from
//! the reactor, including a factory that reconnects from its callbacks.

use std::rc::Rc;

use gyre_core::errors::ConnectionRefused;
use gyre_core::transport::Transport;
use gyre_core::{ClientFactory, Factory, Protocol};

use super::*;
use crate::test_support::{Log, reason_name};

/// Greets the server and hangs up when told "bye".
struct Client {
    log: Log,
}

impl Protocol for Client {
    fn connection_made(&mut self, transport: &Transport) {
        self.log.borrow_mut().push("protocol: made".into());
        transport.write(b"hello");
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if data == b"bye" {
            transport.lose_connection();
        }
    }
    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.log
            .borrow_mut()
            .push(format!("protocol: lost {}", reason_name(&reason)));
    }
}

/// Logs every notification and retries failed attempts a few times.
struct Retrying {
    log: Log,
    retries_left: usize,
    builds: bool,
}

impl Factory for Retrying {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        self.log.borrow_mut().push(format!("build for {peer}"));
        self.builds.then(|| {
            Box::new(Client {
                log: self.log.clone(),
            }) as Box<dyn Protocol>
        })
    }
    fn start_factory(&mut self) {
        self.log.borrow_mut().push("start".into());
    }
    fn stop_factory(&mut self) {
        self.log.borrow_mut().push("stop".into());
    }
}

impl ClientFactory for Retrying {
    fn started_connecting(&mut self, connector: &Connector) {
        assert_eq!(connector.state(), ConnectorState::Connecting);
        self.log.borrow_mut().push("started".into());
    }
    fn client_connection_failed(&mut self, connector: &Connector, reason: Failure) {
        self.log
            .borrow_mut()
            .push(format!("failed {}", reason_name(&reason)));
        if self.retries_left > 0 {
            self.retries_left -= 1;
            connector.connect();
        }
    }
    fn client_connection_lost(&mut self, _: &Connector, reason: Failure) {
        self.log
            .borrow_mut()
            .push(format!("lost {}", reason_name(&reason)));
    }
}

fn connector(retries: usize, builds: bool) -> (MemoryConnector, Log) {
    let log: Log = Rc::default();
    let factory = SharedClientFactory::new(Retrying {
        log: log.clone(),
        retries_left: retries,
        builds,
    });
    let destination = Address::tcp("192.0.2.1:25".parse().unwrap());
    let local = Address::tcp("127.0.0.1:40001".parse().unwrap());
    (MemoryConnector::start(destination, local, factory), log)
}

#[test]
fn a_factory_may_reconnect_from_client_connection_failed() {
    let (connector, log) = connector(1, true);
    assert_eq!(*log.borrow(), ["start", "started"]);
    connector.fail(Failure::new(ConnectionRefused::new()));
    assert_eq!(
        connector.state(),
        ConnectorState::Connecting,
        "the factory retried"
    );
    connector.fail(Failure::new(ConnectionRefused::new()));
    assert_eq!(
        *log.borrow(),
        [
            "start",
            "started",
            "failed refused",
            "started",
            "failed refused",
            "stop"
        ]
    );
    assert_eq!(connector.attempts(), 2);
    assert_eq!(connector.connect_calls(), 1);
    assert_eq!(connector.state(), ConnectorState::Disconnected);
}

#[test]
fn stop_connecting_fails_the_attempt_with_cancelled() {
    let (connector, log) = connector(0, true);
    let handle = connector.handle();
    handle.stop_connecting();
    handle.stop_connecting();
    assert_eq!(log.borrow()[2..], ["failed cancelled", "stop"]);
    assert_eq!(connector.stop_connecting_calls(), 2);
    assert_eq!(handle.state(), ConnectorState::Disconnected);
}

#[test]
fn a_completed_connection_runs_the_protocol_and_reports_its_end() {
    let (connector, log) = connector(0, true);
    let mut conn = connector.complete().expect("the factory builds a protocol");
    assert_eq!(connector.state(), ConnectorState::Connected);
    assert_eq!(conn.value(), b"hello");
    assert_eq!(conn.handle().peer(), connector.destination());
    assert_eq!(conn.handle().host(), connector.local_address());
    conn.data_received(b"bye");
    assert_eq!(
        log.borrow()[2..],
        [
            "build for tcp:192.0.2.1:25",
            "protocol: made",
            "protocol: lost done",
            "lost done",
            "stop"
        ]
    );
    assert_eq!(connector.state(), ConnectorState::Disconnected);
}

#[test]
fn disconnect_closes_a_connected_connection_on_the_next_settle() {
    let (connector, log) = connector(0, true);
    let mut conn = connector.complete().unwrap();
    connector.handle().disconnect();
    assert!(conn.transport().is_disconnecting());
    assert_eq!(
        connector.state(),
        ConnectorState::Connected,
        "not delivered from inside disconnect"
    );
    conn.settle();
    assert_eq!(log.borrow().last().unwrap(), "stop");
    assert_eq!(connector.disconnect_calls(), 1);
}

#[test]
fn reconnecting_after_a_lost_connection_keeps_the_factory_started() {
    let (connector, log) = connector(0, true);
    let mut conn = connector.complete().unwrap();
    conn.peer_closed();
    assert_eq!(log.borrow().last().unwrap(), "stop");
    connector.handle().connect();
    assert_eq!(log.borrow()[log.borrow().len() - 2..], ["start", "started"]);
    connector.handle().connect();
    assert_eq!(connector.attempts(), 2, "connect while connecting is ignored");
    assert_eq!(connector.connect_calls(), 2);
}

#[test]
fn a_refused_build_closes_at_once() {
    let (connector, log) = connector(0, false);
    assert!(connector.complete().is_none());
    assert_eq!(
        log.borrow()[2..],
        ["build for tcp:192.0.2.1:25", "lost done", "stop"]
    );
}

#[test]
#[should_panic(expected = "no connection attempt is under way")]
fn completing_without_an_attempt_is_a_test_bug() {
    let (connector, _log) = connector(0, true);
    connector.fail(Failure::new(ConnectionRefused::new()));
    connector.complete();
}
