//! HAProxy's PROXY protocol, versions 1 (text) and 2 (binary), as a
//! sans-IO parser and serializer and as a server endpoint wrapper.
//!
//! A load balancer that relays TCP (HAProxy, AWS NLB, nginx's stream
//! module, stunnel) puts a header before the client's bytes saying who the
//! client really was. Behind it, a server's `transport.peer()` would only
//! ever name the proxy; wrapped in `haproxy:`, it names the client.
//!
//! ```text
//!   wire       v1.rs (line)  v2.rs (binary, TLVs, CRC32c)   parse_*/encode_*, never panic
//!   proto      parser.rs     HeaderParser: bytes in, Step out; limits; sticky errors
//!   adapter    server.rs     ProxyProtocolServer: header first, then the factory's protocol
//!                            for the *client's* address, behind a transport reporting it
//!   endpoint   endpoint.rs   ProxyProtocolEndpoint, `haproxy:` for EndpointRegistry
//! ```
//!
//! Limits: a version 1 line is at most 107 bytes, a version 2 header at
//! most 4096 bytes by default; a connection that does not start with a
//! header is rejected at its first wrong byte; a header must be complete
//! within the header timeout (10 s by default). The receiver must be told
//! to expect the protocol: it never guesses (a client could otherwise claim
//! any address), so put `haproxy:` only on ports that only the proxy can
//! reach.
//!
//! # Example
//!
//! A server behind `haproxy:` sees the client the proxy announced:
//!
//! ```
//! use gyre_core::{Address, Protocol, SharedFactory, Transport, protocol_factory};
//! use gyre_protocols::proxy_protocol::{
//!     ProxyHeader, ProxyInfo, ProxyProtocolOptions, Version, encode_v2, server_factory, tlv, Tlv,
//! };
//! use gyre_testing::{ManualClock, StringTransportWithDisconnection};
//! use std::rc::Rc;
//!
//! /// Greets the client by address.
//! struct Hello;
//! impl Protocol for Hello {
//!     fn connection_made(&mut self, transport: &Transport) {
//!         transport.write(format!("hello {}\n", transport.peer()).as_bytes());
//!         let header = transport.capability::<ProxyInfo>().unwrap();
//!         assert_eq!(header.authority(), Some("example.com"));
//!     }
//!     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
//! }
//!
//! let options = ProxyProtocolOptions::new(Rc::new(ManualClock::new()));
//! let factory = server_factory(SharedFactory::new(protocol_factory(|_: &Address| Hello)), options);
//! let mut conn = StringTransportWithDisconnection::new(
//!     factory.build_protocol(&gyre_testing::default_peer()).unwrap(),
//! );
//! let mut header = ProxyHeader::tcp(Version::V2, "198.51.100.7:40000".parse().unwrap(), "10.0.0.1:443".parse().unwrap());
//! header.tlvs.push(Tlv::new(tlv::AUTHORITY, "example.com"));
//! conn.data_received(&encode_v2(&header).unwrap());
//! assert_eq!(conn.value(), b"hello tcp:198.51.100.7:40000\n");
//! ```

mod endpoint;
mod error;
mod header;
mod parser;
mod server;
mod v1;
mod v2;

pub use endpoint::{ProxyProtocolEndpoint, register_haproxy};
pub use error::{EncodeError, ProxyHeaderError};
pub use header::{Command, ProxyAddresses, ProxyHeader, SslInfo, Tlv, Version, tlv};
pub use parser::{DEFAULT_MAX_V2_HEADER, HeaderParser, MAX_V2_HEADER, Step};
pub use server::{
    DEFAULT_HEADER_TIMEOUT, PROXY_TARGET, ProxyInfo, ProxyProtocolOptions, ProxyProtocolServer,
    RejectionHook, server_factory,
};
pub use v1::{V1_MAX_LINE, V1_PREFIX, encode_v1, parse_v1};
pub use v2::{UNIX_ADDRESS_LEN, V2_FIXED_LEN, V2_SIGNATURE, crc32c, encode_v2, parse_v2};

impl ProxyHeader {
    /// Writes the header in its own [`version`](ProxyHeader::version)'s format.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        match self.version {
            Version::V1 => encode_v1(self),
            Version::V2 => encode_v2(self),
        }
    }
}
