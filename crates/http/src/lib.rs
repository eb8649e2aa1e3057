//! # gyre-http: HTTP/1.1 for gyre
//!
//! A sans-IO HTTP/1.1 core shared by servers and clients, and a server
//! adapter on top of it. Layers, each usable on its own:
//!
//! ```text
//!   wire    typed heads: Method, Version, StatusCode, HeaderMap, RequestTarget;
//!           strict httparse-based parsing with limits (414/431), writing heads
//!   body    framing: Content-Length, chunked (+ trailers), read-until-close;
//!           incremental decoders, encoders that refuse to lie about lengths
//!   proto   ServerConnection / ClientConnection: every state transition of a
//!           connection — keep-alive, pipelining, 100-continue, HEAD, 1xx,
//!           upgrades and CONNECT, request-smuggling defences, sticky errors
//!   server  HttpServer: a gyre Protocol/Factory driving ServerConnection,
//!           streaming request bodies with backpressure, deferred responses,
//!           producers, head/idle/body timeouts on a Clock
//! ```
//!
//! The machines do no I/O and read no clock: bytes go in with
//! `handle_input`, events come out of `poll_event`, messages go in with
//! `send_*`, bytes come out of `poll_transmit` (Python h11's design). They
//! are tested fed one byte at a time, fuzzed, and driven by the server
//! adapter under the reactor.
//!
//! A complete server, tested in memory (under a reactor, listen with
//! `SharedFactory::new(server)` on any endpoint; see the `http_hello` example):
//!
//! ```
//! use std::rc::Rc;
//! use gyre_http::server::{BodyEvent, HttpServer, Request, Response};
//! use gyre_http::StatusCode;
//!
//! /// Answers with the size of the uploaded body, however it was framed.
//! fn count(request: Request, response: Response) {
//!     let mut size = 0;
//!     request.body().stream(move |event| match event {
//!         BodyEvent::Data(data) => size += data.len(),
//!         BodyEvent::End(_) => {
//!             let text = format!("{size} bytes\n");
//!             response.send(StatusCode::OK, "text/plain", text.as_bytes()).unwrap();
//!         }
//!         BodyEvent::Failed(_) => {} // answered by the server (400, 413, 408)
//!     });
//! }
//!
//! let clock = gyre_testing::ManualClock::new();
//! let server = HttpServer::new(Rc::new(clock), count);
//! let run = gyre_testing::feed_chunked(
//!     || server.protocol(),
//!     b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
//! );
//! let answer = String::from_utf8(run.written).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("\r\n\r\n5 bytes\n"));
//! ```

mod base64;
pub mod body;
pub mod client;
mod date;
pub mod error;
pub mod proto;
pub mod proxy;
pub mod resource;
pub mod server;
pub mod static_files;
pub mod websocket;
pub mod wire;

pub use error::{ErrorKind, HttpError, SendError};
pub use wire::{
    HeaderMap, Method, RequestHead, RequestTarget, ResponseHead, StatusCode, TargetForm, Version,
};
