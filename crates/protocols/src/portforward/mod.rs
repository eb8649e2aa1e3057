//! # Port forwarding and the bidirectional relay
//!
//! [`Relay`] joins two connections: bytes flow both ways, each transport
//! is registered as the other's push producer (a slow reader on one side
//! pauses reading on the other, so memory stays within the transports'
//! water marks), an end of file on one side shuts down the write half of
//! the other while the opposite direction keeps flowing, and a close on
//! either side closes the other once its buffered bytes are sent. Bytes
//! that arrive before the far side is connected are held (bounded, with
//! reading paused) and sent first. The SOCKS server relays with it too.
//!
//! [`PortForwardFactory`] is Twisted's `twisted.protocols.portforward`:
//! a server factory that connects each accepted connection to a fixed
//! destination through any `ClientEndpoint` and relays. Unlike Twisted's,
//! half-close is forwarded and client bytes sent before the destination
//! answers are kept rather than relying on a pause that a fast client can
//! race.
//!
//! ```text
//!   listening port ─▶ PortForwardFactory ─▶ ForwardProtocol (inbound side)
//!                                                │ Relay::connect(endpoint)
//!                                                ▼
//!                                 ClientEndpoint ─▶ FarEnd (far side)
//! ```
//!
//! Run one from the command line with the `portforward` example:
//! `cargo run -p gyre-protocols --example portforward -- --listen tcp:8080 --dest example.com:80`.
//!
//! ```
//! use gyre_core::prelude::*;
//! use gyre_protocols::portforward::{Relay, RelayConfig};
//! use gyre_testing::connect_pair;
//!
//! /// The inbound side: relays to whatever far connection the test makes.
//! struct Inbound(Option<Relay>);
//! impl Protocol for Inbound {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         self.0 = Some(Relay::new(transport, RelayConfig::default()));
//!     }
//!     fn data_received(&mut self, _: &Transport, data: &[u8]) {
//!         self.0.as_ref().unwrap().data_received(data);
//!     }
//! }
//! struct Say(&'static [u8], Vec<u8>);
//! impl Protocol for Say {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         transport.write(self.0);
//!     }
//!     fn data_received(&mut self, _: &Transport, data: &[u8]) {
//!         self.1.extend_from_slice(data);
//!     }
//! }
//!
//! let mut client_side = connect_pair(Inbound(None), Say(b"hello far side", Vec::new()));
//! client_side.pump();
//! // The relay paused reading until the far side connects: the bytes wait.
//! assert_eq!(client_side.client_end().pending(), 14);
//! let relay = client_side.server().0.clone().unwrap();
//! let mut far_side = connect_pair(Say(b"hello client", Vec::new()), relay.far_protocol().unwrap());
//! client_side.pump(); // delivers the waiting bytes to the relay, which writes them on
//! far_side.pump();
//! client_side.pump();
//! assert_eq!(far_side.server().1, b"hello far side");
//! assert_eq!(client_side.client().1, b"hello client");
//! ```

mod forward;
mod relay;

pub use forward::PortForwardFactory;
pub use relay::{DEFAULT_PENDING_LIMIT, FarEnd, Relay, RelayConfig};
