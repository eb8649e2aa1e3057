//! Tests of [`StringTransport`]: recording, close semantics, producers
//! and capabilities.

use super::*;
use gyre_core::capability::{PeerCertificates, ProcessId};
use gyre_core::errors::ProducerAlreadyRegistered;
use gyre_core::producer::PushProducer;

use crate::test_support::Chunks;

/// A push producer that writes a chunk whenever it is resumed.
struct Streamer {
    transport: Transport,
    events: RefCell<Vec<&'static str>>,
}

impl Streamer {
    /// A streamer writing to `transport`, registered there.
    fn register(transport: &Transport) -> Rc<Streamer> {
        let streamer = Rc::new(Streamer {
            transport: transport.clone(),
            events: RefCell::default(),
        });
        transport
            .register_producer(Producer::Push(streamer.clone()))
            .unwrap();
        streamer
    }
}

impl PushProducer for Streamer {
    fn pause_producing(&self) {
        self.events.borrow_mut().push("pause");
    }
    fn resume_producing(&self) {
        self.events.borrow_mut().push("resume");
        self.transport.write(b"more");
    }
    fn stop_producing(&self) {
        self.events.borrow_mut().push("stop");
    }
}

#[test]
fn push_producer_is_paused_above_the_high_mark_and_resumed_by_clear() {
    let string = StringTransport::new();
    let transport = string.handle();
    transport.set_water_marks(WaterMarks::new(4, 0));
    let streamer = Streamer::register(&transport);
    transport.write(b"1234");
    assert!(!string.is_producer_paused(), "at the high mark is not above it");
    transport.write(b"5");
    assert!(string.is_producer_paused());
    assert_eq!(*streamer.events.borrow(), ["pause"]);
    assert_eq!(string.take(), b"12345");
    assert_eq!(*streamer.events.borrow(), ["pause", "resume"]);
    assert_eq!(string.value(), b"more", "the resumed producer wrote again");
    assert!(!string.is_producer_paused());
}

#[test]
fn pull_producer_is_asked_for_a_chunk_on_register_and_on_every_clear() {
    let string = StringTransport::new();
    let transport = string.handle();
    let chunks = Rc::new(Chunks::new(transport.clone(), &[b"a", b"b", b"c"]));
    transport.register_producer(Producer::Pull(chunks)).unwrap();
    assert_eq!(string.take(), b"a");
    assert_eq!(string.take(), b"b");
    assert!(string.producer().is_some());
    assert_eq!(string.take(), b"c");
    assert!(
        string.producer().is_none(),
        "asked once more after the last chunk, the producer unregistered itself"
    );
    string.clear();
    assert_eq!(string.value(), b"");
}

#[test]
fn second_producer_is_refused() {
    let string = StringTransport::new();
    let transport = string.handle();
    let streamer = Streamer::register(&transport);
    let err = transport.register_producer(Producer::Push(streamer)).unwrap_err();
    assert!(err.is::<ProducerAlreadyRegistered>());
}

#[test]
fn writes_after_lose_connection_are_kept_and_after_abort_dropped() {
    let string = StringTransport::new();
    let transport = string.handle();
    assert_eq!(transport.state(), ConnectionState::Open);
    transport.lose_connection();
    assert_eq!(transport.state(), ConnectionState::Closing);
    transport.write(b"late");
    assert_eq!(string.value(), b"late");
    assert!(string.is_disconnecting() && !string.is_aborted());
    transport.abort_connection();
    transport.write(b"dropped");
    assert_eq!(string.value(), b"late", "abort keeps what was written before it");
    assert!(string.is_aborted());
    assert_eq!(transport.state(), ConnectionState::Closed);
}

#[test]
fn writes_after_write_close_or_set_closed_are_dropped() {
    let half = StringTransport::new();
    half.handle().lose_write_connection();
    half.handle().write(b"x");
    assert!(half.is_write_closed());
    assert_eq!(half.value(), b"");
    assert_eq!(half.handle().state(), ConnectionState::Open, "reading goes on");

    let closed = StringTransport::new();
    closed.set_closed();
    closed.handle().write(b"x");
    assert!(closed.handle().is_closed());
    assert_eq!(closed.value(), b"");
    assert!(!closed.is_disconnecting(), "nobody asked to close it");
}

#[test]
fn set_closed_stops_the_producer_and_a_late_registration_is_stopped_at_once() {
    let string = StringTransport::new();
    let transport = string.handle();
    let streamer = Streamer::register(&transport);
    string.set_closed();
    assert_eq!(*streamer.events.borrow(), ["stop"]);
    assert!(string.producer().is_none());
    transport
        .register_producer(Producer::Push(streamer.clone()))
        .unwrap();
    assert_eq!(*streamer.events.borrow(), ["stop", "stop"]);
}

#[test]
fn handles_share_one_connection_and_report_addresses_and_kind() {
    let host = Address::unix_path("/run/server.sock");
    let peer = Address::unix_path("/run/client.sock");
    let string = StringTransport::with_addresses(host.clone(), peer.clone());
    assert!(string.handle().ptr_eq(&string.handle()));
    assert_eq!(string.handle().host(), host);
    assert_eq!(string.handle().peer(), peer);
    assert_eq!(string.handle().kind(), "string");
    assert_eq!(StringTransport::new().handle().peer(), default_peer());
}

#[test]
fn pause_and_resume_reading_are_recorded() {
    let string = StringTransport::new();
    string.handle().pause_reading();
    assert!(string.is_reading_paused());
    string.handle().resume_reading();
    assert!(!string.is_reading_paused());
}

#[test]
fn provided_capabilities_are_answered_with_clones() {
    let string = StringTransport::new();
    let transport = string.handle();
    assert!(transport.capability::<PeerCertificates>().is_err());
    string.provide_capability::<PeerCertificates>(vec![b"leaf".to_vec()]);
    assert_eq!(
        transport.capability::<PeerCertificates>().unwrap(),
        [b"leaf".to_vec()]
    );
    assert_eq!(
        transport.capability::<PeerCertificates>().unwrap(),
        [b"leaf".to_vec()]
    );
    let err = transport.capability::<ProcessId>().unwrap_err();
    assert_eq!(err.transport, "string");
}

#[test]
fn the_handle_type_itself_is_a_backend_for_wrappers() {
    let string = StringTransport::new();
    let wrapped = Transport::new(Rc::new(string.clone()));
    wrapped.write(b"through the wrapper");
    assert_eq!(string.value(), b"through the wrapper");
    assert_eq!(wrapped.buffered_len(), 19);
}
