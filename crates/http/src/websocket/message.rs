//! The vocabulary of a WebSocket connection: roles, limits, masking-key
//! sources, messages, close frames and events; and the close frame's
//! payload rules (RFC 6455 §5.5.1, §7.4).

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};

use crate::websocket::error::{CloseCode, WsError};

/// Which end of the connection this machine is: clients mask every frame
/// they send and refuse masked frames; servers the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that sent the opening handshake.
    Client,
    /// The end that accepted it.
    Server,
}

/// Limits on what the peer may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSocketConfig {
    /// The largest assembled message (1009 beyond it). Default 16 MiB.
    pub max_message_size: usize,
    /// The largest single frame payload (1009 beyond it); this bounds the
    /// read buffer. Default 16 MiB.
    pub max_frame_size: usize,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        WebSocketConfig {
            max_message_size: 16 << 20,
            max_frame_size: 16 << 20,
        }
    }
}

/// Where a client's masking keys come from. RFC 6455 §5.3 requires them
/// unpredictable (they stop a hostile page from steering the bytes an
/// intermediary sees), so the default is the operating system's secure
/// random source; tests inject fixed keys.
pub struct MaskKeys(Box<dyn FnMut() -> [u8; 4]>);

impl MaskKeys {
    /// Keys from `ring::rand::SystemRandom`.
    pub fn secure() -> MaskKeys {
        let random = SystemRandom::new();
        MaskKeys(Box::new(move || {
            let mut key = [0; 4];
            random.fill(&mut key).expect("the system random source failed");
            key
        }))
    }

    /// Keys from `next` (tests: known keys give known bytes).
    pub fn from_fn(next: impl FnMut() -> [u8; 4] + 'static) -> MaskKeys {
        MaskKeys(Box::new(next))
    }

    pub(crate) fn next(&mut self) -> [u8; 4] {
        (self.0)()
    }
}

impl fmt::Debug for MaskKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MaskKeys")
    }
}

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, checked to be UTF-8.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// The code and reason of a close frame. A close frame without a payload
/// is reported with [`CloseCode::NO_STATUS`] and an empty reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// Why, for humans (at most 123 bytes of UTF-8).
    pub reason: String,
}

/// What the peer's bytes amounted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole text or binary message.
    Message(Message),
    /// A ping; the pong is already queued.
    Ping(Vec<u8>),
    /// A pong (an answer to our ping, or an unsolicited heartbeat).
    Pong(Vec<u8>),
    /// The peer's close frame. If we had not closed yet, our answering
    /// close frame is queued; either way the handshake is now complete.
    Close(CloseFrame),
    /// The peer broke the protocol (our close frame with the error's code
    /// is queued) or left without a close handshake. Nothing more is read.
    Error(WsError),
}

/// A close frame's payload: empty, or a sendable code and a UTF-8 reason.
pub(crate) fn parse_close(payload: &[u8]) -> Result<CloseFrame, WsError> {
    match payload {
        [] => Ok(CloseFrame {
            code: CloseCode::NO_STATUS,
            reason: String::new(),
        }),
        [_] => Err(WsError::InvalidClosePayload),
        [high, low, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*high, *low]));
            if !code.is_sendable() {
                return Err(WsError::InvalidClosePayload);
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
            Ok(CloseFrame {
                code,
                reason: reason.to_owned(),
            })
        }
    }
}
