//! # gyre-reactor: the event loop
//!
//! A [`Reactor`] waits for I/O with mio (edge triggered), runs timers from a
//! heap with lazy cancellation, and calls the short callbacks of protocols.
//! One reactor per thread; several may exist in one process, and a reactor
//! can be run again after it stopped.
//!
//! ```text
//!              ┌──────────── Reactor::run_once ─────────────┐
//!   mio poll → │ sources (TCP, Unix, UDP, pipes, signals)    │ → Protocol callbacks
//!   timers   → │ TimerQueue (gyre-core)                      │ → Clock callbacks
//!   threads  → │ ReactorHandle::call_from_thread, executor   │
//!              │ end of turn: deferred notifications, flushes│
//!              └─────────────────────────────────────────────┘
//! ```
//!
//! ```
//! use std::time::Duration;
//! use gyre_core::prelude::*;
//! use gyre_reactor::Reactor;
//!
//! let reactor = Reactor::new().unwrap();
//! let answer = gyre_core::deferred::defer_later(&reactor, Duration::from_millis(5), || Ok(42));
//! assert_eq!(reactor.run_until(answer).unwrap(), 42);
//! ```

pub mod adopt;
pub mod async_io;
pub mod daemon;
pub mod datagram;
mod error;
mod executor;
mod hosted;
pub mod privileges;
pub mod process;
mod reactor;
mod remote;
pub mod signals;
mod sources;
pub mod stdio;
mod stream;
mod stream_connector;
mod stream_port;
mod sys;
mod tcp;
pub mod threads;
mod triggers;
pub mod unix;
mod write_buffer;

pub use error::NotRunning;
pub use hosted::HostedRun;
pub use reactor::Reactor;
pub use remote::ReactorHandle;
pub use tcp::{ConnectOptions, ListenOptions, TcpKeepAlive, TcpNoDelay};
pub use triggers::{Phase, SystemEvent, TriggerId};
