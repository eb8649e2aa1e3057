//! The relay and the port forwarder with the in-memory doubles: the
//! MemoryReactor plays the network for `PortForwardFactory`, and two pumps
//! joined by a `Relay` show flow control and half-close with pauses
//! enforced.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;

use gyre_core::errors::{ConnectionDone, ConnectionLost, ConnectionRefused};
use gyre_core::interfaces::ReactorTcp;
use gyre_core::producer::{Producer, PushProducer, WaterMarks};
use gyre_core::{Address, Failure, Protocol, SharedFactory, Transport};
use gyre_endpoints::TcpClientEndpoint;
use gyre_protocols::portforward::{PortForwardFactory, Relay, RelayConfig};
use gyre_testing::{MemoryConnection, MemoryReactor, connect_pair};

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// A forwarder listening on the memory reactor; returns the reactor.
fn forwarder(config: RelayConfig) -> MemoryReactor {
    let reactor = MemoryReactor::new();
    let destination = TcpClientEndpoint::new(reactor.clone(), addr("192.0.2.10:80"));
    let factory = PortForwardFactory::new(Rc::new(destination)).with_config(config);
    reactor
        .listen_tcp(addr("127.0.0.1:0"), SharedFactory::new(factory), 50)
        .unwrap();
    reactor
}

fn accept(reactor: &MemoryReactor) -> MemoryConnection {
    let peer = Address::tcp(addr("127.0.0.1:5555"));
    reactor.tcp_servers()[0].port.accept(peer).unwrap()
}

#[test]
fn bytes_before_the_far_side_connects_are_held_in_order_with_reading_paused() {
    let reactor = forwarder(RelayConfig::default());
    let mut client = accept(&reactor);
    assert!(client.transport().is_reading_paused(), "paused until connected");
    assert_eq!(reactor.tcp_clients()[0].addr, addr("192.0.2.10:80"));
    client.data_received(b"GET / HTTP/1.0\r\n");
    client.data_received(b"\r\n");
    let mut server = reactor.connect_tcp_client(0).unwrap();
    assert_eq!(server.value(), b"GET / HTTP/1.0\r\n\r\n", "held bytes go first");
    assert!(!client.transport().is_reading_paused(), "resumed once connected");
    client.data_received(b"more");
    assert_eq!(server.transport().take(), b"GET / HTTP/1.0\r\n\r\nmore");
    server.data_received(b"HTTP/1.0 200 OK\r\n\r\n");
    assert_eq!(client.transport().take(), b"HTTP/1.0 200 OK\r\n\r\n");
}

#[test]
fn a_failed_connection_closes_the_inbound_one() {
    let reactor = forwarder(RelayConfig::default());
    let mut client = accept(&reactor);
    client.data_received(b"early");
    reactor.tcp_clients()[0]
        .connector
        .fail(Failure::new(ConnectionRefused::new()));
    client.settle();
    assert!(!client.is_connected());
    assert!(!client.transport().is_aborted(), "closed cleanly, not reset");
}

#[test]
fn closing_the_inbound_connection_while_connecting_cancels_the_attempt() {
    let reactor = forwarder(RelayConfig::default());
    let mut client = accept(&reactor);
    client.peer_closed();
    let connector = &reactor.tcp_clients()[0].connector;
    assert_eq!(connector.stop_connecting_calls(), 1);
    assert_eq!(
        connector.state(),
        gyre_core::connector::ConnectorState::Disconnected
    );
}

#[test]
fn more_than_the_pending_limit_while_connecting_aborts() {
    let reactor = forwarder(RelayConfig { pending_limit: 8 });
    let mut client = accept(&reactor);
    client.data_received(b"12345678");
    assert!(client.is_connected());
    client.data_received(b"9");
    assert!(client.transport().is_aborted());
    assert_eq!(reactor.tcp_clients()[0].connector.stop_connecting_calls(), 1);
}

#[test]
fn an_end_of_file_before_connecting_is_forwarded_after_the_held_bytes() {
    let reactor = forwarder(RelayConfig::default());
    let mut client = accept(&reactor);
    client.data_received(b"request");
    client.peer_half_closed();
    assert!(client.is_connected(), "a half-close keeps the inbound side open");
    let mut server = reactor.connect_tcp_client(0).unwrap();
    assert_eq!(server.value(), b"request");
    assert!(server.transport().is_write_closed());
    assert!(
        client.transport().is_reading_paused(),
        "nothing more to read after EOF"
    );
    server.data_received(b"response");
    server.peer_closed();
    assert_eq!(client.value(), b"response");
    assert!(client.transport().is_disconnecting(), "closed after the response");
}

#[test]
fn a_far_close_flushes_then_closes_and_an_inbound_reset_closes_the_far_side_cleanly() {
    let reactor = forwarder(RelayConfig::default());
    let client = accept(&reactor);
    let mut server = reactor.connect_tcp_client(0).unwrap();
    server.data_received(b"last words");
    server.peer_closed();
    assert_eq!(client.value(), b"last words");
    assert!(client.transport().is_disconnecting() && !client.transport().is_aborted());

    let mut client = accept(&reactor);
    let mut server = reactor.connect_tcp_client(1).unwrap();
    client.data_received(b"pending for the server");
    client.close_with(Failure::new(ConnectionLost::new()));
    server.settle();
    assert_eq!(server.value(), b"pending for the server");
    assert!(!server.is_connected());
    assert!(
        !server.transport().is_aborted(),
        "lose_connection: buffered bytes go first"
    );
}

#[test]
fn a_slow_far_reader_pauses_the_inbound_side_and_memory_stays_bounded() {
    let reactor = forwarder(RelayConfig::default());
    let mut client = accept(&reactor);
    let server = reactor.connect_tcp_client(0).unwrap();
    let marks = WaterMarks::default();
    let chunk = vec![7u8; 16 * 1024];
    let (mut sent, mut received, mut most_buffered) = (0usize, 0usize, 0usize);
    let mut pauses = 0;
    while received < 4 * 1024 * 1024 {
        if client.transport().is_reading_paused() {
            // The reactor would not read now; the slow reader drains.
            pauses += 1;
            received += server.transport().take().len();
        } else {
            client.data_received(&chunk);
            sent += chunk.len();
        }
        most_buffered = most_buffered.max(server.transport().value().len());
    }
    assert!(pauses > 10, "the inbound side was paused {pauses} times");
    assert!(
        most_buffered <= marks.high + chunk.len(),
        "{most_buffered} bytes buffered for a slow reader"
    );
    assert_eq!(sent, received + server.value().len());
}

/// A peer that records what it hears and, unless told to, keeps its end
/// open after the other side's end of file.
#[derive(Default)]
struct Peer {
    greeting: Vec<u8>,
    received: Rc<RefCell<Vec<u8>>>,
    eof: Rc<Cell<bool>>,
    lost: Rc<RefCell<Option<Failure>>>,
}

impl Protocol for Peer {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(&self.greeting);
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.received.borrow_mut().extend_from_slice(data);
    }
    fn read_connection_lost(&mut self, _: &Transport) {
        self.eof.set(true);
    }
    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        *self.lost.borrow_mut() = Some(reason);
    }
}

/// The inbound side of a relay as a protocol.
#[derive(Default)]
struct Inbound {
    relay: Rc<RefCell<Option<Relay>>>,
}

impl Protocol for Inbound {
    fn connection_made(&mut self, transport: &Transport) {
        *self.relay.borrow_mut() = Some(Relay::new(transport, RelayConfig::default()));
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.relay.borrow().as_ref().unwrap().data_received(data);
    }
    fn read_connection_lost(&mut self, _: &Transport) {
        self.relay.borrow().as_ref().unwrap().read_connection_lost();
    }
    fn connection_lost(&mut self, _: &Transport, _: Failure) {
        self.relay.borrow().as_ref().unwrap().connection_lost();
    }
}

/// client ⇄ (pump) ⇄ relay ⇄ (pump) ⇄ server, with pauses enforced.
struct Chain {
    left: gyre_testing::Pump<Inbound, Peer>,
    right: gyre_testing::Pump<Peer, gyre_protocols::portforward::FarEnd>,
}

impl Chain {
    fn new(client: Peer, server: Peer) -> Chain {
        let mut left = connect_pair(Inbound::default(), client);
        let relay = left.server().relay.borrow().clone().unwrap();
        let right = connect_pair(server, relay.far_protocol().unwrap());
        Chain { left, right }
    }

    fn pump(&mut self) {
        while self.left.pump_once() | self.right.pump_once() {}
    }
}

#[test]
fn half_close_from_the_client_lets_the_reply_through_then_both_close() {
    let client = Peer {
        greeting: b"question".to_vec(),
        ..Peer::default()
    };
    let (client_heard, client_lost) = (client.received.clone(), client.lost.clone());
    let server = Peer::default();
    let (server_heard, server_eof, server_lost) =
        (server.received.clone(), server.eof.clone(), server.lost.clone());
    let mut chain = Chain::new(client, server);
    chain.left.client_transport().lose_write_connection();
    chain.pump();
    assert_eq!(*server_heard.borrow(), b"question");
    assert!(server_eof.get(), "the client's EOF reached the server");
    assert!(chain.left.is_connected() && chain.right.is_connected());
    let server_side = chain.right.server_transport();
    server_side.write(b"answer");
    server_side.lose_write_connection();
    chain.pump();
    assert_eq!(*client_heard.borrow(), b"answer");
    assert!(client_lost.borrow().as_ref().unwrap().is::<ConnectionDone>());
    assert!(server_lost.borrow().as_ref().unwrap().is::<ConnectionDone>());
}

#[test]
fn half_close_from_the_server_keeps_the_client_direction_flowing() {
    let server = Peer {
        greeting: b"banner".to_vec(),
        ..Peer::default()
    };
    let server_heard = server.received.clone();
    let client = Peer::default();
    let (client_heard, client_eof) = (client.received.clone(), client.eof.clone());
    let mut chain = Chain::new(client, server);
    chain.right.server_transport().lose_write_connection();
    chain.pump();
    assert_eq!(*client_heard.borrow(), b"banner");
    assert!(client_eof.get());
    let client_side = chain.left.client_transport();
    client_side.write(b"still talking");
    chain.pump();
    assert_eq!(*server_heard.borrow(), b"still talking");
    client_side.lose_connection();
    chain.pump();
    assert!(!chain.left.is_connected() && !chain.right.is_connected());
}

/// A push producer that only records whether it may write.
#[derive(Default)]
struct Gate {
    paused: Cell<bool>,
}

impl PushProducer for Gate {
    fn pause_producing(&self) {
        self.paused.set(true);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
    }
    fn stop_producing(&self) {}
}

#[test]
fn backpressure_crosses_the_relay_both_ways_with_pauses_enforced() {
    for toward_server in [true, false] {
        let (client, server) = (Peer::default(), Peer::default());
        let sink = if toward_server {
            server.received.clone()
        } else {
            client.received.clone()
        };
        let mut chain = Chain::new(client, server);
        chain.pump();
        let (source, reader) = if toward_server {
            (chain.left.client_transport(), chain.right.server_transport())
        } else {
            (chain.right.server_transport(), chain.left.client_transport())
        };
        let gate = Rc::new(Gate::default());
        source.register_producer(Producer::Push(gate.clone())).unwrap();
        reader.pause_reading(); // the slow reader
        let chunk = vec![1u8; 8 * 1024];
        let mut written = 0;
        for _ in 0..200 {
            if !gate.paused.get() {
                source.write(&chunk);
                written += chunk.len();
            }
            chain.pump();
        }
        let high = WaterMarks::default().high;
        assert!(gate.paused.get(), "the source was paused through the relay");
        let (relay_in, relay_out) = if toward_server {
            (chain.left.server_end().clone(), chain.right.client_end().clone())
        } else {
            (chain.right.client_end().clone(), chain.left.server_end().clone())
        };
        assert!(
            relay_in.is_reading_paused(),
            "the relay stopped reading its input side"
        );
        assert!(
            relay_out.pending() <= 2 * high + chunk.len(),
            "{} held",
            relay_out.pending()
        );
        assert!(
            written < 4 * high + 4 * chunk.len(),
            "only {written} bytes could be written"
        );
        reader.resume_reading();
        for _ in 0..1000 {
            if !gate.paused.get() && written < 1024 * 1024 {
                source.write(&chunk);
                written += chunk.len();
            }
            chain.pump();
        }
        assert_eq!(written, 1024 * 1024);
        assert_eq!(
            sink.borrow().len(),
            written,
            "everything arrived once the reader read again"
        );
    }
}

#[test]
fn an_abort_on_either_side_closes_the_other_after_its_pending_bytes() {
    // The far side is reset: what it sent before still reaches the client,
    // then the client's connection closes cleanly.
    let reactor = forwarder(RelayConfig::default());
    let client = accept(&reactor);
    let mut server = reactor.connect_tcp_client(0).unwrap();
    server.data_received(b"partial answer");
    server.close_with(Failure::new(ConnectionLost::new()));
    assert_eq!(client.value(), b"partial answer");
    assert!(client.transport().is_disconnecting() && !client.transport().is_aborted());

    // The client aborts with pauses enforced: bytes the relay already wrote
    // towards the server are delivered before the server hears the close.
    let client = Peer::default();
    let server = Peer::default();
    let (server_heard, server_lost) = (server.received.clone(), server.lost.clone());
    let mut chain = Chain::new(client, server);
    chain.pump();
    chain.right.server_transport().pause_reading();
    chain.left.client_transport().write(b"in flight");
    chain.pump();
    chain.left.client_transport().abort_connection();
    chain.pump();
    assert!(!chain.left.is_connected());
    assert!(chain.right.is_connected(), "the far side waits for its reader");
    chain.right.server_transport().resume_reading();
    chain.pump();
    assert_eq!(*server_heard.borrow(), b"in flight");
    assert!(server_lost.borrow().as_ref().unwrap().is::<ConnectionDone>());
}
