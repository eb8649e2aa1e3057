//! # gyre-core: the contracts of the gyre networking engine
//!
//! This crate defines what every other gyre crate agrees on, and does no I/O
//! itself:
//!
//! ```text
//!   user code            Protocol ── built by ── Factory / ClientFactory
//!                           │ talks through
//!   handles              Transport · DatagramTransport · ProcessTransport
//!                           │ implemented by
//!   backends             reactor sockets · TLS · SSH channels · test doubles
//!
//!   results over time    Deferred<T> ── fired by ── Resolver<T>;  Failure for errors
//!   time                 Clock (reactor or manual) → DelayedCall, TimerQueue
//! ```
//!
//! * [`Protocol`] handles one connection; every callback receives the
//!   connection's [`Transport`], a cheap handle it may clone and keep.
//! * [`Deferred`] is Twisted's Deferred with types: callbacks run in order as
//!   soon as a result is there, can change the value's type, can return another
//!   Deferred to wait on it, and a Deferred can be `.await`ed.
//! * [`Failure`] wraps any error with context and can be matched by type.
//! * [`Clock`] is the only source of time, so everything with a timeout can be
//!   tested with a manual clock.
//!
//! A complete protocol, exercised with the in-memory transport from
//! `gyre-testing`:
//!
//! ```
//! use gyre_core::prelude::*;
//!
//! /// Answers each line with its length.
//! #[derive(Default)]
//! struct LineLength {
//!     pending: Vec<u8>,
//! }
//!
//! impl Protocol for LineLength {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         self.pending.extend_from_slice(data);
//!         while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
//!             let line: Vec<u8> = self.pending.drain(..=end).collect();
//!             transport.write(format!("{}\n", line.len() - 1).as_bytes());
//!         }
//!     }
//! }
//!
//! let run = gyre_testing::feed_chunked(LineLength::default, b"hello\nworld!\n");
//! assert_eq!(run.written, b"5\n6\n");
//! ```

pub mod address;
pub mod calendar;
pub mod capability;
pub mod clock;
pub mod connector;
pub mod datagram;
pub mod deferred;
pub mod errors;
pub mod failure;
pub mod interfaces;
pub mod process;
pub mod producer;
pub mod protocol;
mod timer;
pub mod transport;

pub use address::Address;
pub use clock::{Clock, ClockExt, DelayedCall};
pub use deferred::{Deferred, Resolver};
pub use failure::Failure;
pub use protocol::{ClientFactory, Factory, Protocol, SharedClientFactory, SharedFactory, protocol_factory};
pub use transport::Transport;

/// The names most gyre programs use, in one import.
pub mod prelude {
    pub use crate::address::Address;
    pub use crate::clock::{Clock, ClockExt, DelayedCall};
    pub use crate::deferred::{Deferred, Outcome, Resolver, fail, maybe, succeed};
    pub use crate::failure::Failure;
    pub use crate::protocol::{
        ClientFactory, Factory, Protocol, SharedClientFactory, SharedFactory, protocol_factory,
    };
    pub use crate::transport::Transport;
}

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
