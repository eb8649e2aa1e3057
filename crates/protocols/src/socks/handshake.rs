//! [`ServerHandshake`]: the sans-IO state machine of a SOCKS server
//! connection, from the first byte to the reply that starts relaying.
//!
//! ```text
//!  first byte 4 ─▶ SOCKS4/4a request ───────────────────────────────┐
//!  first byte 5 ─▶ greeting ─▶ [RFC 1929 auth ─▶ CheckPassword…] ─▶ request
//!                                                                   ▼
//!            Request event ─▶ grant(bound) / reject(code) ─▶ Relaying (CONNECT)
//!                                   │                      ─▶ BindWaiting ─▶ bind_connected ─▶ Relaying
//!                                   └─────────────────────  ─▶ Associated (UDP ASSOCIATE)
//! ```
//!
//! Bytes go in with [`handle_input`](ServerHandshake::handle_input); bytes
//! to send come out of [`poll_transmit`](ServerHandshake::poll_transmit) and
//! decisions the machine cannot take itself (is this password right? may
//! this target be reached, and how did connecting go?) come out of
//! [`poll_event`](ServerHandshake::poll_event) and are answered by calling
//! it back. The machine never does I/O and never reads a clock; the
//! adapter (`server.rs`) owns the timeout. Once failed it stays failed:
//! the reply it queued is sent and the connection closed.

use std::collections::VecDeque;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::wire::v5::{Method, PasswordAuth};
use super::wire::{Command, ReplyCode, TargetAddr, WireError, v4, v5};

/// The longest incomplete handshake message buffered; every SOCKS message
/// is shorter (the longest, a SOCKS4a request, is 520 bytes).
pub const MAX_MESSAGE: usize = 1024;
/// Bytes held while a password check is under way (the adapter pauses
/// reading then, so only the rest of one read arrives).
pub const MAX_HELD: usize = 64 * 1024;

/// The protocol version a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// SOCKS4 or SOCKS4a.
    V4,
    /// SOCKS5.
    V5,
}

/// A client's request, whichever version it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocksRequest {
    /// The version it was asked in (which decides the reply's format).
    pub version: Version,
    /// CONNECT, BIND or UDP ASSOCIATE.
    pub command: Command,
    /// The target (for UDP ASSOCIATE, where the client will send from).
    pub target: TargetAddr,
    /// The SOCKS4 user id (empty for SOCKS5).
    pub user_id: Vec<u8>,
}

/// What the adapter must decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// Check these credentials; answer with
    /// [`password_checked`](ServerHandshake::password_checked).
    CheckPassword(PasswordAuth),
    /// Carry out this request; answer with [`grant`](ServerHandshake::grant)
    /// or [`reject`](ServerHandshake::reject).
    Request(SocksRequest),
    /// Bytes the client sent after its request (optimistic data): they
    /// belong to the relayed stream.
    Payload(Vec<u8>),
}

/// Why a handshake ended the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// A malformed message.
    Malformed(WireError),
    /// A message longer than [`MAX_MESSAGE`], or more than [`MAX_HELD`]
    /// bytes sent during a password check.
    MessageTooLong,
    /// The client offered no method the server accepts.
    NoAcceptableMethod,
    /// The credentials were refused.
    AuthenticationFailed,
    /// A SOCKS4 request on a server that requires a password.
    Socks4Refused,
    /// A command the protocol does not define.
    CommandNotSupported(u8),
    /// The request was refused with this reply.
    Rejected(ReplyCode),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Malformed(error) => write!(f, "malformed SOCKS message: {error}"),
            HandshakeError::MessageTooLong => f.write_str("SOCKS handshake message too long"),
            HandshakeError::NoAcceptableMethod => f.write_str("no acceptable SOCKS5 authentication method"),
            HandshakeError::AuthenticationFailed => f.write_str("SOCKS5 username/password refused"),
            HandshakeError::Socks4Refused => f.write_str("SOCKS4 refused: this server requires a password"),
            HandshakeError::CommandNotSupported(code) => write!(f, "SOCKS command {code} not supported"),
            HandshakeError::Rejected(code) => write!(f, "SOCKS request rejected: {code}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// What the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeOptions {
    /// SOCKS5 clients must authenticate with username/password; without
    /// it, only "no authentication" is accepted.
    pub require_password: bool,
    /// Whether SOCKS4/4a requests are served (they cannot carry a password).
    pub allow_socks4: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Version,
    Greeting,
    Auth,
    CheckingPassword,
    Request4,
    Request5,
    Answering(Version, Command),
    BindWaiting(Version),
    Relaying,
    Associated,
    Failed,
}

/// The server side of one SOCKS connection's handshake.
#[derive(Debug)]
pub struct ServerHandshake {
    options: HandshakeOptions,
    state: State,
    version: Option<Version>,
    buf: Vec<u8>,
    out: Vec<u8>,
    events: VecDeque<ServerEvent>,
    error: Option<HandshakeError>,
}

impl ServerHandshake {
    /// A handshake waiting for the client's first byte.
    pub fn new(options: HandshakeOptions) -> Self {
        ServerHandshake {
            options,
            state: State::Version,
            version: None,
            buf: Vec::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            error: None,
        }
    }

    /// Bytes from the client.
    pub fn handle_input(&mut self, data: &[u8]) {
        match self.state {
            State::Failed => {}
            State::Associated => {} // nothing is relayed on a UDP control connection
            State::Answering(..) | State::BindWaiting(_) | State::Relaying => {
                if !data.is_empty() {
                    self.events.push_back(ServerEvent::Payload(data.to_vec()));
                }
            }
            _ => {
                self.buf.extend_from_slice(data);
                self.process();
            }
        }
    }

    /// The answer to [`ServerEvent::CheckPassword`].
    pub fn password_checked(&mut self, accepted: bool) {
        if self.state != State::CheckingPassword {
            return;
        }
        v5::encode_auth_status(accepted, &mut self.out);
        if accepted {
            self.state = State::Request5;
            self.process();
        } else {
            self.fail(HandshakeError::AuthenticationFailed);
        }
    }

    /// Grants the request: CONNECT is connected from `bound`, BIND listens
    /// on `bound` (the first of its two replies), UDP ASSOCIATE relays at
    /// `bound`. Returns whether a request was waiting for an answer.
    pub fn grant(&mut self, bound: SocketAddr) -> bool {
        let State::Answering(version, command) = self.state else {
            return false;
        };
        self.reply(version, ReplyCode::Succeeded, bound);
        self.state = match command {
            Command::Bind => State::BindWaiting(version),
            Command::UdpAssociate => State::Associated,
            _ => State::Relaying,
        };
        true
    }

    /// The second BIND reply: `remote` connected; relaying starts.
    pub fn bind_connected(&mut self, remote: SocketAddr) -> bool {
        let State::BindWaiting(version) = self.state else {
            return false;
        };
        self.reply(version, ReplyCode::Succeeded, remote);
        self.state = State::Relaying;
        true
    }

    /// Refuses the request (or a BIND still waiting) with `code`, which a
    /// SOCKS4 client sees as 91; the connection is to be closed.
    pub fn reject(&mut self, code: ReplyCode) -> bool {
        let (State::Answering(version, _) | State::BindWaiting(version)) = self.state else {
            return false;
        };
        self.reply(version, code, unspecified());
        self.fail(HandshakeError::Rejected(code));
        true
    }

    /// Bytes to send to the client, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// The next decision to take, if any.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Why the handshake failed; the connection is to be closed once the
    /// queued reply is sent.
    pub fn error(&self) -> Option<&HandshakeError> {
        self.error.as_ref()
    }

    /// Whether relaying has started (the client's bytes are the stream's).
    pub fn is_relaying(&self) -> bool {
        self.state == State::Relaying
    }

    /// Whether the client has not finished sending its request yet (what a
    /// handshake timeout guards).
    pub fn awaits_request(&self) -> bool {
        matches!(
            self.state,
            State::Version
                | State::Greeting
                | State::Auth
                | State::CheckingPassword
                | State::Request4
                | State::Request5
        )
    }

    /// The client's version, once its first byte arrived.
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    fn fail(&mut self, error: HandshakeError) {
        self.state = State::Failed;
        self.buf = Vec::new();
        self.error.get_or_insert(error);
    }

    fn reply(&mut self, version: Version, code: ReplyCode, bound: SocketAddr) {
        match version {
            Version::V5 => {
                let reply = v5::Reply {
                    code,
                    bound: TargetAddr::Ip(bound),
                };
                v5::encode_reply(&reply, &mut self.out);
            }
            Version::V4 => {
                // SOCKS4 carries IPv4 only: an IPv4-mapped address (a
                // dual-stack socket) is written as IPv4, anything else as 0.
                let address = match bound {
                    SocketAddr::V4(addr) => addr,
                    SocketAddr::V6(addr) => match addr.ip().to_ipv4_mapped() {
                        Some(ip) => SocketAddrV4::new(ip, addr.port()),
                        None => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
                    },
                };
                let status = v4::Status::from_reply(code);
                v4::encode_reply(&v4::Reply { status, address }, &mut self.out);
            }
        }
    }

    /// Parses as many messages from the buffer as the state allows.
    fn process(&mut self) {
        while self.step() {}
        let limit = if self.state == State::CheckingPassword {
            MAX_HELD
        } else {
            MAX_MESSAGE
        };
        if self.awaits_request() && self.buf.len() > limit {
            self.fail(HandshakeError::MessageTooLong);
        }
    }

    /// One message; whether the machine moved.
    fn step(&mut self) -> bool {
        match self.state {
            State::Version => match self.buf.first() {
                None => false,
                Some(&v4::VERSION) => {
                    self.version = Some(Version::V4);
                    self.state = State::Request4;
                    true
                }
                Some(&v5::VERSION) => {
                    self.version = Some(Version::V5);
                    self.state = State::Greeting;
                    true
                }
                Some(&other) => {
                    self.fail(HandshakeError::Malformed(WireError::UnknownVersion(other)));
                    false
                }
            },
            State::Greeting => self.parse(v5::parse_greeting, Self::on_greeting),
            State::Auth => self.parse(v5::parse_password_auth, |me, auth| {
                me.state = State::CheckingPassword;
                me.events.push_back(ServerEvent::CheckPassword(auth));
            }),
            State::Request4 => self.parse(v4::parse_request, Self::on_request4),
            State::Request5 => self.parse(v5::parse_request, Self::on_request5),
            State::Answering(..) | State::BindWaiting(_) | State::Relaying => {
                if !self.buf.is_empty() {
                    let payload = std::mem::take(&mut self.buf);
                    self.events.push_back(ServerEvent::Payload(payload));
                }
                false
            }
            State::Associated => {
                self.buf.clear();
                false
            }
            State::CheckingPassword | State::Failed => false,
        }
    }

    /// Parses one message with `parse` and hands it to `on`.
    fn parse<T>(&mut self, parse: Parser<T>, on: impl FnOnce(&mut Self, T)) -> bool {
        match parse(&self.buf) {
            Ok(Some((message, used))) => {
                self.buf.drain(..used);
                on(self, message);
                true
            }
            Ok(None) => false,
            Err(error) => {
                self.on_malformed(error);
                false
            }
        }
    }

    /// A malformed request still gets a reply where the protocol has one.
    fn on_malformed(&mut self, error: WireError) {
        match (self.state, &error) {
            (State::Request5, WireError::AddressType(_)) => {
                self.reply(Version::V5, ReplyCode::AddressTypeNotSupported, unspecified());
            }
            (State::Request5, _) => self.reply(Version::V5, ReplyCode::GeneralFailure, unspecified()),
            (State::Request4, _) => self.reply(Version::V4, ReplyCode::GeneralFailure, unspecified()),
            _ => {}
        }
        self.fail(HandshakeError::Malformed(error));
    }

    fn on_greeting(&mut self, methods: Vec<Method>) {
        let wanted = if self.options.require_password {
            Method::USERNAME_PASSWORD
        } else {
            Method::NO_AUTH
        };
        if !methods.contains(&wanted) {
            v5::encode_method_selection(Method::NO_ACCEPTABLE, &mut self.out);
            return self.fail(HandshakeError::NoAcceptableMethod);
        }
        v5::encode_method_selection(wanted, &mut self.out);
        self.state = if self.options.require_password {
            State::Auth
        } else {
            State::Request5
        };
    }

    fn on_request4(&mut self, request: v4::Request) {
        if !self.options.allow_socks4 {
            self.reply(Version::V4, ReplyCode::NotAllowed, unspecified());
            return self.fail(HandshakeError::Socks4Refused);
        }
        if !matches!(request.command, Command::Connect | Command::Bind) {
            self.reply(Version::V4, ReplyCode::CommandNotSupported, unspecified());
            return self.fail(HandshakeError::CommandNotSupported(request.command.as_u8()));
        }
        self.ask(SocksRequest {
            version: Version::V4,
            command: request.command,
            target: request.target,
            user_id: request.user_id,
        });
    }

    fn on_request5(&mut self, request: v5::Request) {
        if let Command::Other(code) = request.command {
            self.reply(Version::V5, ReplyCode::CommandNotSupported, unspecified());
            return self.fail(HandshakeError::CommandNotSupported(code));
        }
        self.ask(SocksRequest {
            version: Version::V5,
            command: request.command,
            target: request.target,
            user_id: Vec::new(),
        });
    }

    fn ask(&mut self, request: SocksRequest) {
        self.state = State::Answering(request.version, request.command);
        self.events.push_back(ServerEvent::Request(request));
    }
}

/// A message parser from `wire`.
type Parser<T> = fn(&[u8]) -> Result<Option<(T, usize)>, WireError>;

/// `0.0.0.0:0`, the bound address of a refusal.
fn unspecified() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
}
