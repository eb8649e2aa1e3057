//! Traffic logging: every event of the wrapped protocol's connection, with
//! peer and byte counts, to a writer (asserted line by line) and through
//! `tracing` (captured with a subscriber).

mod policies_support;

use std::cell::RefCell;
use std::io::{IoSlice, Write};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use gyre_core::Address;
use gyre_protocols::policies::{TRAFFIC_TARGET, TrafficLog, Wrapped, hex_dump, wrap_factory};
use gyre_testing::{StringTransport, StringTransportWithDisconnection};
use policies_support::{Recorder, echo_factory, tcp};

/// A writer whose bytes the test can read back.
#[derive(Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone()).unwrap()
    }
}

fn connect(
    factory: &gyre_core::SharedFactory,
    peer: &Address,
) -> StringTransportWithDisconnection<Box<dyn gyre_core::Protocol>> {
    let transport = StringTransport::with_addresses(tcp("127.0.0.1:8000"), peer.clone());
    StringTransportWithDisconnection::with_transport(factory.build_protocol(peer).unwrap(), transport)
}

#[test]
fn every_event_is_a_line_with_peer_and_byte_counts() {
    let buffer = Buffer::default();
    let log = TrafficLog::new().tracing(false).to_writer(buffer.clone());
    let factory = wrap_factory(echo_factory().0, log);
    let peer = tcp("192.0.2.5:40000");
    let mut first = connect(&factory, &peer);
    first.data_received(b"hello");
    let mut second = connect(&factory, &tcp("192.0.2.6:40001"));
    first.peer_half_closed(); // the recorder closes in answer
    second.data_received(b"xy");
    second.handle().pause_reading(); // below the log: not the protocol's doing, not logged
    second.peer_closed();
    assert_eq!(
        buffer.text(),
        "#1 tcp:192.0.2.5:40000 connected to tcp:127.0.0.1:8000 (string)\n\
         #1 tcp:192.0.2.5:40000 read 5 bytes\n\
         #1 tcp:192.0.2.5:40000 wrote 5 bytes\n\
         #2 tcp:192.0.2.6:40001 connected to tcp:127.0.0.1:8000 (string)\n\
         #1 tcp:192.0.2.5:40000 peer shut down its write side\n\
         #1 tcp:192.0.2.5:40000 closing\n\
         #1 tcp:192.0.2.5:40000 connection lost: connection was closed cleanly (read 5 bytes, wrote 5 bytes)\n\
         #2 tcp:192.0.2.6:40001 read 2 bytes\n\
         #2 tcp:192.0.2.6:40001 wrote 2 bytes\n\
         #2 tcp:192.0.2.6:40001 connection lost: connection was closed cleanly (read 2 bytes, wrote 2 bytes)\n"
    );
}

#[test]
fn hex_dumps_follow_reads_and_writes_up_to_the_limit() {
    let buffer = Buffer::default();
    let log = TrafficLog::new()
        .tracing(false)
        .hex_dump(true)
        .dump_limit(20)
        .to_writer(buffer.clone());
    let (recorder, _) = Recorder::echo();
    let mut conn =
        StringTransportWithDisconnection::new(Wrapped::new(log.logger(&tcp("127.0.0.1:1")), recorder));
    conn.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n");
    let text = buffer.text();
    let expected = "#1 tcp:127.0.0.1:54321 read 25 bytes\n  \
        00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|\n  \
        00000010  48 6f 73 74                                       |Host|\n  \
        ... 5 more bytes\n";
    assert!(text.contains(expected), "{text}");
    assert!(text.contains("wrote 25 bytes\n  00000000  47 45"), "{text}");
    assert!(
        text.contains(&expected.replace("read 25", "wrote 25")),
        "the echo's dump is the read's: {text}"
    );
    // A vectored write is dumped as one, up to the limit.
    let above = conn.protocol().transport().unwrap().clone();
    above.write_vectored(&[IoSlice::new(b"GET / HTTP/1.1\r\n"), IoSlice::new(b"Host: x\r\n")]);
    let text = buffer.text();
    assert!(text.ends_with(&expected.replace("read 25", "wrote 25")), "{text}");
}

#[test]
fn hex_dump_of_nothing_and_of_exact_lines() {
    let mut out = String::new();
    hex_dump(b"", 100, &mut out);
    assert_eq!(out, "");
    hex_dump(&[0u8; 16], 16, &mut out);
    assert_eq!(
        out,
        "\n  00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|"
    );
}

/// A `tracing` writer shared with the test thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn events_go_through_tracing_with_connection_and_peer_fields() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let factory = wrap_factory(echo_factory().0, TrafficLog::new());
        let mut conn = connect(&factory, &tcp("198.51.100.3:7"));
        conn.data_received(b"abc");
        conn.transport().handle().abort_connection();
        conn.settle();
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for line in &lines {
        assert!(line.contains(TRAFFIC_TARGET), "{line}");
        assert!(line.contains("connection=1 peer=tcp:198.51.100.3:7"), "{line}");
    }
    assert!(
        lines[1].contains("read 3 bytes") && lines[2].contains("wrote 3 bytes"),
        "{text}"
    );
    assert!(
        lines[3].contains("connection lost: connection was aborted locally (read 3 bytes, wrote 3 bytes)"),
        "{text}"
    );
}
