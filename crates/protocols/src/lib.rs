//! # gyre-protocols: the protocol toolkit
//!
//! The pieces most network programs are built from, each a sans-IO core
//! (bytes in, events and bytes out, no I/O, no clock, limits on every
//! buffer, errors that stick) with a thin gyre [`Protocol`](gyre_core::Protocol)
//! adapter, so every one is tested byte by byte, with the in-memory doubles,
//! and against a real third-party peer.
//!
//! | module | what | Twisted |
//! |---|---|---|
//! | [`framing`] | line (with raw mode), line-only, 8/16/32-bit length-prefixed and netstring receivers; `FileSender` | `protocols.basic` |
//! | [`policies`] | composable wrappers: idle timeout, total and per-peer connection limits, bandwidth throttling, traffic logging | `protocols.policies` |
//! | [`inetd`] | echo, discard, chargen, daytime, time, qotd over TCP and UDP | `protocols.wire` |
//! | [`portforward`] | a bidirectional relay (flow control both ways, half-close) and port forwarding | `protocols.portforward` |
//! | [`socks`] | SOCKS4/4a/5 server (CONNECT, BIND, UDP ASSOCIATE, username/password) and a SOCKS5 client endpoint (`socks5:`) | `protocols.socks` (v4 server only) |
//! | [`proxy_protocol`] | HAProxy PROXY protocol v1/v2 as a server endpoint wrapper (`haproxy:`) | `protocols.haproxy` |
//! | [`amp`] | AMP, byte-for-byte compatible with Twisted's: typed commands, every argument type, fd passing | `protocols.amp` |
//!
//! The endpoint prefixes are opt-in, added to a registry by the program
//! that wants them:
//!
//! ```
//! use gyre_endpoints::EndpointRegistry;
//! use gyre_protocols::proxy_protocol::register_haproxy;
//! use gyre_protocols::socks::register_socks5_client;
//!
//! let mut registry = EndpointRegistry::default();
//! register_haproxy(&mut registry);
//! register_socks5_client(&mut registry);
//! assert!(registry.server_prefixes().contains(&"haproxy".to_owned()));
//! assert!(registry.client_prefixes().contains(&"socks5".to_owned()));
//! ```
//!
//! Each module's documentation has its design and a compiling example, and
//! `crates/protocols/examples/` runnable programs: `framing_line_echo`,
//! `inetd_services`, `portforward`, `socks_server`, `amp_calculator`.

pub mod amp;
pub mod framing;
pub mod inetd;
pub mod policies;
pub mod portforward;
pub mod proxy_protocol;
pub mod socks;

pub use amp::{Amp, AmpBox, AmpFactory, AmpProtocol, Responders};
