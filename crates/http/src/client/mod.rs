//! # The HTTP/1.1 client
//!
//! [`Agent`] sends requests over a persistent connection [pool]
//! and gives a [`Response`] whose body streams with backpressure
//! (Twisted's `Agent` + `readBody`). It is built on the sans-IO
//! [`ClientConnection`](crate::proto::ClientConnection) and opens
//! connections through a [`Connector`]: [`EndpointConnector`] uses
//! gyre-endpoints (`HostnameEndpoint`'s happy eyeballs, gyre-tls for
//! `https`), tests use an in-memory one.
//!
//! ```text
//!   url        RequestUrl / Origin (the `url` crate, http and https only)
//!   agent      Agent: request heads, stale-connection retry, HttpClient trait
//!   pool       PoolKey → idle connections, per-host limit + queue, idle expiry
//!   connection one connection: ClientConnection + timers + body sink
//!   response   Response, ResponseBody (stream / pause / read_body)
//!   request    RequestBody: empty, bytes (replayable), stream (BodyWriter)
//!   connector  EndpointConnector: TCP/TLS by host name
//! ```
//!
//! Deferreds from the agent can be cancelled: a queued request leaves the
//! queue, a connection being made is abandoned, a request in flight has
//! its connection aborted (a half-sent exchange cannot be reused).
//!
//! Wrappers stack, each an [`HttpClient`]: [`RedirectAgent`] outermost,
//! then [`CookieAgent`] (so every hop gets its own cookies), then
//! [`ContentDecoder`], then the [`Agent`]. Against a real server, use
//! `EndpointConnector::new(reactor, resolver, tls)` (see the `fetch`
//! example). In memory, any [`Connector`] will do; here one that pairs
//! each connection with a gyre HTTP server:
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use gyre_core::{Deferred, SharedFactory};
//! use gyre_endpoints::Connection;
//! use gyre_http::client::{Agent, Connector, PoolKey, RequestBody};
//! use gyre_http::server::{HttpServer, Request, Response};
//! use gyre_http::{HeaderMap, Method, StatusCode};
//! use gyre_testing::{ManualClock, Pump, connect_pair, success_result_of};
//!
//! type Pair = Pump<Box<dyn gyre_core::Protocol>, Box<dyn gyre_core::Protocol>>;
//!
//! /// Connects every request to an in-memory server.
//! struct InMemory(HttpServer, RefCell<Vec<Pair>>);
//! impl Connector for InMemory {
//!     fn connect(&self, _: &PoolKey, factory: SharedFactory) -> Deferred<Connection> {
//!         let client = factory.build_protocol(&gyre_testing::default_host()).unwrap();
//!         let pair: Pair = connect_pair(Box::new(self.0.protocol()), client);
//!         let connection = Connection::new(pair.client_transport());
//!         self.1.borrow_mut().push(pair);
//!         Deferred::succeed(connection)
//!     }
//! }
//!
//! let clock = Rc::new(ManualClock::new());
//! let server = HttpServer::new(clock.clone(), |request: Request, response: Response| {
//!     let text = format!("you asked for {}", request.head().target.as_str());
//!     response.send(StatusCode::OK, "text/plain", text.as_bytes()).unwrap();
//! });
//! let net = Rc::new(InMemory(server, RefCell::default()));
//! let agent = Agent::builder(clock, net.clone()).build();
//!
//! let response = agent.request_str(Method::GET, "http://example.com/page", HeaderMap::new(), RequestBody::empty());
//! let body = response.and_then(|response| response.read_body(1024));
//! for pair in net.1.borrow_mut().iter_mut() {
//!     pair.pump();
//! }
//! assert_eq!(success_result_of(body), b"you asked for /page");
//! ```

pub mod agent;
pub mod connection;
pub mod connector;
pub mod cookie;
pub mod decode;
pub mod error;
pub mod pool;
pub mod redirect;
pub mod request;
pub mod response;
pub mod tunnel;
pub mod url;

pub use agent::{Agent, AgentBuilder, HttpClient};
pub use connection::Timeouts;
pub use connector::EndpointConnector;
pub use cookie::{CookieAgent, CookieJar, SetCookie};
pub use decode::{ContentDecoder, DEFAULT_DECODED_LIMIT};
pub use error::{ClientError, TimeoutPhase};
pub use pool::{Connector, PoolConfig, PoolKey};
pub use redirect::{DEFAULT_REDIRECT_LIMIT, RedirectAgent};
pub use request::{BodyWriter, RequestBody};
pub use response::{BODY_HIGH_WATER, BodyEvent, Response, ResponseBody};
pub use tunnel::{TunnelProtocol, connect_tunnel};
pub use url::{Origin, RequestUrl, Scheme};
