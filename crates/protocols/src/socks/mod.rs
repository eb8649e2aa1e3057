//! # SOCKS4, SOCKS4a and SOCKS5: server and client
//!
//! ```text
//!   wire/        v4.rs v5.rs udp.rs — every message parsed and written, sans-IO, bounded
//!   handshake.rs ServerHandshake — the server state machine (events in, replies out)
//!   server.rs    SocksServerFactory — the settings and the protocol of each connection
//!   session.rs   one connection: drives the handshake, timeout, password check, policy
//!   commands.rs  CONNECT (HostnameEndpoint + Relay), BIND (listen, two replies), UDP ASSOCIATE
//!   udp_relay.rs the UDP relay of an association
//!   auth.rs      PasswordChecker (Deferred-based, cred-ready), StaticPasswords, AccessPolicy
//!   client_proto.rs ClientHandshake — the SOCKS5 client negotiation, sans-IO
//!   client.rs    Socks5ClientEndpoint — a ClientEndpoint through a proxy
//!   description.rs  the `socks5:` client description for an EndpointRegistry
//! ```
//!
//! **Server.** One port serves all three versions; the first byte tells
//! them apart. SOCKS5 offers "no authentication" or, when a
//! [`PasswordChecker`] is set, requires RFC 1929 username/password (and
//! then refuses SOCKS4, which cannot carry one). CONNECT works in every
//! version, to IPv4, IPv6 and host names (resolved by the pluggable
//! `HostResolver` through a `HostnameEndpoint`, off the loop); BIND in
//! SOCKS4 (and SOCKS5) listens for one connection from the named host and
//! sends the two replies; SOCKS5 UDP ASSOCIATE relays datagrams for the
//! client's address until the control connection closes. Failures get the
//! precise reply ([`reply_code_for`]): refused, host or network
//! unreachable, not allowed (the [`AccessPolicy`]), command or address
//! type not supported. A client must finish its request within a
//! handshake timeout (30 s by default, on the reactor's `Clock`).
//! Relaying uses [`Relay`](crate::portforward::Relay), so flow control,
//! half-close and bytes sent ahead of the reply all behave as in the port
//! forwarder.
//!
//! **Client.** [`Socks5ClientEndpoint`] connects through any
//! `ClientEndpoint` to a SOCKS5 proxy, negotiates, and only then runs the
//! caller's protocol; [`register_socks5_client`] adds the `socks5:`
//! description prefix.
//!
//! A SOCKS5 CONNECT, played on the in-memory reactor:
//!
//! ```
//! use std::rc::Rc;
//! use gyre_core::{SharedFactory, interfaces::ReactorTcp};
//! use gyre_endpoints::StaticResolver;
//! use gyre_protocols::socks::SocksServerFactory;
//! use gyre_testing::MemoryReactor;
//!
//! let reactor = MemoryReactor::new();
//! let resolver = StaticResolver::new().with("db.internal", &["10.0.0.5".parse().unwrap()]);
//! let factory = SocksServerFactory::new(reactor.clone(), Rc::new(resolver));
//! reactor.listen_tcp("127.0.0.1:1080".parse().unwrap(), SharedFactory::new(factory), 50).unwrap();
//!
//! let client_address = "127.0.0.1:40001".parse::<std::net::SocketAddr>().unwrap();
//! let mut client = reactor.tcp_servers()[0].port.accept(client_address.into()).unwrap();
//! client.data_received(&[5, 1, 0]); // greeting: no authentication
//! client.data_received(b"\x05\x01\x00\x03\x0bdb.internal\x15\x38"); // CONNECT db.internal:5432
//! assert_eq!(client.transport().take(), [5, 0]);
//! assert_eq!(reactor.tcp_clients()[0].addr, "10.0.0.5:5432".parse().unwrap());
//! let database = reactor.connect_tcp_client(0).unwrap();
//! // Success, bound to the proxy's local address of that connection:
//! assert_eq!(client.transport().take()[..4], [5, 0, 0, 1]);
//! client.data_received(b"query");
//! assert_eq!(database.value(), b"query");
//! ```

pub mod auth;
mod client;
mod client_proto;
mod commands;
mod description;
pub mod handshake;
mod server;
mod session;
mod udp_relay;
pub mod wire;

pub use auth::{AccessPolicy, AccessRequest, LoginDenied, PasswordChecker, StaticPasswords};
pub use client::Socks5ClientEndpoint;
pub use client_proto::{ClientEvent, ClientHandshake, SocksClientError};
pub use commands::{UnexpectedBindPeer, reply_code_for};
pub use description::{DEFAULT_PROXY_TIMEOUT, Socks5ClientSpec, register_socks5_client};
pub use handshake::{HandshakeError, HandshakeOptions, ServerEvent, ServerHandshake, SocksRequest, Version};
pub use server::{
    DEFAULT_BIND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, SocksServerFactory,
};
