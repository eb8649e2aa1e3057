//! The opening handshake (RFC 6455 §4): validating an upgrade request and
//! answering it (server), building a request and checking its answer
//! (client). Pure functions over heads; no I/O.

use std::fmt;

use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use ring::rand::{SecureRandom, SystemRandom};

use crate::base64;
use crate::wire::token::list_elements;
use crate::wire::{HeaderMap, Method, RequestHead, ResponseHead, StatusCode, Version};

/// The GUID RFC 6455 §1.3 appends to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: base64 of
/// the SHA-1 of the key followed by the RFC's GUID.
///
/// ```
/// assert_eq!(
///     gyre_http::websocket::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut input = key.to_vec();
    input.extend_from_slice(GUID.as_bytes());
    base64::encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, &input).as_ref())
}

/// Why an opening handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not a GET (405).
    NotGet,
    /// Not HTTP/1.1 or later (400).
    BadVersion,
    /// No `Upgrade: websocket` (426: this resource speaks only WebSocket).
    NoUpgrade,
    /// No `upgrade` token in `Connection` (400).
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Version` missing or not 13 (426 with `Sec-WebSocket-Version: 13`).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` missing, repeated, or not 16 base64-encoded bytes (400).
    BadKey,
    /// The request declares a body, which an upgrade request cannot have (400).
    UnexpectedBody,
    /// The origin check refused the request's `Origin` (403).
    OriginRefused,
    /// Client side: the answer was not `101 Switching Protocols`.
    NotSwitching(StatusCode),
    /// Client side: the 101 lacked `Upgrade: websocket` or `Connection: upgrade`.
    BadUpgradeAnswer,
    /// Client side: `Sec-WebSocket-Accept` did not match our key.
    BadAccept,
    /// Client side: the server chose a subprotocol we did not offer.
    UnexpectedProtocol,
    /// Client side: the server chose an extension we did not offer.
    UnexpectedExtension,
}

impl HandshakeError {
    /// The status a server answers the refused request with.
    pub fn status(&self) -> StatusCode {
        match self {
            HandshakeError::NotGet => StatusCode::METHOD_NOT_ALLOWED,
            HandshakeError::NoUpgrade | HandshakeError::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::OriginRefused => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The refusal's response head: the status, `Content-Length: 0`, and
    /// `Sec-WebSocket-Version: 13` / `Upgrade: websocket` on 426, `Allow: GET` on 405.
    pub fn response_head(&self) -> ResponseHead {
        let mut head = ResponseHead::new(self.status());
        let headers = &mut head.headers;
        match self.status() {
            StatusCode::UPGRADE_REQUIRED => {
                headers.push_unchecked(b"Upgrade", b"websocket");
                headers.push_unchecked(b"Connection", b"Upgrade");
                headers.push_unchecked(b"Sec-WebSocket-Version", b"13");
            }
            StatusCode::METHOD_NOT_ALLOWED => headers.push_unchecked(b"Allow", b"GET"),
            _ => {}
        }
        headers.push_unchecked(b"Content-Length", b"0");
        head
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "websocket handshake refused: {self:?}")
    }
}

impl std::error::Error for HandshakeError {}

/// A valid upgrade request, as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOffer {
    /// The `Sec-WebSocket-Key`, as sent.
    pub key: String,
    /// The subprotocols offered, in the client's order of preference.
    pub protocols: Vec<String>,
    /// The extension offers (`Sec-WebSocket-Extensions` elements), unparsed.
    pub extensions: Vec<String>,
    /// The `Origin` header (browsers send it; a server can check it).
    pub origin: Option<String>,
}

/// Validates an upgrade request (RFC 6455 §4.2.1).
pub fn validate_request(head: &RequestHead) -> Result<ClientOffer, HandshakeError> {
    if head.method != Method::GET {
        return Err(HandshakeError::NotGet);
    }
    if head.version < Version::HTTP_11 {
        return Err(HandshakeError::BadVersion);
    }
    let headers = &head.headers;
    if headers.contains("transfer-encoding") || headers.get("content-length").is_some_and(|v| v != b"0") {
        return Err(HandshakeError::UnexpectedBody);
    }
    if !headers.has_token("upgrade", "websocket") {
        return Err(HandshakeError::NoUpgrade);
    }
    if !headers.has_token("connection", "upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    if headers.count("sec-websocket-version") != 1 || headers.get("sec-websocket-version") != Some(b"13") {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = match (
        headers.count("sec-websocket-key"),
        headers.get_str("sec-websocket-key"),
    ) {
        (1, Some(key)) if base64::decode(key).is_some_and(|raw| raw.len() == 16) => key.to_owned(),
        _ => return Err(HandshakeError::BadKey),
    };
    Ok(ClientOffer {
        key,
        protocols: list(headers, "sec-websocket-protocol"),
        extensions: list(headers, "sec-websocket-extensions"),
        origin: headers.get_str("origin").map(str::to_owned),
    })
}

fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .flat_map(list_elements)
        .map(|element| String::from_utf8_lossy(element).into_owned())
        .collect()
}

/// The `101 Switching Protocols` answer to `offer`, choosing `protocol`
/// (one of the offered subprotocols) and `extensions` (a negotiated
/// `Sec-WebSocket-Extensions` value), if any.
pub fn accept_response(
    offer: &ClientOffer,
    protocol: Option<&str>,
    extensions: Option<&str>,
) -> ResponseHead {
    let mut head = ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS);
    let headers = &mut head.headers;
    headers.push_unchecked(b"Upgrade", b"websocket");
    headers.push_unchecked(b"Connection", b"Upgrade");
    headers.push_unchecked(
        b"Sec-WebSocket-Accept",
        accept_key(offer.key.as_bytes()).as_bytes(),
    );
    // Offered values came from a validated head, so they are valid field values.
    if let Some(protocol) = protocol.filter(|p| offer.protocols.iter().any(|o| o == p)) {
        headers.push_unchecked(b"Sec-WebSocket-Protocol", protocol.as_bytes());
    }
    if let Some(extensions) = extensions {
        let _ = headers.append("Sec-WebSocket-Extensions", extensions);
    }
    head
}

/// The first offered subprotocol that `supported` lists, the usual policy.
pub fn choose_protocol<'a>(offer: &'a ClientOffer, supported: &[&str]) -> Option<&'a str> {
    offer
        .protocols
        .iter()
        .find(|p| supported.iter().any(|s| s == p))
        .map(String::as_str)
}

/// The client side: a request to send and the check of its answer.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    key: String,
    protocols: Vec<String>,
    extensions: Option<String>,
}

impl ClientHandshake {
    /// A handshake with a fresh random key, offering `protocols`.
    pub fn new(protocols: &[&str]) -> ClientHandshake {
        let mut raw = [0; 16];
        SystemRandom::new()
            .fill(&mut raw)
            .expect("the system random source failed");
        ClientHandshake::with_key(&base64::encode(&raw), protocols)
    }

    /// A handshake with a given key (tests).
    pub fn with_key(key: &str, protocols: &[&str]) -> ClientHandshake {
        ClientHandshake {
            key: key.to_owned(),
            protocols: protocols.iter().map(|p| (*p).to_owned()).collect(),
            extensions: None,
        }
    }

    /// Offers extensions (a `Sec-WebSocket-Extensions` value).
    pub fn offer_extensions(mut self, value: &str) -> ClientHandshake {
        self.extensions = Some(value.to_owned());
        self
    }

    /// The upgrade request for `target` (path and query) on `host`
    /// (the `Host` header: host and, unless default, port).
    pub fn request(&self, host: &str, target: &str) -> Result<RequestHead, crate::SendError> {
        let mut head = RequestHead::new(Method::GET, target)
            .map_err(|_| crate::SendError::InvalidHead("invalid websocket request target"))?;
        let headers = &mut head.headers;
        headers.append("Host", host)?;
        headers.append("Upgrade", "websocket")?;
        headers.append("Connection", "Upgrade")?;
        headers.append("Sec-WebSocket-Key", &self.key)?;
        headers.append("Sec-WebSocket-Version", "13")?;
        if !self.protocols.is_empty() {
            headers.append("Sec-WebSocket-Protocol", self.protocols.join(", "))?;
        }
        if let Some(extensions) = &self.extensions {
            headers.append("Sec-WebSocket-Extensions", extensions)?;
        }
        Ok(head)
    }

    /// Checks the server's answer (RFC 6455 §4.1): on success, the chosen
    /// subprotocol and the accepted extensions (elements of `Sec-WebSocket-Extensions`).
    pub fn check_response(
        &self,
        head: &ResponseHead,
    ) -> Result<(Option<String>, Vec<String>), HandshakeError> {
        if head.status != StatusCode::SWITCHING_PROTOCOLS {
            return Err(HandshakeError::NotSwitching(head.status));
        }
        let headers = &head.headers;
        if !headers.has_token("upgrade", "websocket") || !headers.has_token("connection", "upgrade") {
            return Err(HandshakeError::BadUpgradeAnswer);
        }
        if headers.count("sec-websocket-accept") != 1
            || headers.get("sec-websocket-accept") != Some(accept_key(self.key.as_bytes()).as_bytes())
        {
            return Err(HandshakeError::BadAccept);
        }
        let chosen = list(headers, "sec-websocket-protocol");
        let protocol = match chosen.as_slice() {
            [] => None,
            [one] if self.protocols.contains(one) => Some(one.clone()),
            _ => return Err(HandshakeError::UnexpectedProtocol),
        };
        let extensions = list(headers, "sec-websocket-extensions");
        if !extensions.is_empty() && self.extensions.is_none() {
            return Err(HandshakeError::UnexpectedExtension);
        }
        Ok((protocol, extensions))
    }
}
