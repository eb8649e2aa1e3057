//! The server adapter: a gyre `Protocol` that drives
//! a [`ServerConnection`](crate::proto::ServerConnection) and hands each
//! request to a [`Handler`].
//!
//! ```text
//!   transport ──bytes──▶ HttpServerProtocol ──▶ ServerConnection (sans-IO)
//!                         │  Request { head, body: RequestBody }   ▲ send_*
//!                         ▼                                        │
//!                       Handler::handle(request, response) ── Response
//! ```
//!
//! * One request at a time per connection; the next pipelined request is
//!   read only once the current response is finished, so responses go out
//!   in order.
//! * The request body is streamed: [`RequestBody::stream`] delivers it in
//!   pieces as they arrive; [`RequestBody::pause`] (or the body registered
//!   as a push producer on a slow consumer) stops the transport from reading.
//!   `100 Continue` is sent when the handler starts reading the body.
//! * The [`Response`] is a handle the handler may keep: write the head,
//!   body pieces over time (from Deferred callbacks, from a producer
//!   registered with [`Response::register_producer`]) and finish.
//! * Timeouts run on the [`Clock`] given to
//!   [`HttpServer::new`]: a request head must arrive within
//!   [`ServerOptions::head_timeout`] of its first byte (a slowloris peer
//!   sending a byte at a time is cut off there, with `408`), an idle
//!   keep-alive connection is closed after [`ServerOptions::idle_timeout`],
//!   and a body that stops arriving after [`ServerOptions::body_timeout`].
//!
//! ```
//! use std::rc::Rc;
//! use gyre_http::server::{HttpServer, Request, Response};
//! use gyre_http::StatusCode;
//! use gyre_testing::{ManualClock, StringTransportWithDisconnection};
//!
//! let clock = ManualClock::new();
//! let server = HttpServer::new(Rc::new(clock.clone()), |request: Request, response: Response| {
//!     let greeting = format!("hello, {}\n", request.head().target.path());
//!     response.send(StatusCode::OK, "text/plain", greeting.as_bytes()).unwrap();
//! });
//! let mut connection = StringTransportWithDisconnection::new(server.protocol());
//! connection.data_received(b"GET /world HTTP/1.1\r\nHost: example\r\n\r\n");
//! let answer = String::from_utf8(connection.transport().take()).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("\r\n\r\nhello, /world\n"));
//! ```

mod access_log;
mod connection;
mod request;
mod response;

use std::rc::Rc;
use std::time::Duration;

use gyre_core::{Address, Clock, Factory, Protocol};

pub use access_log::{AccessLog, SharedBuffer, escape_log_field};
use connection::Connections;
pub use connection::HttpServerProtocol;
pub use request::{BodyEvent, Request, RequestBody};
pub use response::Response;

use crate::proto::ServerConfig;

/// What the application does with each request.
///
/// `handle` is called once per request, as soon as its head has arrived.
/// It answers through `response`, now or later; a response that is never
/// finished holds the connection (and the requests pipelined behind it)
/// until the client gives up. Closures `Fn(Request, Response)` are handlers.
pub trait Handler: 'static {
    /// Answers one request.
    fn handle(&self, request: Request, response: Response);
}

impl<F: Fn(Request, Response) + 'static> Handler for F {
    fn handle(&self, request: Request, response: Response) {
        self(request, response);
    }
}

/// Limits and timeouts of the server adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOptions {
    /// Limits of the connection machine (head and body sizes, buffering).
    pub connection: ServerConfig,
    /// From the first byte of a request head to its end. Default 30 s.
    pub head_timeout: Duration,
    /// Between requests on a kept-alive connection (and before the first).
    /// Default 60 s.
    pub idle_timeout: Duration,
    /// Without progress while a request body is being read (and the handler
    /// wants it). Default 60 s.
    pub body_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            connection: ServerConfig::default(),
            head_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
        }
    }
}

/// An HTTP/1.1 server: a [`Factory`] building an [`HttpServerProtocol`] per
/// connection, all sharing one handler, clock and options.
#[derive(Clone)]
pub struct HttpServer {
    handler: Rc<dyn Handler>,
    clock: Rc<dyn Clock>,
    options: Rc<ServerOptions>,
    connections: Rc<Connections>,
}

impl HttpServer {
    /// A server answering with `handler`, timing out on `clock` (the
    /// reactor, or a manual clock in tests), with default options.
    pub fn new(clock: Rc<dyn Clock>, handler: impl Handler) -> Self {
        HttpServer {
            handler: Rc::new(handler),
            clock,
            options: Rc::new(ServerOptions::default()),
            connections: Rc::default(),
        }
    }

    /// The same server with other options.
    pub fn with_options(mut self, options: ServerOptions) -> Self {
        self.options = Rc::new(options);
        self
    }

    /// The options in effect.
    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// A protocol for one connection.
    pub fn protocol(&self) -> HttpServerProtocol {
        HttpServerProtocol::new(
            self.handler.clone(),
            self.clock.clone(),
            self.options.clone(),
            self.connections.clone(),
        )
    }

    /// Shuts down gracefully (what the application server does on SIGTERM,
    /// after it stopped listening): each connection answers the request it
    /// is on (its response says `Connection: close` when its head is not
    /// sent yet) and then closes, connections idle between requests close
    /// now, and a connection made later (accepted before the caller's
    /// listening port closed) is answered once, then closed. Upgraded
    /// connections are no longer HTTP's: close WebSockets with
    /// [`OpenWebSockets::close_all`](crate::websocket::OpenWebSockets::close_all). Clones
    /// of this server share its connections.
    pub fn shut_down(&self) {
        self.connections.shut_down();
    }

    /// How many of this server's connections are open.
    pub fn open_connections(&self) -> usize {
        self.connections.open()
    }
}

impl Factory for HttpServer {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(self.protocol()))
    }
}
