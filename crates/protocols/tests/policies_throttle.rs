//! Bandwidth throttling measured in virtual time: write budgets released
//! per period in order, a close that waits for held bytes, producers paused
//! while bytes are held (bounded memory), read pausing with overshoot
//! carried over, and the wrapped protocol's own pause kept apart.

mod policies_support;

use std::cell::{Cell, RefCell};
use std::io::IoSlice;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::producer::{Producer, PullProducer, PushProducer, WaterMarks};
use gyre_core::{Protocol, Transport};
use gyre_protocols::policies::{Throttle, ThrottleBacklogFull, Throttled, Wrapped, wrap_factory};
use gyre_testing::{StringTransport, StringTransportWithDisconnection, connect_pair};
use policies_support::{Recorder, clock, echo_factory, lost};

const SECOND: Duration = Duration::from_secs(1);

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A recorder behind `throttle` on a string transport: the transport
/// below, the wrapped protocol, and the transport the recorder writes to.
fn throttled(throttle: Throttle) -> (StringTransport, Wrapped<Throttled, Recorder>, Transport) {
    let string = StringTransport::new();
    let mut protocol = Wrapped::new(throttle.throttled(), Recorder::new().0);
    protocol.connection_made(&string.handle());
    let above = protocol.transport().unwrap().clone();
    (string, protocol, above)
}

#[test]
fn writes_go_out_one_budget_per_period_in_order_then_the_close() {
    let (clock, shared) = clock();
    let (mut server, _) = Recorder::new();
    server.greeting = pattern(10_000);
    let server = Wrapped::new(Throttle::new(shared).write_rate(1000).throttled(), server);
    let (client, client_seen) = Recorder::new();
    let mut pair = connect_pair(server, client);
    // The wrapped protocol closes at once; the close waits for the held bytes.
    pair.server()
        .inner()
        .seen
        .borrow()
        .transport
        .clone()
        .unwrap()
        .lose_connection();
    pair.pump();
    let mut received = vec![client_seen.borrow().data.len()];
    for _ in 0..12 {
        clock.advance(SECOND);
        pair.pump();
        received.push(client_seen.borrow().data.len());
    }
    assert_eq!(
        received,
        [
            1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000, 10_000, 10_000, 10_000
        ]
    );
    assert_eq!(
        client_seen.borrow().data,
        pattern(10_000),
        "in order, nothing lost"
    );
    assert!(!pair.is_connected(), "closed once everything went out");
    assert_eq!(lost(&client_seen), "done");
    assert!(
        clock.calls().is_empty(),
        "the tick stops when there is nothing to do"
    );
}

#[test]
fn shorter_periods_smooth_the_same_rate() {
    let (clock, shared) = clock();
    let (string, protocol, transport) = throttled(
        Throttle::new(shared)
            .write_rate(1000)
            .period(Duration::from_millis(100)),
    );
    transport.write(&pattern(3000));
    assert_eq!(string.take().len(), 100);
    assert_eq!(transport.buffered_len(), 2900, "held bytes count as buffered");
    let mut total = 100;
    for step in 1..=20 {
        clock.advance(Duration::from_millis(100));
        total += string.take().len();
        assert_eq!(total, 100 * (step + 1));
    }
    assert_eq!(protocol.policy().held(), 900);
}

#[test]
fn a_vectored_write_is_split_at_the_budget_and_the_rest_keeps_its_order() {
    let (clock, shared) = clock();
    let (string, protocol, transport) = throttled(Throttle::new(shared).write_rate(1000));
    let data = pattern(2500);
    let (a, rest) = data.split_at(900);
    let (b, c) = rest.split_at(300);
    transport.write_vectored(&[
        IoSlice::new(a),
        IoSlice::new(&[]),
        IoSlice::new(b),
        IoSlice::new(c),
    ]);
    assert_eq!(string.take(), data[..1000], "one budget at once");
    assert_eq!(protocol.policy().held(), 1500);
    transport.write(b"after");
    clock.advance(SECOND);
    assert_eq!(string.take(), data[1000..2000]);
    clock.advance(SECOND);
    assert_eq!(string.take(), [&data[2000..], b"after"].concat());
    assert_eq!(protocol.policy().held(), 0);
}

/// Writes 1 KiB chunks while not paused, up to `total`.
struct Streamer {
    transport: RefCell<Option<Transport>>,
    paused: Cell<bool>,
    written: Cell<usize>,
    total: usize,
    pauses: Cell<usize>,
}

impl Streamer {
    fn new(transport: Option<Transport>, total: usize) -> Rc<Streamer> {
        Rc::new(Streamer {
            transport: RefCell::new(transport),
            paused: Cell::new(false),
            written: Cell::new(0),
            total,
            pauses: Cell::new(0),
        })
    }

    fn produce(&self) {
        let transport = self.transport.borrow().clone().unwrap();
        while !self.paused.get() && self.written.get() < self.total {
            let at = self.written.get();
            let chunk = pattern(self.total)[at..(at + 1024).min(self.total)].to_vec();
            self.written.set(at + chunk.len());
            transport.write(&chunk);
        }
    }
}

impl PushProducer for Streamer {
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
    }
    fn stop_producing(&self) {
        self.paused.set(true);
    }
}

#[test]
fn a_producer_is_paused_while_bytes_are_held_so_memory_stays_bounded() {
    let (clock, shared) = clock();
    let (string, protocol, transport) = throttled(Throttle::new(shared).write_rate(4096));
    transport.set_water_marks(WaterMarks::new(8192, 2048));
    let streamer = Streamer::new(Some(transport.clone()), 64 * 1024);
    transport
        .register_producer(Producer::Push(streamer.clone()))
        .unwrap();
    let mut out = Vec::new();
    let mut most_held = 0;
    for second in 0..40 {
        streamer.produce();
        most_held = most_held.max(protocol.policy().held());
        out.extend(string.take());
        assert!(out.len() <= 4096 * (second + 1), "at most one budget per period");
        clock.advance(SECOND);
    }
    assert_eq!(out, pattern(64 * 1024), "everything, in order");
    assert!(
        streamer.pauses.get() > 1,
        "paused while held: {}",
        streamer.pauses.get()
    );
    assert!(
        most_held <= 8192 + 1024,
        "held at most the high-water mark and one write: {most_held}"
    );
}

/// Writes one 1000-byte chunk each time it is asked.
struct Puller {
    transport: Transport,
    asked: Cell<usize>,
}

impl PullProducer for Puller {
    fn resume_producing(&self) {
        self.asked.set(self.asked.get() + 1);
        self.transport.write(&[b'p'; 1000]);
    }
    fn stop_producing(&self) {}
}

#[test]
fn a_pull_producer_is_asked_again_once_the_transport_below_drains() {
    let (clock, shared) = clock();
    let (string, _protocol, transport) = throttled(Throttle::new(shared).write_rate(10_000));
    transport.set_water_marks(WaterMarks::new(4000, 2000));
    let puller = Rc::new(Puller {
        transport: transport.clone(),
        asked: Cell::new(0),
    });
    transport
        .register_producer(Producer::Pull(puller.clone()))
        .unwrap();
    assert_eq!(puller.asked.get(), 1, "asked for a first chunk");
    // The peer reads nothing: the bytes below pile up, the producer waits.
    for _ in 0..3 {
        clock.advance(SECOND);
    }
    let stalled = puller.asked.get();
    assert!(string.value().len() > 2000 && stalled <= 4, "{stalled} chunks");
    string.clear(); // the peer reads everything
    clock.advance(SECOND);
    assert!(
        puller.asked.get() > stalled,
        "asked again after the drain, by the next tick"
    );
}

#[test]
fn writing_past_the_backlog_limit_without_a_producer_aborts() {
    let (_clock, shared) = clock();
    let (echo, seen) = echo_factory();
    let factory = wrap_factory(echo, Throttle::new(shared).write_rate(100).max_held(10_000));
    let mut conn =
        StringTransportWithDisconnection::new(factory.build_protocol(&gyre_testing::default_peer()).unwrap());
    conn.data_received(&pattern(5000));
    assert!(conn.is_connected());
    conn.data_received(&pattern(6000));
    assert!(!conn.is_connected());
    assert!(conn.transport().is_aborted());
    let reason = seen.borrow()[0].borrow().lost.clone().unwrap();
    assert_eq!(
        reason.downcast_ref::<ThrottleBacklogFull>().unwrap().limit,
        10_000
    );
}

#[test]
fn reading_is_paused_over_budget_and_the_long_run_rate_holds() {
    let (clock, shared) = clock();
    let factory = wrap_factory(echo_factory().0, Throttle::new(shared).read_rate(1000));
    let (recorder, _) = Recorder::new();
    let server = factory.build_protocol(&gyre_testing::default_peer()).unwrap();
    let mut pair = connect_pair(server, recorder);
    let client = pair.client_transport();
    let mut offered = Vec::new();
    let mut paused_steps = 0;
    let mut largest_read = 0;
    // The client would send 3000 B/s (300 bytes every 100 ms) but, like a
    // socket with a 300-byte send buffer, waits while its last write is
    // undelivered.
    for step in 0..300 {
        if pair.client_end().pending() == 0 {
            let chunk: Vec<u8> = (0..300).map(|i| ((step * 300 + i) % 253) as u8).collect();
            client.write(&chunk);
            offered.extend_from_slice(&chunk);
        }
        let before = pair.client().seen.borrow().data.len();
        pair.pump();
        let after = pair.client().seen.borrow().data.len();
        largest_read = largest_read.max(after - before);
        if pair.server_end().is_reading_paused() {
            paused_steps += 1;
        }
        clock.advance(Duration::from_millis(100));
    }
    let received = pair.client().seen.borrow().data.len(); // echoed back: what the server read
    assert!(paused_steps > 100, "paused in {paused_steps} of 300 steps");
    assert_eq!(largest_read, 300);
    assert!(
        (29_000..=31_300).contains(&received),
        "read {received} bytes in 30 s at 1000 B/s"
    );
    // Left alone, everything offered arrives, in order.
    for _ in 0..5 {
        clock.advance(SECOND);
        pair.pump();
    }
    assert_eq!(pair.client().seen.borrow().data, offered);
}

#[test]
fn a_large_read_is_paid_for_over_the_following_periods() {
    let (clock, shared) = clock();
    let (string, mut protocol, _) = throttled(Throttle::new(shared).read_rate(1000));
    protocol.data_received(&string.handle(), &[0; 4500]);
    let mut paused = Vec::new();
    for _ in 0..6 {
        clock.advance(SECOND);
        paused.push(string.is_reading_paused());
    }
    assert_eq!(
        paused,
        [true, true, true, false, false, false],
        "4500 bytes cost 4 periods"
    );
    assert!(clock.calls().is_empty(), "and then the tick stops");
}

#[test]
fn the_wrapped_protocols_own_pause_is_kept_apart() {
    let (clock, shared) = clock();
    let (string, mut protocol, above) = throttled(Throttle::new(shared).read_rate(1000));
    protocol.data_received(&string.handle(), &[0; 1500]);
    assert!(string.is_reading_paused() && protocol.policy().is_reading_throttled());
    above.pause_reading();
    clock.advance(SECOND);
    assert!(!protocol.policy().is_reading_throttled());
    assert!(
        string.is_reading_paused(),
        "the tick does not undo the protocol's pause"
    );
    above.resume_reading();
    assert!(!string.is_reading_paused());

    // And the protocol's resume does not undo the throttle's pause.
    protocol.data_received(&string.handle(), &[0; 1000]);
    assert!(string.is_reading_paused());
    above.pause_reading();
    above.resume_reading();
    assert!(string.is_reading_paused(), "still over budget");
    clock.advance(SECOND);
    assert!(!string.is_reading_paused());
}

#[test]
fn without_a_write_rate_producers_and_writes_go_straight_through() {
    let (_clock, shared) = clock();
    let (string, _protocol, above) = throttled(Throttle::new(shared).read_rate(10));
    above.write(&[1; 100_000]);
    assert_eq!(string.value().len(), 100_000);
    let streamer = Streamer::new(None, 0);
    above.register_producer(Producer::Push(streamer)).unwrap();
    assert!(string.producer().is_some(), "registered on the transport below");
}
