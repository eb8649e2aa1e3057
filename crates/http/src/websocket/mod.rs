//! WebSocket (RFC 6455): a sans-IO frame codec and connection machine,
//! the opening handshake, and adapters for the gyre-http server.
//!
//! ```text
//!   frame       headers parsed/written, masking; per-frame rules
//!   message     Role, WebSocketConfig, MaskKeys, Message, CloseFrame, Event
//!   connection  WebSocketConnection: fragmentation, message assembly with
//!               limits, UTF-8 checks across fragments, ping → pong, the
//!               close handshake, sticky errors answered with close codes
//!   deflate     permessage-deflate (RFC 7692): negotiation, compression
//!   handshake   validate_request / accept_response (server),
//!               ClientHandshake (client), accept_key
//!   session     WebSocketProtocol: the gyre Protocol driving a connection
//!               for a WebSocketHandler; WebSocket, the handle it sends
//!               through; close timeout, keep-alive pings, backpressure
//!   server      accept (from any gyre-http Handler), WebSocketServer
//!   client      WebSocketUrl, WebSocketClientProtocol (handshake through
//!               proto::ClientConnection), connect over any ClientEndpoint
//! ```
//!
//! The machine is the same for both roles; only masking differs (clients
//! mask every frame with a key from [`MaskKeys`], servers refuse unmasked
//! frames, clients refuse masked ones). Errors are sticky: the connection
//! queues a close frame with the error's code (1002 protocol error, 1007
//! invalid UTF-8, 1009 too big) and reads nothing more.
//!
//! Design decisions: a frame is processed only once whole, so the read
//! buffer is bounded by `max_frame_size` (checked from the header, before
//! any payload is buffered) and a message by `max_message_size` (checked
//! before each fragment is appended; inflated output is bounded the same
//! way). Text is validated incrementally, so invalid UTF-8 fails in the
//! fragment that carries it; a sequence split across fragments is fine.
//! Close codes 1005/1006/1015 are reported but never sent or accepted.
//!
//! ```
//! use gyre_http::websocket::{CloseCode, Event, Role, WebSocketConfig, WebSocketConnection};
//!
//! let mut server = WebSocketConnection::new(Role::Server, WebSocketConfig::default());
//! // An unmasked frame from a client is a protocol error, answered with 1002.
//! server.handle_input(&[0x81, 0x02, b'h', b'i']);
//! let Some(Event::Error(error)) = server.poll_event() else { panic!() };
//! assert_eq!(error.close_code(), CloseCode::PROTOCOL_ERROR);
//! assert_eq!(&server.poll_transmit().unwrap()[..4], &[0x88, 0x1e, 0x03, 0xea]);
//! assert!(server.wants_close());
//! ```

mod client;
mod connection;
mod deflate;
mod error;
mod frame;
mod handshake;
mod message;
mod server;
mod session;

pub use client::{InvalidUrl, WebSocketClientProtocol, WebSocketUrl, connect};
pub use connection::WebSocketConnection;
pub use deflate::{
    DeflateConfig, DeflateParams, PERMESSAGE_DEFLATE, check_deflate_answer, deflate_offer, negotiate_deflate,
};
pub use error::{CloseCode, WsError};
pub use frame::{FrameHeader, MAX_CONTROL_PAYLOAD, Opcode, apply_mask, parse_header, write_frame};
pub use handshake::{
    ClientHandshake, ClientOffer, HandshakeError, accept_key, accept_response, choose_protocol,
    validate_request,
};
pub use message::{CloseFrame, Event, MaskKeys, Message, Role, WebSocketConfig};
pub use server::{AcceptPolicy, OpenWebSockets, OriginCheck, WebSocketServer, accept};
pub use session::{WebSocket, WebSocketHandler, WebSocketOptions, WebSocketProtocol};
