//! The protocol layer: sans-IO connection machines for both ends.
//!
//! [`ServerConnection`] and [`ClientConnection`] are Python h11's model in
//! Rust: bytes in (`handle_input`, `handle_eof`), events out
//! (`poll_event`), messages in (`send_*`), bytes out (`poll_transmit`). No
//! sockets, clocks or callbacks: the same machine runs under the gyre
//! reactor, in a test fed one byte at a time, or in a fuzzer. Every state
//! transition of a machine is in its one file; the framing rules they
//! share are in [`framing`].
//!
//! ## Rules the machines apply
//! * **Framing** (RFC 9112 §6): received requests with `Transfer-Encoding`
//!   and `Content-Length`, repeated or malformed lengths, a last coding
//!   other than chunked or `Transfer-Encoding` in HTTP/1.0 are refused
//!   (400; unknown codings 501). A response we send uses the
//!   `Content-Length` it was given, else chunked to HTTP/1.1 peers and
//!   close-delimited to HTTP/1.0 ones. `HEAD` answers keep the headers a
//!   `GET` would get and drop the body; 1xx, 204 and 304 have none.
//! * **Persistence**: HTTP/1.1 keeps the connection unless either side
//!   says `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`
//!   (answered with `Connection: keep-alive`). A close-delimited body, an
//!   error, or a half-closed peer end the connection after the response.
//! * **Pipelining**: one exchange at a time; later requests wait unparsed.
//! * **`Expect: 100-continue`**: [`ServerConnection::accept_body`] sends
//!   `100 Continue` when the body is wanted; a final response sent first
//!   means the client may never send the body, so the connection closes.
//! * **Upgrades**: a `101` to a request with `Upgrade`, or a 2xx to
//!   `CONNECT`, ends HTTP on the connection; `take_upgraded` returns the
//!   bytes that already arrived for the next protocol.
//! * **Errors** are sticky events carrying the status to answer (400, 413,
//!   414, 431, 501, 505); nothing is read after one.
//! * **Timeouts** are the adapter's: [`ServerConnection::read_phase`] says
//!   whether the connection waits for a request (idle timeout), is in the
//!   middle of a head (request-read timeout) or a body.
//!
//! ```
//! use gyre_http::proto::{ServerConnection, ServerEvent};
//! use gyre_http::{ErrorKind, StatusCode};
//!
//! // A request-smuggling attempt is refused with the status to answer.
//! let mut conn = ServerConnection::default();
//! conn.handle_input(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
//! let Some(ServerEvent::Error(error)) = conn.poll_event() else { panic!() };
//! assert_eq!(error.kind(), ErrorKind::TransferEncodingWithContentLength);
//! assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
//! conn.send_error_response(StatusCode::BAD_REQUEST).unwrap();
//! assert!(conn.poll_transmit().unwrap().starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
//! assert!(conn.wants_close());
//! ```

mod buffer;
mod client;
pub mod framing;
mod server;

pub use buffer::{KEEP_CAPACITY, Transmit};
pub use client::{ClientConnection, ClientEvent};
pub use server::{ReadPhase, ServerConfig, ServerConnection, ServerEvent};
