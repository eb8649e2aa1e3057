//! # Proxies: reverse (a resource or a handler) and forward (with CONNECT)
//!
//! ```text
//!   client ─▶ HttpServer ─▶ ReverseProxy (leaf Resource / Handler)
//!                 │ request body: server::RequestBody ──push producer──▶ BodyWriter
//!                 ▼                                                         │
//!             Reply ◀── ResponseBody (paused while the client is slow) ◀── HttpClient (Agent)
//! ```
//!
//! * Both proxies forward through any [`HttpClient`](crate::client::HttpClient)
//!   (the [`Agent`](crate::client::Agent) with its connection pool and
//!   timeouts): nothing is buffered whole. The client's request body is the
//!   push producer of the upstream connection (a slow upstream stops reading
//!   from the client), and the upstream response body is paused while the
//!   client's connection is full (the Agent then stops reading upstream).
//! * Hop-by-hop fields are removed both ways ([`strip_hop_by_hop`]), the
//!   forwarding fields added ([`add_forwarding`]: `X-Forwarded-For` chained,
//!   `X-Forwarded-Proto`, `X-Forwarded-Host`, `Via`).
//! * An upstream that cannot be reached or breaks the protocol before its
//!   head is a `502`, a timeout (the Agent's [`Timeouts`](crate::client::Timeouts))
//!   a `504`; one that dies mid-body has the client connection aborted, so
//!   a truncated body is never taken for a whole one; a client that leaves
//!   before the upstream answered cancels the upstream request.
//! * [`ForwardProxy`] is a server [`Handler`](crate::server::Handler) for
//!   absolute-form requests (`GET http://host/path`, forwarded as above
//!   with `Host` set to the target) and `CONNECT host:port` tunnels: the
//!   connection is made through a [`TunnelDialer`] first, then answered
//!   `200 Connection Established` and handed over
//!   ([`Response::upgrade`](crate::server::Response::upgrade)) to a
//!   gyre-protocols `Relay` (flow control both ways, half-close), or
//!   answered `502`. An [`AccessPolicy`] vets every target (`403`); the
//!   [`DefaultPolicy`] tunnels to port 443 only, like Squid's `SSL_ports`,
//!   so the proxy is not an open TCP relay. [`ProxyAuth`] adds Basic
//!   proxy authentication (`407` + `Proxy-Authenticate`) through any
//!   [`CredentialChecker`](crate::resource::CredentialChecker).
//!
//! ```
//! use std::rc::Rc;
//! use gyre_http::client::{Agent, Connector, HttpClient};
//! use gyre_http::proxy::ReverseProxy;
//! use gyre_http::resource::{Node, Site};
//!
//! fn site(clock: Rc<dyn gyre_core::Clock>, connector: Rc<dyn Connector>) -> Site {
//!     let agent: Rc<dyn HttpClient> = Rc::new(Agent::builder(clock.clone(), connector).build());
//!     let api = ReverseProxy::new(agent, "http://127.0.0.1:8081/v1").unwrap();
//!     let root = Node::new().with_child("api", Rc::new(api));
//!     Site::new(clock, Rc::new(root))
//! }
//! ```

mod exchange;
mod forward;
mod headers;
mod policy;
mod reverse;

pub use exchange::failure_status;
pub use forward::{ForwardProxy, TunnelDialer};
pub use headers::{Forwarding, HOP_BY_HOP, add_forwarding, append_via, client_address, strip_hop_by_hop};
pub use policy::{AccessPolicy, DefaultPolicy, ProxyAuth};
pub use reverse::{DEFAULT_VIA_NAME, ReverseProxy, encode_segment, end_to_end};
