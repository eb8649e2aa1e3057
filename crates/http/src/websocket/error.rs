//! [`WsError`]: why a WebSocket connection failed, and the close code it
//! is answered with; [`CloseCode`]: the status codes of RFC 6455 §7.4.

use std::fmt;

/// A close status code (RFC 6455 §7.4).
///
/// [`is_sendable`](Self::is_sendable) says which codes may appear in a
/// close frame: 1000–1003, 1007–1011 and the registered/private ranges
/// 3000–4999. 1005, 1006 and 1015 are reported locally but never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page left).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a message of a kind the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005 (never sent): the close frame carried no code.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006 (never sent): the connection ended without a close frame.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a text message (or close reason) was not UTF-8.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message or frame exceeded the configured limit.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client wanted an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1015 (never sent): the TLS handshake failed.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether the code may be sent in (and accepted from) a close frame.
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a WebSocket connection failed. Errors are sticky: the connection
/// answers with a close frame carrying [`close_code`](Self::close_code)
/// (when the transport is still there) and reads nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsError {
    /// An opcode reserved for future use (1002).
    ReservedOpcode,
    /// RSV bits set without a negotiated extension that defines them (1002).
    ReservedBits,
    /// A 16- or 64-bit length that fits a shorter encoding (1002).
    NonMinimalLength,
    /// A 64-bit length with the most significant bit set (1002).
    LengthOverflow,
    /// A control frame without FIN (1002).
    FragmentedControl,
    /// A control frame longer than 125 bytes (1002).
    ControlTooLong,
    /// A client frame without a mask: servers must refuse it (1002).
    UnmaskedFrame,
    /// A server frame with a mask: clients must refuse it (1002).
    MaskedFrame,
    /// A continuation frame with no fragmented message to continue (1002).
    UnexpectedContinuation,
    /// A new text/binary frame while a fragmented message is open (1002).
    ExpectedContinuation,
    /// A close frame with a 1-byte payload or a code that may not be sent (1002).
    InvalidClosePayload,
    /// A text message or close reason that is not UTF-8 (1007).
    InvalidUtf8,
    /// A frame longer than the configured maximum frame size (1009).
    FrameTooBig,
    /// A message longer than the configured maximum message size (1009).
    MessageTooBig,
    /// A compressed message that does not inflate (1007).
    BadCompression,
    /// The peer closed the connection without a close handshake (1006, not sent).
    AbnormalClosure,
    /// The peer did not answer our close frame in time (1006, not sent).
    CloseTimeout,
}

impl WsError {
    /// The close code that answers this error.
    pub fn close_code(&self) -> CloseCode {
        match self {
            WsError::InvalidUtf8 | WsError::BadCompression => CloseCode::INVALID_PAYLOAD,
            WsError::FrameTooBig | WsError::MessageTooBig => CloseCode::MESSAGE_TOO_BIG,
            WsError::AbnormalClosure | WsError::CloseTimeout => CloseCode::ABNORMAL,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason phrase (sent in our close frame; under 123 bytes).
    pub fn description(&self) -> &'static str {
        match self {
            WsError::ReservedOpcode => "reserved opcode",
            WsError::ReservedBits => "reserved bits set",
            WsError::NonMinimalLength => "length not minimally encoded",
            WsError::LengthOverflow => "64-bit length with the high bit set",
            WsError::FragmentedControl => "fragmented control frame",
            WsError::ControlTooLong => "control frame longer than 125 bytes",
            WsError::UnmaskedFrame => "unmasked frame from a client",
            WsError::MaskedFrame => "masked frame from a server",
            WsError::UnexpectedContinuation => "continuation without a message",
            WsError::ExpectedContinuation => "new message inside a fragmented one",
            WsError::InvalidClosePayload => "invalid close frame",
            WsError::InvalidUtf8 => "invalid UTF-8",
            WsError::FrameTooBig => "frame too big",
            WsError::MessageTooBig => "message too big",
            WsError::BadCompression => "invalid compressed data",
            WsError::AbnormalClosure => "connection closed without a close frame",
            WsError::CloseTimeout => "no answer to our close frame",
        }
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "websocket: {} ({})", self.description(), self.close_code())
    }
}

impl std::error::Error for WsError {}
