//! # gyre-testing: the test doubles of the gyre networking engine
//!
//! gyre's contracts are written so that everything outside a protocol (the
//! connection, the reactor, time, the executor) can be replaced in a test.
//! This crate holds those replacements. They are public API because every
//! gyre crate, and every user's protocol, is meant to be tested with them:
//!
//! ```text
//!   what the code under test uses        what a test hands it instead
//!   ─────────────────────────────        ──────────────────────────────────────────
//!   Transport (one connection)           StringTransport: records writes, value()/clear()
//!     … with connection_lost delivered   StringTransportWithDisconnection<P>
//!   two connected protocols              connect_pair(server, client) → Pump
//!   Clock (timeouts, retries)            ManualClock: advance()/pump()/flush()
//!   ReactorTcp/Unix/Udp + Clock          MemoryReactor: records calls, test plays the network
//!   Spawn (async tasks)                  ManualExecutor: run_until_stalled()
//!
//!   checks
//!   ──────
//!   split-safety of parsers              feed_chunked, assert_chunking_invariant
//!   Deferred results                     success_result_of, failure_result_of, assert_no_result
//!   errors reported, not raised          capture_unhandled
//! ```
//!
//! All doubles are single-threaded handles (`Rc` inside, cheap to clone) and
//! follow the same rule as real transports: they never call a protocol from
//! inside a transport method. Events are delivered by the harness (a
//! delivery, [`Pump::pump`], [`ManualClock::advance`]) after the current
//! callback has returned, so a test sees the same order of events as under
//! the reactor, only deterministic.
//!
//! ```
//! use std::time::Duration;
//! use gyre_core::{ClockExt, DelayedCall, Protocol, Transport};
//! use gyre_testing::{ManualClock, StringTransportWithDisconnection, connect_pair, feed_chunked};
//!
//! /// Echoes lines and hangs up on a client that stays silent for a minute.
//! struct EchoLines {
//!     clock: ManualClock,
//!     pending: Vec<u8>,
//!     idle: Option<DelayedCall>,
//! }
//!
//! impl EchoLines {
//!     fn new(clock: &ManualClock) -> Self {
//!         EchoLines { clock: clock.clone(), pending: Vec::new(), idle: None }
//!     }
//! }
//!
//! impl Protocol for EchoLines {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         let transport = transport.clone();
//!         self.idle = Some(self.clock.call_later(Duration::from_secs(60), move || transport.lose_connection()));
//!     }
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         if let Some(idle) = &self.idle {
//!             idle.reset(self.clock.now(), Duration::from_secs(60));
//!         }
//!         self.pending.extend_from_slice(data);
//!         while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
//!             let line: Vec<u8> = self.pending.drain(..=end).collect();
//!             transport.write(&line);
//!         }
//!     }
//! }
//!
//! // One connection on a StringTransport, time moved by hand.
//! let clock = ManualClock::new();
//! let mut conn = StringTransportWithDisconnection::new(EchoLines::new(&clock));
//! conn.data_received(b"hel");
//! conn.data_received(b"lo\n");
//! assert_eq!(conn.transport().take(), b"hello\n");
//! clock.advance(Duration::from_secs(59));
//! assert!(conn.is_connected());
//! clock.advance(Duration::from_secs(1));
//! conn.settle(); // the timer closed the transport; deliver connection_lost
//! assert!(!conn.is_connected());
//!
//! // The same protocol at every chunk size.
//! let run = feed_chunked(|| EchoLines::new(&clock), b"one\ntwo\n");
//! assert_eq!(run.written, b"one\ntwo\n");
//!
//! // Two protocols talking through a pump.
//! struct Hello;
//! impl Protocol for Hello {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         transport.write(b"hi\n");
//!     }
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         assert_eq!(data, b"hi\n");
//!         transport.lose_connection();
//!     }
//! }
//! let mut pair = connect_pair(EchoLines::new(&clock), Hello);
//! pair.pump();
//! assert!(!pair.is_connected());
//! ```

mod backend_core;
pub mod certs;
mod chunked;
mod deferred_results;
mod disconnection;
mod executor;
pub mod fuzz_smoke;
mod manual_clock;
mod memory_connector;
mod memory_port;
mod memory_reactor;
mod memory_udp;
mod pair_end;
pub mod peers;
mod pump;
mod string_transport;
#[cfg(test)]
mod test_support;
mod unhandled;

pub use chunked::{ChunkedRun, assert_chunking_invariant, chunk_sizes, feed_chunked};
pub use deferred_results::{assert_no_result, failure_result_of, success_result_of};
pub use disconnection::StringTransportWithDisconnection;
pub use executor::{MAX_POLLS, ManualExecutor};
pub use manual_clock::{MAX_PASSES, ManualClock};
pub use memory_connector::{MemoryConnector, TcpClient, UnixClient};
pub use memory_port::{MemoryConnection, MemoryPort, TcpServer, UnixServer};
pub use memory_reactor::{FIRST_FAKE_PORT, MemoryReactor};
pub use memory_udp::{DatagramSettings, MemoryDatagramPort, UdpPort};
pub use pair_end::PairEnd;
pub use pump::{MAX_PUMP_STEPS, Pump, connect_pair, connect_pair_with_addresses};
pub use string_transport::{StringTransport, default_host, default_peer};
pub use unhandled::{DEFERRED_TARGET, capture_unhandled};
