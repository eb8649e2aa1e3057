//! # gyre-endpoints: where to listen and where to connect, as strings
//!
//! Twisted's endpoints for gyre: a server or client is configured with a
//! description string (`tcp:8080:interface=127.0.0.1`) instead of code, and
//! the code that listens or connects does not care whether it ends up on
//! TCP, a Unix socket, TLS, a socket passed by systemd or stdin/stdout.
//!
//! ```text
//!   "tcp:8080"  ── grammar.rs (sans-IO) ──▶ Description ── spec.rs ──▶ ServerSpec / ClientSpec
//!                                                                  │ registry.rs (prefix → parser)
//!                                                                  ▼
//!   ServerEndpoint::listen(factory) → Deferred<ListeningPort>     tcp.rs unix.rs systemd.rs stdio.rs
//!   ClientEndpoint::connect(factory) → Deferred<Connection>       tcp.rs unix.rs hostname.rs
//!   tls.rs: ssl:/tls: over gyre-tls (TlsServerEndpoint, tls_hostname_endpoint)
//!   HostnameEndpoint: resolver.rs (HostResolver) + happy eyeballs (300 ms, first success wins)
//!   ClientService (service.rs) · ReconnectingClientFactory (reconnecting.rs) · backoff.rs
//! ```
//!
//! ## Description strings
//!
//! `prefix:arg:key=value:...`; a backslash makes the next character literal
//! (`\:` `\=` `\\`), so `unix:C\:\\sock` names `C:\sock`. In a `key=value`
//! segment only the first `=` separates. Parse errors
//! ([`ParseError`]) name the part that is wrong and its byte offset.
//!
//! | server | meaning |
//! |---|---|
//! | `tcp:PORT[:interface=IP][:backlog=N]` | TCP over IPv4 (interface default `0.0.0.0`, backlog 50) |
//! | `tcp6:PORT[:interface=IP6][:backlog=N]` | TCP over IPv6 (default `::`) |
//! | `unix:PATH[:mode=660][:lockfile=1][:backlog=N]` | Unix socket; `@name` is a Linux abstract name |
//! | `ssl:PORT:privateKey=KEY[:certKey=CERT][:extraCertChain=PEM]` | TLS over TCP (`certKey` defaults to `privateKey`) |
//! | `ssl:...[:alpn=h2,http/1.1][:clientCA=CA.pem[:requireClientCert=1]]` | ALPN; client certificates verified against `clientCA` (optional unless required) |
//! | `systemd:domain=INET\|INET6\|UNIX:index=N` | the Nth socket passed by systemd (`LISTEN_FDS`) |
//! | `stdio:` | one connection over stdin/stdout |
//!
//! | client | meaning |
//! |---|---|
//! | `tcp:host=H:port=P[:timeout=S][:bindAddress=IP]` (or `tcp:H:P`) | resolve `H`, happy eyeballs over its addresses |
//! | `tls:H:P[:trustRoots=CA.pem][:certificate=PEM][:privateKey=PEM]` | TLS to `H` (SNI and verification against `H`; default roots: Mozilla's, compiled in) |
//! | `tls:...[:systemRoots=1][:serverName=NAME][:alpn=P1,P2]` | trust the OS store; verify and send `NAME` instead of `H`; offer ALPN protocols |
//! | `tls:...:dangerousSkipVerification=1` | no verification at all (tests only; conflicts with the trust options) |
//! | `unix:path=P[:timeout=S]` (or `unix:P`) | Unix socket |
//!
//! A `tls:` connection Deferred fires when the TCP connection is made and
//! the wrapped protocol's `connection_made` runs at once, as with
//! Twisted's `wrapClientTLS`: it may write straight away (the bytes wait
//! for the handshake, counted in `buffered_len`, and producers registered
//! meanwhile are held paused). A failed handshake then ends the
//! connection with `TlsHandshakeFailed` in `connection_lost`.
//!
//! ## Example
//!
//! An echo server on a Unix socket and a client talking to it, both from
//! strings:
//!
//! ```
//! use std::time::Duration;
//! use gyre_core::prelude::*;
//! use gyre_endpoints::{EndpointRegistry, connect_protocol};
//! use gyre_reactor::Reactor;
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         transport.write(data);
//!     }
//! }
//!
//! /// Says hello and hands back the echo.
//! struct Greeter(Option<Resolver<Vec<u8>>>);
//! impl Protocol for Greeter {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         transport.write(b"hello");
//!     }
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         if let Some(echo) = self.0.take() {
//!             echo.callback(data.to_vec());
//!         }
//!         transport.lose_connection();
//!     }
//! }
//!
//! let dir = std::env::temp_dir().join(format!("gyre-endpoints-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("echo.sock");
//! let registry = EndpointRegistry::default();
//! let reactor = Reactor::new().unwrap();
//! let server = registry.server_from_string(&reactor, &format!("unix:{}", path.display())).unwrap();
//! // Listening needs no turn of the loop; the port stays open until the reactor stops.
//! let _port = server.listen(SharedFactory::new(protocol_factory(|_: &Address| Echo)));
//! let client = registry.client_from_string(&reactor, &format!("unix:path={}", path.display())).unwrap();
//! let (echo, resolver) = Deferred::new();
//! let heard = connect_protocol(&*client, Greeter(Some(resolver))).and_then(move |_| echo);
//! let heard = reactor.run_until(heard.add_timeout(&reactor, Duration::from_secs(5))).unwrap();
//! assert_eq!(heard, b"hello");
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod args;
pub mod backoff;
pub mod endpoint;
pub mod error;
pub mod errors;
pub mod grammar;
pub mod hostname;
pub mod reconnecting;
pub mod registry;
pub mod resolver;
pub mod run;
pub mod service;
pub mod shared_ports;
pub mod spec;
pub mod stdio;
pub mod systemd;
pub mod tcp;
pub mod tls;
pub mod tls_spec;
pub mod unix;

pub use backoff::{Backoff, Jitter};
pub use endpoint::{ClientEndpoint, Connected, Connection, ServerEndpoint, connect_protocol};
pub use error::{ParseError, ParseErrorKind};
pub use grammar::Description;
pub use hostname::HostnameEndpoint;
pub use reconnecting::ReconnectingClientFactory;
pub use registry::EndpointRegistry;
pub use resolver::{HostResolver, StaticResolver, ThreadedResolver};
pub use run::{listen_all_and_run, listen_and_run};
pub use service::ClientService;
pub use shared_ports::SharedPorts;
pub use stdio::StdioEndpoint;
pub use systemd::SystemdEndpoint;
pub use tcp::{TcpClientEndpoint, TcpServerEndpoint};
pub use tls::{TlsServerEndpoint, tls_hostname_endpoint};
pub use unix::{UnixClientEndpoint, UnixServerEndpoint};
