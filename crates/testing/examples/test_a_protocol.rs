//! How gyre-testing exercises a protocol with no network: a tiny
//! line-based "PING"/"PONG" protocol with an idle timeout, driven through a
//! `StringTransport` and a `ManualClock`, and replayed at every chunk size.
//!
//! Run: `cargo run -p gyre-testing --example test_a_protocol`

use std::rc::Rc;
use std::time::Duration;

use gyre_core::prelude::*;
use gyre_testing::{ManualClock, StringTransport, feed_chunked};

/// Answers `PING\n` with `PONG\n`; closes after 30 s without traffic.
struct PingPong {
    clock: Rc<dyn Clock>,
    buffer: Vec<u8>,
    idle: Option<DelayedCall>,
}

impl PingPong {
    fn new(clock: Rc<dyn Clock>) -> Self {
        PingPong {
            clock,
            buffer: Vec::new(),
            idle: None,
        }
    }

    fn reset_idle(&mut self, transport: &Transport) {
        if let Some(idle) = self.idle.take() {
            idle.cancel();
        }
        let transport = transport.clone();
        self.idle = Some(
            self.clock
                .call_later(Duration::from_secs(30), move || transport.lose_connection()),
        );
    }
}

impl Protocol for PingPong {
    fn connection_made(&mut self, transport: &Transport) {
        self.reset_idle(transport);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.reset_idle(transport);
        self.buffer.extend_from_slice(data);
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            if line == b"PING\n" {
                transport.write(b"PONG\n");
            }
        }
    }

    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {
        if let Some(idle) = self.idle.take() {
            idle.cancel();
        }
    }
}

fn main() {
    let clock = Rc::new(ManualClock::new());

    // 1. Byte-level behaviour, whatever way TCP splits the input.
    let chunk_clock = clock.clone();
    let run = feed_chunked(move || PingPong::new(chunk_clock.clone()), b"PING\nPING\nNOISE\n");
    assert_eq!(run.written, b"PONG\nPONG\n");
    println!(
        "every chunking answered {:?}",
        String::from_utf8_lossy(&run.written)
    );

    // 2. Time: the idle timeout, driven by the manual clock.
    let transport = StringTransport::new();
    let mut protocol = PingPong::new(clock.clone());
    protocol.connection_made(&transport.handle());
    clock.advance(Duration::from_secs(29));
    protocol.data_received(&transport.handle(), b"PING\n");
    clock.advance(Duration::from_secs(29));
    assert!(!transport.is_disconnecting(), "traffic reset the idle timer");
    clock.advance(Duration::from_secs(1));
    assert!(
        transport.is_disconnecting(),
        "30 s of silence closes the connection"
    );
    println!("idle timeout closed the connection after {:?}", clock.elapsed());
}
