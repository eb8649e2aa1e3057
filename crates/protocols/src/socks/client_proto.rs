//! [`ClientHandshake`]: the sans-IO SOCKS5 client negotiation — greeting,
//! optional RFC 1929 username/password, one CONNECT request — ending in
//! [`ClientEvent::Established`] or a typed [`SocksClientError`].
//!
//! ```
//! use gyre_protocols::socks::wire::TargetAddr;
//! use gyre_protocols::socks::{ClientEvent, ClientHandshake};
//!
//! let target = TargetAddr::domain("example.com", 80).unwrap();
//! let mut client = ClientHandshake::new(target, None).unwrap();
//! assert_eq!(client.poll_transmit().unwrap(), [5, 1, 0]); // offers "no authentication"
//! client.handle_input(&[5, 0]);
//! let request = client.poll_transmit().unwrap();
//! assert_eq!(&request[..5], &[5, 1, 0, 3, 11]); // CONNECT to a name (socks5h)
//! client.handle_input(&[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90, b'h', b'i']);
//! match client.poll_event().unwrap() {
//!     ClientEvent::Established { leftover, .. } => assert_eq!(leftover, b"hi"),
//!     other => panic!("{other:?}"),
//! }
//! ```

use std::fmt;

use super::wire::v5::{Method, PasswordAuth};
use super::wire::{Command, ReplyCode, TargetAddr, WireError, v5};

/// Why a SOCKS5 negotiation failed. Match on it with
/// `failure.downcast_ref::<SocksClientError>()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocksClientError {
    /// The proxy refused the request with this reply (refused, host
    /// unreachable, not allowed, …).
    Rejected(ReplyCode),
    /// The proxy accepted none of the offered authentication methods.
    NoAcceptableMethod,
    /// The proxy refused the username and password.
    AuthenticationFailed,
    /// The proxy asks for a password and none was configured.
    PasswordRequired,
    /// The proxy chose a method that was not offered.
    UnexpectedMethod(u8),
    /// The proxy sent a malformed message (or the request could not be
    /// written: a credential or host name longer than 255 bytes).
    Malformed(WireError),
    /// The proxy closed the connection before the negotiation finished.
    ProxyClosed,
}

impl SocksClientError {
    /// The proxy's reply code, when it refused the request.
    pub fn reply_code(&self) -> Option<ReplyCode> {
        match self {
            SocksClientError::Rejected(code) => Some(*code),
            _ => None,
        }
    }
}

impl fmt::Display for SocksClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocksClientError::Rejected(code) => write!(f, "the SOCKS proxy refused the request: {code}"),
            SocksClientError::NoAcceptableMethod => {
                f.write_str("the SOCKS proxy accepts none of the offered authentication methods")
            }
            SocksClientError::AuthenticationFailed => {
                f.write_str("the SOCKS proxy refused the username/password")
            }
            SocksClientError::PasswordRequired => f.write_str("the SOCKS proxy requires a username/password"),
            SocksClientError::UnexpectedMethod(method) => {
                write!(f, "the SOCKS proxy chose method {method}, which was not offered")
            }
            SocksClientError::Malformed(error) => write!(f, "SOCKS negotiation failed: {error}"),
            SocksClientError::ProxyClosed => {
                f.write_str("the SOCKS proxy closed the connection during negotiation")
            }
        }
    }
}

impl std::error::Error for SocksClientError {}

/// What the negotiation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The proxy connected to the target. `bound` is the address it
    /// connected from; `leftover` holds target bytes that arrived with the
    /// reply.
    Established {
        /// The proxy's side of its connection to the target.
        bound: TargetAddr,
        /// Bytes after the reply.
        leftover: Vec<u8>,
    },
    /// The negotiation failed; the connection is to be closed.
    Failed(SocksClientError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Method,
    Auth,
    Reply,
    Done,
}

/// The client side of a SOCKS5 CONNECT negotiation.
#[derive(Debug)]
pub struct ClientHandshake {
    target: TargetAddr,
    credentials: Option<PasswordAuth>,
    state: State,
    buf: Vec<u8>,
    out: Vec<u8>,
    event: Option<ClientEvent>,
}

impl ClientHandshake {
    /// A negotiation for `target`, offering "no authentication" and, when
    /// `credentials` are given, username/password. The greeting is queued
    /// at once. Fails when a credential or the host name cannot be written
    /// (longer than 255 bytes, or an empty name).
    pub fn new(target: TargetAddr, credentials: Option<PasswordAuth>) -> Result<Self, WireError> {
        if let TargetAddr::Domain { host, port } = &target {
            TargetAddr::domain(host, *port)?;
        }
        let mut out = Vec::new();
        let methods: &[Method] = match &credentials {
            Some(credentials) => {
                v5::encode_password_auth(credentials, &mut Vec::new())?;
                &[Method::NO_AUTH, Method::USERNAME_PASSWORD]
            }
            None => &[Method::NO_AUTH],
        };
        v5::encode_greeting(methods, &mut out);
        Ok(ClientHandshake {
            target,
            credentials,
            state: State::Method,
            buf: Vec::new(),
            out,
            event: None,
        })
    }

    /// Bytes from the proxy. Ignored once the negotiation is over (the
    /// adapter hands later bytes to the application).
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.state == State::Done {
            return;
        }
        self.buf.extend_from_slice(data);
        while self.state != State::Done && self.step() {}
    }

    /// The connection ended before the negotiation did.
    pub fn connection_closed(&mut self) {
        if self.state != State::Done {
            self.finish(ClientEvent::Failed(SocksClientError::ProxyClosed));
        }
    }

    /// Bytes to send to the proxy, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// The outcome, once known (given out once).
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.event.take()
    }

    /// Whether the negotiation is over, either way.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn finish(&mut self, event: ClientEvent) {
        self.state = State::Done;
        self.buf = Vec::new();
        self.event = Some(event);
    }

    fn fail(&mut self, error: SocksClientError) {
        self.finish(ClientEvent::Failed(error));
    }

    fn step(&mut self) -> bool {
        let parsed = match self.state {
            State::Method => {
                v5::parse_method_selection(&self.buf).map(|m| m.map(|(m, n)| (Parsed::Method(m), n)))
            }
            State::Auth => v5::parse_auth_status(&self.buf).map(|m| m.map(|(ok, n)| (Parsed::Auth(ok), n))),
            State::Reply => v5::parse_reply(&self.buf).map(|m| m.map(|(reply, n)| (Parsed::Reply(reply), n))),
            State::Done => return false,
        };
        let (message, used) = match parsed {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            Err(error) => {
                self.fail(SocksClientError::Malformed(error));
                return false;
            }
        };
        self.buf.drain(..used);
        match message {
            Parsed::Method(Method::NO_AUTH) => self.request(),
            Parsed::Method(Method::USERNAME_PASSWORD) => match &self.credentials {
                Some(credentials) => {
                    v5::encode_password_auth(credentials, &mut self.out).expect("checked in new");
                    self.state = State::Auth;
                }
                None => self.fail(SocksClientError::PasswordRequired),
            },
            Parsed::Method(Method::NO_ACCEPTABLE) => self.fail(SocksClientError::NoAcceptableMethod),
            Parsed::Method(Method(other)) => self.fail(SocksClientError::UnexpectedMethod(other)),
            Parsed::Auth(true) => self.request(),
            Parsed::Auth(false) => self.fail(SocksClientError::AuthenticationFailed),
            Parsed::Reply(reply) if reply.code == ReplyCode::Succeeded => {
                let leftover = std::mem::take(&mut self.buf);
                self.finish(ClientEvent::Established {
                    bound: reply.bound,
                    leftover,
                });
            }
            Parsed::Reply(reply) => self.fail(SocksClientError::Rejected(reply.code)),
        }
        true
    }

    fn request(&mut self) {
        v5::encode_request(Command::Connect, &self.target, &mut self.out);
        self.state = State::Reply;
    }
}

/// One parsed proxy message.
enum Parsed {
    Method(Method),
    Auth(bool),
    Reply(v5::Reply),
}
