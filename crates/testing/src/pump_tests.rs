//! Tests of [`connect_pair`] and [`Pump`]: delivery, pausing, the three
//! kinds of close, and producers.

use std::net::SocketAddr;
use std::rc::Rc;

use gyre_core::producer::{Producer, PushProducer, WaterMarks};
use gyre_core::transport::ConnectionState;

use super::*;
use crate::test_support::{Chunks, Log, log, reason_name};

type OnData = Box<dyn FnMut(&Transport, &[u8])>;
type OnMade = Box<dyn FnMut(&Transport)>;

/// A protocol that logs every event under its name and runs scripted reactions.
struct Peer {
    name: &'static str,
    log: Log,
    on_made: Option<OnMade>,
    on_data: Option<OnData>,
    keep_open_on_eof: bool,
}

impl Peer {
    fn new(name: &'static str, log: &Log) -> Self {
        Peer {
            name,
            log: log.clone(),
            on_made: None,
            on_data: None,
            keep_open_on_eof: false,
        }
    }

    fn on_made(mut self, f: impl FnMut(&Transport) + 'static) -> Self {
        self.on_made = Some(Box::new(f));
        self
    }

    fn on_data(mut self, f: impl FnMut(&Transport, &[u8]) + 'static) -> Self {
        self.on_data = Some(Box::new(f));
        self
    }

    fn keep_open_on_eof(mut self) -> Self {
        self.keep_open_on_eof = true;
        self
    }

    fn note(&self, event: String) {
        self.log.borrow_mut().push(format!("{}: {event}", self.name));
    }
}

impl Protocol for Peer {
    fn connection_made(&mut self, transport: &Transport) {
        self.note("made".into());
        if let Some(f) = &mut self.on_made {
            f(transport);
        }
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.note(format!("data {}", data.escape_ascii()));
        if let Some(f) = &mut self.on_data {
            f(transport, data);
        }
    }
    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.note(format!("lost {}", reason_name(&reason)));
    }
    fn read_connection_lost(&mut self, transport: &Transport) {
        self.note("eof".into());
        if !self.keep_open_on_eof {
            transport.lose_connection();
        }
    }
    fn write_connection_lost(&mut self, _: &Transport) {
        self.note("write shut".into());
    }
}

fn echo(transport: &Transport, data: &[u8]) {
    transport.write(data);
}

#[test]
fn connection_made_server_first_and_bytes_cross_only_when_pumped() {
    let log = log();
    let server = Peer::new("server", &log).on_data(echo);
    let client = Peer::new("client", &log).on_made(|t| t.write(b"ping"));
    let mut pair = connect_pair(server, client);
    assert_eq!(*log.borrow(), ["server: made", "client: made"]);
    assert_eq!(pair.client_end().pending(), 4);
    assert!(pair.pump());
    assert!(!pair.pump(), "nothing left to move");
    assert_eq!(
        *log.borrow(),
        [
            "server: made",
            "client: made",
            "server: data ping",
            "client: data ping"
        ]
    );
}

#[test]
fn bytes_wait_while_the_receiver_is_paused() {
    let log = log();
    let mut pair = connect_pair(Peer::new("server", &log), Peer::new("client", &log));
    pair.client_transport().pause_reading();
    pair.server_transport().write(b"held");
    assert!(!pair.pump());
    assert_eq!(pair.server_end().pending(), 4);
    assert_eq!(pair.server_transport().buffered_len(), 4);
    pair.client_transport().resume_reading();
    assert!(pair.pump());
    assert_eq!(log.borrow().last().unwrap(), "client: data held");
    assert_eq!(pair.server_end().pending(), 0);
}

#[test]
fn lose_connection_delivers_pending_bytes_then_done_to_both_closer_first() {
    let log = log();
    let server = Peer::new("server", &log).on_data(|t, _| {
        t.write(b"bye");
        t.lose_connection();
        t.write(b" really");
    });
    let client = Peer::new("client", &log).on_made(|t| t.write(b"QUIT"));
    let mut pair = connect_pair(server, client);
    pair.pump();
    assert_eq!(
        log.borrow()[2..],
        [
            "server: data QUIT",
            "client: data bye really",
            "server: lost done",
            "client: lost done"
        ]
    );
    assert!(!pair.is_connected());
    assert!(pair.server_transport().is_closed() && pair.client_transport().is_closed());
    pair.client_transport().write(b"dropped");
    assert_eq!(pair.client_end().pending(), 0);
}

#[test]
fn abort_drops_pending_bytes_and_the_peer_sees_connection_lost() {
    let log = log();
    let server = Peer::new("server", &log).on_made(|t| {
        t.write(b"never seen");
        t.abort_connection();
    });
    let client = Peer::new("client", &log).on_made(|t| t.write(b"also dropped"));
    let mut pair = connect_pair(server, client);
    pair.pump();
    assert_eq!(
        *log.borrow(),
        [
            "server: made",
            "client: made",
            "server: lost aborted",
            "client: lost lost"
        ]
    );
}

#[test]
fn half_close_lets_the_reader_answer_before_closing() {
    let log = log();
    let server = Peer::new("server", &log).keep_open_on_eof().on_data(|t, data| {
        if data == b"request" {
            t.write(b"response");
            t.lose_connection();
        }
    });
    let client = Peer::new("client", &log).on_made(|t| {
        t.write(b"request");
        t.lose_write_connection();
        t.write(b"dropped after shutdown");
    });
    let mut pair = connect_pair(server, client);
    pair.pump_once();
    assert_eq!(
        log.borrow()[2..],
        ["server: data request", "client: write shut", "server: eof"],
        "the request arrives before the end of file"
    );
    pair.pump();
    assert_eq!(
        log.borrow()[5..],
        ["client: data response", "server: lost done", "client: lost done"]
    );
}

#[test]
fn half_close_with_the_default_answer_closes_both() {
    let log = log();
    let server = Peer::new("server", &log);
    let client = Peer::new("client", &log).on_made(|t| t.lose_write_connection());
    let mut pair = connect_pair(server, client);
    pair.pump();
    assert_eq!(
        log.borrow()[2..],
        [
            "client: write shut",
            "server: eof",
            "server: lost done",
            "client: lost done"
        ]
    );
}

#[test]
fn both_write_sides_shut_ends_the_connection() {
    let log = log();
    let server = Peer::new("server", &log)
        .keep_open_on_eof()
        .on_made(|t| t.lose_write_connection());
    let client = Peer::new("client", &log)
        .keep_open_on_eof()
        .on_made(|t| t.lose_write_connection());
    let mut pair = connect_pair(server, client);
    pair.pump();
    assert_eq!(log.borrow()[6..], ["server: lost done", "client: lost done"]);
}

#[test]
fn end_of_file_waits_behind_data_held_for_a_paused_reader() {
    let log = log();
    let server = Peer::new("server", &log).keep_open_on_eof();
    let client = Peer::new("client", &log);
    let mut pair = connect_pair(server, client);
    pair.server_transport().pause_reading();
    pair.client_transport().write(b"body");
    pair.client_transport().lose_write_connection();
    assert!(!pair.pump());
    assert_eq!(
        log.borrow().len(),
        2,
        "neither the data nor the end of file crossed"
    );
    pair.server_transport().resume_reading();
    pair.pump();
    assert_eq!(
        log.borrow()[2..],
        ["server: data body", "client: write shut", "server: eof"]
    );
}

#[test]
fn lose_connection_waits_for_a_paused_reader_to_take_the_data() {
    let log = log();
    let mut pair = connect_pair(Peer::new("server", &log), Peer::new("client", &log));
    pair.client_transport().pause_reading();
    pair.server_transport().write(b"last");
    pair.server_transport().lose_connection();
    assert!(!pair.pump());
    assert!(pair.is_connected());
    assert_eq!(pair.server_transport().state(), ConnectionState::Closing);
    pair.client_transport().resume_reading();
    pair.pump();
    assert_eq!(
        log.borrow()[2..],
        ["client: data last", "server: lost done", "client: lost done"]
    );
}

/// Writes 4 bytes each time it is resumed; logs pause, resume and stop.
struct Streamer {
    transport: Transport,
    log: Log,
}

impl PushProducer for Streamer {
    fn pause_producing(&self) {
        self.log.borrow_mut().push("producer: pause".into());
    }
    fn resume_producing(&self) {
        self.log.borrow_mut().push("producer: resume".into());
    }
    fn stop_producing(&self) {
        self.log.borrow_mut().push("producer: stop".into());
    }
}

#[test]
fn push_producer_pauses_on_unsent_bytes_and_resumes_once_the_pump_drains() {
    let log = log();
    let mut pair = connect_pair(Peer::new("server", &log), Peer::new("client", &log));
    let server = pair.server_transport();
    server.set_water_marks(WaterMarks::new(8, 2));
    let streamer = Rc::new(Streamer {
        transport: server.clone(),
        log: log.clone(),
    });
    server
        .register_producer(Producer::Push(streamer.clone()))
        .unwrap();
    pair.client_transport().pause_reading();
    streamer.transport.write(b"12345678");
    assert!(
        !pair.server_end().is_producer_paused(),
        "8 bytes is at the mark, not above"
    );
    streamer.transport.write(b"9");
    assert!(pair.server_end().is_producer_paused());
    pair.pump();
    assert!(
        pair.server_end().is_producer_paused(),
        "still unsent while the client is paused"
    );
    pair.client_transport().resume_reading();
    pair.pump();
    assert!(!pair.server_end().is_producer_paused());
    pair.server_transport().lose_connection();
    pair.pump();
    assert_eq!(
        log.borrow()[2..],
        [
            "producer: pause",
            "client: data 123456789",
            "producer: resume",
            "producer: stop",
            "server: lost done",
            "client: lost done"
        ]
    );
}

#[test]
fn pull_producer_is_asked_again_each_time_its_bytes_are_delivered() {
    let log = log();
    let mut pair = connect_pair(Peer::new("server", &log), Peer::new("client", &log));
    let chunks = Rc::new(Chunks::new(pair.server_transport(), &[b"a", b"b", b"c"]).closing_when_done());
    pair.server_transport()
        .register_producer(Producer::Pull(chunks))
        .unwrap();
    pair.pump();
    assert_eq!(
        log.borrow()[2..],
        [
            "client: data a",
            "client: data b",
            "client: data c",
            "server: lost done",
            "client: lost done"
        ]
    );
}

#[test]
#[should_panic(expected = "still talking")]
fn endless_ping_pong_is_reported() {
    let log = log();
    let server = Peer::new("server", &log).on_data(echo);
    let client = Peer::new("client", &log).on_made(|t| t.write(b"x")).on_data(echo);
    let mut pair = connect_pair(server, client);
    pair.pump();
}

#[test]
fn addresses_are_mirrored_and_protocols_can_be_taken_back() {
    let log = log();
    let server_address = Address::tcp("10.0.0.1:443".parse::<SocketAddr>().unwrap());
    let client_address = Address::tcp("10.0.0.2:50000".parse::<SocketAddr>().unwrap());
    let pair = connect_pair_with_addresses(
        Peer::new("server", &log),
        Peer::new("client", &log),
        server_address.clone(),
        client_address.clone(),
    );
    assert_eq!(pair.server_transport().host(), server_address);
    assert_eq!(pair.server_transport().peer(), client_address);
    assert_eq!(pair.client_transport().host(), client_address);
    assert_eq!(pair.client_transport().peer(), server_address);
    let (server, client) = pair.into_protocols();
    assert_eq!((server.name, client.name), ("server", "client"));
}

#[test]
fn flush_chains_into_inspection() {
    #[derive(Default)]
    struct Collect(Vec<u8>);
    impl Protocol for Collect {
        fn data_received(&mut self, _: &Transport, data: &[u8]) {
            self.0.extend_from_slice(data);
        }
    }
    let log = log();
    let server = Peer::new("server", &log).on_made(|t| t.write(b"greeting"));
    let mut pair = connect_pair(server, Collect::default());
    assert_eq!(pair.flush().client().0, b"greeting");
}
