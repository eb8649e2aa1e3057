//! # The HTTP/1.1 client
//!
//! [`Agent`] sends requests over a persistent connection [pool](pool)
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
