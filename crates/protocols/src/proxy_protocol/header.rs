//! What a PROXY protocol header says: [`ProxyHeader`], its addresses and
//! its TLVs (type-length-value extensions of version 2), with typed
//! accessors for the registered TLV types.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;

use gyre_core::address::{Address, IpTransport, UnixAddress};

/// The registered TLV types of PROXY protocol version 2 (section 2.2 of
/// HAProxy's `proxy-protocol.txt`).
pub mod tlv {
    /// Application-Layer Protocol Negotiation: the ALPN the client used.
    pub const ALPN: u8 = 0x01;
    /// The host name the client asked for (TLS SNI), UTF-8.
    pub const AUTHORITY: u8 = 0x02;
    /// CRC32c of the whole header (checked when present; a second one is
    /// refused).
    pub const CRC32C: u8 = 0x03;
    /// Padding, ignored.
    pub const NOOP: u8 = 0x04;
    /// An opaque id of the connection, up to 128 bytes.
    pub const UNIQUE_ID: u8 = 0x05;
    /// TLS details of the client connection, with sub-TLVs.
    pub const SSL: u8 = 0x20;
    /// Sub-TLV of `SSL`: the TLS version, US-ASCII.
    pub const SSL_VERSION: u8 = 0x21;
    /// Sub-TLV of `SSL`: the client certificate's common name, UTF-8.
    pub const SSL_CN: u8 = 0x22;
    /// Sub-TLV of `SSL`: the cipher, US-ASCII.
    pub const SSL_CIPHER: u8 = 0x23;
    /// Sub-TLV of `SSL`: the certificate signature algorithm.
    pub const SSL_SIG_ALG: u8 = 0x24;
    /// Sub-TLV of `SSL`: the certificate key algorithm.
    pub const SSL_KEY_ALG: u8 = 0x25;
    /// The network namespace name, US-ASCII.
    pub const NETNS: u8 = 0x30;
}

/// Which format the header came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The text line (`PROXY TCP4 ...\r\n`).
    V1,
    /// The binary header.
    V2,
}

/// Whether the connection was relayed for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Relayed on behalf of a client: the addresses are the client's.
    Proxy,
    /// Made by the proxy itself (a health check): use the real addresses.
    Local,
}

/// The original connection's addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyAddresses {
    /// Not given (v1 `UNKNOWN`, v2 `LOCAL` or `AF_UNSPEC`): the receiver
    /// uses the real connection's addresses.
    Unknown,
    /// TCP or UDP over IPv4 or IPv6.
    Ip {
        /// TCP (stream) or UDP (datagram).
        transport: IpTransport,
        /// The client.
        source: SocketAddr,
        /// Where the client connected to.
        destination: SocketAddr,
    },
    /// A Unix socket (v2 only); each address is the raw 108-byte field
    /// with trailing NULs removed.
    Unix {
        /// Stream (`true`) or datagram socket.
        stream: bool,
        /// The client's socket name.
        source: Vec<u8>,
        /// The socket the client connected to.
        destination: Vec<u8>,
    },
}

/// One type-length-value extension of a version 2 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// The type (see [`tlv`]).
    pub kind: u8,
    /// The value.
    pub value: Vec<u8>,
}

impl Tlv {
    /// A TLV of `kind` holding `value`.
    pub fn new(kind: u8, value: impl Into<Vec<u8>>) -> Self {
        Tlv {
            kind,
            value: value.into(),
        }
    }
}

/// A parsed PROXY protocol header (version 1 or 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The format it came in (or will be written in).
    pub version: Version,
    /// Relayed or local.
    pub command: Command,
    /// The original addresses.
    pub addresses: ProxyAddresses,
    /// Version 2 extensions, in order (empty for version 1).
    pub tlvs: Vec<Tlv>,
}

/// The `SSL` TLV: how the client connected to the proxy over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslInfo {
    /// `PP2_CLIENT_*` bits: 0x01 TLS, 0x02 certificate on this
    /// connection, 0x04 certificate in this session.
    pub client: u8,
    /// Zero when the client certificate was verified.
    pub verify: u32,
    /// The sub-TLVs, in order.
    pub sub_tlvs: Vec<Tlv>,
}

impl SslInfo {
    /// Whether the client connected over TLS.
    pub fn is_tls(&self) -> bool {
        self.client & 0x01 != 0
    }

    /// Whether a client certificate was presented and verified.
    pub fn client_certificate_verified(&self) -> bool {
        self.client & 0x06 != 0 && self.verify == 0
    }

    fn text(&self, kind: u8) -> Option<&str> {
        let tlv = self.sub_tlvs.iter().find(|tlv| tlv.kind == kind)?;
        std::str::from_utf8(&tlv.value).ok()
    }

    /// The TLS version (`TLSv1.3`).
    pub fn version(&self) -> Option<&str> {
        self.text(tlv::SSL_VERSION)
    }

    /// The client certificate's common name.
    pub fn common_name(&self) -> Option<&str> {
        self.text(tlv::SSL_CN)
    }

    /// The cipher (`TLS_AES_256_GCM_SHA384`).
    pub fn cipher(&self) -> Option<&str> {
        self.text(tlv::SSL_CIPHER)
    }

    /// The signature algorithm of the proxy's certificate.
    pub fn signature_algorithm(&self) -> Option<&str> {
        self.text(tlv::SSL_SIG_ALG)
    }

    /// The key algorithm of the proxy's certificate.
    pub fn key_algorithm(&self) -> Option<&str> {
        self.text(tlv::SSL_KEY_ALG)
    }
}

/// Splits a TLV list; `None` when a TLV runs past the end.
pub(crate) fn split_tlvs(mut bytes: &[u8]) -> Option<Vec<Tlv>> {
    let mut tlvs = Vec::new();
    while !bytes.is_empty() {
        let [kind, high, low, rest @ ..] = bytes else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*high, *low]));
        if rest.len() < len {
            return None;
        }
        tlvs.push(Tlv::new(*kind, &rest[..len]));
        bytes = &rest[len..];
    }
    Some(tlvs)
}

/// Parses the value of an `SSL` TLV.
pub(crate) fn parse_ssl(value: &[u8]) -> Option<SslInfo> {
    let [client, v0, v1, v2, v3, rest @ ..] = value else {
        return None;
    };
    Some(SslInfo {
        client: *client,
        verify: u32::from_be_bytes([*v0, *v1, *v2, *v3]),
        sub_tlvs: split_tlvs(rest)?,
    })
}

/// A Unix socket address from the raw bytes of a v2 address field.
fn unix_address(bytes: &[u8]) -> Address {
    Address::Unix(match bytes {
        [] => UnixAddress::Unnamed,
        [0, name @ ..] => UnixAddress::Abstract(name.to_vec()),
        path => UnixAddress::Path(OsStr::from_bytes(path).into()),
    })
}

impl ProxyHeader {
    /// A header for TCP from `source` to `destination`.
    pub fn tcp(version: Version, source: SocketAddr, destination: SocketAddr) -> Self {
        ProxyHeader {
            version,
            command: Command::Proxy,
            addresses: ProxyAddresses::Ip {
                transport: IpTransport::Tcp,
                source,
                destination,
            },
            tlvs: Vec::new(),
        }
    }

    /// A header that carries no addresses (v1 `UNKNOWN`, v2 `LOCAL`).
    pub fn local(version: Version) -> Self {
        ProxyHeader {
            version,
            command: Command::Local,
            addresses: ProxyAddresses::Unknown,
            tlvs: Vec::new(),
        }
    }

    /// The original client's address, if the header gives one.
    pub fn source(&self) -> Option<Address> {
        match &self.addresses {
            ProxyAddresses::Unknown => None,
            ProxyAddresses::Ip {
                transport, source, ..
            } => Some(Address::ip(*transport, *source)),
            ProxyAddresses::Unix { source, .. } => Some(unix_address(source)),
        }
    }

    /// The address the client connected to, if the header gives one.
    pub fn destination(&self) -> Option<Address> {
        match &self.addresses {
            ProxyAddresses::Unknown => None,
            ProxyAddresses::Ip {
                transport,
                destination,
                ..
            } => Some(Address::ip(*transport, *destination)),
            ProxyAddresses::Unix { destination, .. } => Some(unix_address(destination)),
        }
    }

    /// The value of the first TLV of `kind`.
    pub fn tlv(&self, kind: u8) -> Option<&[u8]> {
        self.tlvs
            .iter()
            .find(|tlv| tlv.kind == kind)
            .map(|tlv| tlv.value.as_slice())
    }

    /// The ALPN protocol the client negotiated with the proxy (`h2`).
    pub fn alpn(&self) -> Option<&[u8]> {
        self.tlv(tlv::ALPN)
    }

    /// The host name the client asked the proxy for (TLS SNI).
    pub fn authority(&self) -> Option<&str> {
        std::str::from_utf8(self.tlv(tlv::AUTHORITY)?).ok()
    }

    /// The proxy's unique id of the connection.
    pub fn unique_id(&self) -> Option<&[u8]> {
        self.tlv(tlv::UNIQUE_ID)
    }

    /// The network namespace the proxy accepted the connection in.
    pub fn netns(&self) -> Option<&str> {
        std::str::from_utf8(self.tlv(tlv::NETNS)?).ok()
    }

    /// The TLS details of the client's connection to the proxy.
    pub fn ssl(&self) -> Option<SslInfo> {
        parse_ssl(self.tlv(tlv::SSL)?)
    }
}
