//! [`WebSocketConnection`]: every state transition of one WebSocket
//! connection after the handshake, in this one file, for both roles.
//!
//! Bytes in with [`handle_input`](WebSocketConnection::handle_input),
//! events out with [`poll_event`](WebSocketConnection::poll_event),
//! messages in with `send_*`, bytes out with
//! [`poll_transmit`](WebSocketConnection::poll_transmit). A frame is read
//! once it is whole; a message is assembled up to `max_message_size`.
//! `handle_input` keeps whatever it is given: a caller that polls events
//! until `None` after each input (as [`WebSocketProtocol`] does) leaves at
//! most one partial frame, `max_frame_size` plus its header, buffered.
//!
//! [`WebSocketProtocol`]: crate::websocket::WebSocketProtocol

use std::collections::VecDeque;

use crate::error::SendError;
use crate::proto::Transmit;
use crate::websocket::deflate::{DeflateParams, Deflater};
use crate::websocket::error::{CloseCode, WsError};
use crate::websocket::frame::{MAX_CONTROL_PAYLOAD, Opcode, apply_mask, parse_header, write_frame};
use crate::websocket::message::{Event, MaskKeys, Message, Role, WebSocketConfig, parse_close};

/// The sans-IO machine of one WebSocket connection.
///
/// ```
/// use gyre_http::websocket::{Event, Message, Role, WebSocketConfig, WebSocketConnection};
///
/// let mut server = WebSocketConnection::new(Role::Server, WebSocketConfig::default());
/// // RFC 6455 §5.7: a masked "Hello" from a client.
/// server.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// assert_eq!(server.poll_event(), Some(Event::Message(Message::Text("Hello".into()))));
/// server.send_text("Hello").unwrap();
/// assert_eq!(&*server.poll_transmit().unwrap(), &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
/// ```
#[derive(Debug)]
pub struct WebSocketConnection {
    role: Role,
    config: WebSocketConfig,
    masks: Option<MaskKeys>,
    buf: Vec<u8>,
    pos: usize,
    message: Option<Partial>,
    sending: Option<Opcode>,
    events: VecDeque<Event>,
    out: Vec<u8>,
    close_sent: bool,
    close_received: bool,
    error: Option<WsError>,
    deflate: Option<Deflater>,
}

#[derive(Debug)]
struct Partial {
    text: bool,
    compressed: bool,
    data: Vec<u8>,
    valid_utf8: usize,
}

impl WebSocketConnection {
    /// A connection whose handshake just completed. Clients get secure
    /// masking keys ([`MaskKeys::secure`]).
    pub fn new(role: Role, config: WebSocketConfig) -> Self {
        let masks = (role == Role::Client).then(MaskKeys::secure);
        WebSocketConnection {
            role,
            config,
            masks,
            buf: Vec::new(),
            pos: 0,
            message: None,
            sending: None,
            events: VecDeque::new(),
            out: Vec::new(),
            close_sent: false,
            close_received: false,
            error: None,
            deflate: None,
        }
    }

    /// Turns on permessage-deflate with the negotiated parameters: RSV1
    /// marks compressed messages both ways, and every whole message sent
    /// with `send_text`/`send_binary` is compressed.
    pub fn with_deflate(mut self, params: DeflateParams) -> Self {
        let (ours, theirs) = match self.role {
            Role::Server => (
                params.server_no_context_takeover,
                params.client_no_context_takeover,
            ),
            Role::Client => (
                params.client_no_context_takeover,
                params.server_no_context_takeover,
            ),
        };
        self.deflate = Some(Deflater::new(ours, theirs));
        self
    }

    /// Replaces the client's masking keys (tests). Ignored for servers,
    /// which never mask.
    pub fn with_mask_keys(mut self, keys: MaskKeys) -> Self {
        if self.role == Role::Client {
            self.masks = Some(keys);
        }
        self
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Bytes from the peer. Ignored once the peer closed or the connection failed.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.is_reading() {
            if self.pos > 0 && self.pos == self.buf.len() {
                self.buf.clear();
                self.pos = 0;
            }
            self.buf.extend_from_slice(data);
        }
    }

    /// The peer closed the transport. Without a close frame first, that is
    /// an abnormal closure (1006), reported as [`Event::Error`].
    pub fn handle_eof(&mut self) {
        if self.is_reading() {
            self.fail(WsError::AbnormalClosure);
        }
    }

    /// Our close frame went unanswered for too long: give up (1006).
    pub fn handle_close_timeout(&mut self) {
        if self.is_reading() {
            self.fail(WsError::CloseTimeout);
        }
    }

    fn is_reading(&self) -> bool {
        !self.close_received && self.error.is_none()
    }

    /// The next event, or `None` until more bytes arrive.
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if !self.is_reading() {
                return None;
            }
            match self.read_frame() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(error) => self.fail(error),
            }
        }
    }

    /// Reads one whole frame if it is there: `Ok(false)` until it is.
    fn read_frame(&mut self) -> Result<bool, WsError> {
        let Some((header, used)) = parse_header(&self.buf[self.pos..])? else {
            return Ok(false);
        };
        let compressed = header.rsv == 0x4
            && self.deflate.is_some()
            && matches!(header.opcode, Opcode::Text | Opcode::Binary);
        if header.rsv != 0 && !compressed {
            return Err(WsError::ReservedBits);
        }
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(WsError::UnmaskedFrame),
            (Role::Client, true) => return Err(WsError::MaskedFrame),
            _ => {}
        }
        if header.len > self.config.max_frame_size as u64 {
            return Err(WsError::FrameTooBig);
        }
        match (header.opcode, &self.message) {
            (Opcode::Continuation, None) => return Err(WsError::UnexpectedContinuation),
            (Opcode::Text | Opcode::Binary, Some(_)) => return Err(WsError::ExpectedContinuation),
            _ => {}
        }
        let so_far = self.message.as_ref().map_or(0, |partial| partial.data.len());
        if !header.opcode.is_control() && so_far as u64 + header.len > self.config.max_message_size as u64 {
            return Err(WsError::MessageTooBig);
        }
        let len = header.len as usize;
        let start = self.pos + used;
        if self.buf.len() - start < len {
            return Ok(false);
        }
        self.pos = start + len;
        let payload_at = |into: &mut Vec<u8>| {
            let from = into.len();
            into.extend_from_slice(&self.buf[start..start + len]);
            if let Some(key) = header.mask {
                apply_mask(&mut into[from..], key, 0);
            }
        };
        match header.opcode {
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                let partial = self.message.get_or_insert_with(|| Partial {
                    text: header.opcode == Opcode::Text,
                    compressed,
                    data: Vec::new(),
                    valid_utf8: 0,
                });
                payload_at(&mut partial.data);
                if partial.text && !partial.compressed {
                    check_utf8(partial, header.fin)?;
                }
                if header.fin {
                    let mut partial = self.message.take().expect("a message is open");
                    if partial.compressed {
                        let deflate = self.deflate.as_mut().expect("compressed only with deflate");
                        partial.data = deflate
                            .inflate(std::mem::take(&mut partial.data), self.config.max_message_size)?;
                    }
                    let message = if partial.text {
                        Message::Text(String::from_utf8(partial.data).map_err(|_| WsError::InvalidUtf8)?)
                    } else {
                        Message::Binary(partial.data)
                    };
                    self.events.push_back(Event::Message(message));
                }
            }
            Opcode::Ping => {
                let mut payload = Vec::with_capacity(len);
                payload_at(&mut payload);
                if !self.close_sent {
                    self.write(Opcode::Pong, true, &payload);
                }
                self.events.push_back(Event::Ping(payload));
            }
            Opcode::Pong => {
                let mut payload = Vec::with_capacity(len);
                payload_at(&mut payload);
                self.events.push_back(Event::Pong(payload));
            }
            Opcode::Close => {
                let mut payload = Vec::with_capacity(len);
                payload_at(&mut payload);
                let frame = parse_close(&payload)?;
                self.close_received = true;
                self.buf = Vec::new();
                self.pos = 0;
                if !self.close_sent {
                    self.close_sent = true;
                    let echo = if frame.code == CloseCode::NO_STATUS {
                        &[][..]
                    } else {
                        &payload[..2]
                    };
                    self.write(Opcode::Close, true, echo);
                }
                self.events.push_back(Event::Close(frame));
            }
        }
        self.compact();
        Ok(true)
    }

    fn compact(&mut self) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 4096 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    fn fail(&mut self, error: WsError) {
        tracing::debug!(target: "gyre::http::websocket", %error, "websocket connection failed");
        let local = matches!(error, WsError::AbnormalClosure | WsError::CloseTimeout);
        if !self.close_sent && !local {
            self.close_sent = true;
            let mut payload = error.close_code().0.to_be_bytes().to_vec();
            payload.extend_from_slice(error.description().as_bytes());
            self.write(Opcode::Close, true, &payload);
        }
        self.error = Some(error.clone());
        self.message = None;
        self.buf = Vec::new();
        self.pos = 0;
        self.events.push_back(Event::Error(error));
    }

    fn write(&mut self, opcode: Opcode, fin: bool, payload: &[u8]) {
        self.write_rsv(0, opcode, fin, payload);
    }

    fn write_rsv(&mut self, rsv: u8, opcode: Opcode, fin: bool, payload: &[u8]) {
        let mask = self.masks.as_mut().map(MaskKeys::next);
        write_frame(&mut self.out, fin, rsv, opcode, mask, payload);
    }

    fn check_open(&self) -> Result<(), SendError> {
        if self.close_sent {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    /// Sends a text message in one frame.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_message(Opcode::Text, text.as_bytes())
    }

    /// Sends a binary message in one frame.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_message(Opcode::Binary, data)
    }

    fn send_message(&mut self, opcode: Opcode, data: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        if self.sending.is_some() {
            return Err(SendError::WrongState("a fragmented message is being sent"));
        }
        match &mut self.deflate {
            Some(deflate) => {
                let compressed = deflate.compress(data);
                self.write_rsv(0x4, opcode, true, &compressed);
            }
            None => self.write(opcode, true, data),
        }
        Ok(())
    }

    /// Sends one fragment of a message: the first fragment opens a text
    /// (`text` true) or binary message, `fin` ends it. Fragmented messages
    /// are never compressed (permessage-deflate leaves that per message). Control frames may
    /// be sent between fragments. Text fragments may split a UTF-8
    /// sequence; the whole message must be UTF-8 (the caller's promise).
    pub fn send_fragment(&mut self, text: bool, data: &[u8], fin: bool) -> Result<(), SendError> {
        self.check_open()?;
        let opcode = match self.sending {
            Some(_) => Opcode::Continuation,
            None if text => Opcode::Text,
            None => Opcode::Binary,
        };
        self.sending = if fin { None } else { Some(opcode) };
        self.write(opcode, fin, data);
        Ok(())
    }

    /// Sends a ping (at most 125 bytes of payload).
    pub fn send_ping(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_control(Opcode::Ping, data)
    }

    /// Sends an unsolicited pong (a heartbeat; at most 125 bytes).
    pub fn send_pong(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_control(Opcode::Pong, data)
    }

    fn send_control(&mut self, opcode: Opcode, data: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        if data.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::WrongState(
                "control frame payload longer than 125 bytes",
            ));
        }
        self.write(opcode, true, data);
        Ok(())
    }

    /// Starts the close handshake with `code` (one that may be sent, see
    /// [`CloseCode::is_sendable`]) and a reason of at most 123 bytes, or
    /// with an empty close frame when `code` is `None`. Messages keep
    /// arriving until the peer's close frame.
    pub fn close(&mut self, code: Option<CloseCode>, reason: &str) -> Result<(), SendError> {
        self.check_open()?;
        let mut payload = Vec::new();
        if let Some(code) = code {
            if !code.is_sendable() {
                return Err(SendError::WrongState("this close code may not be sent"));
            }
            if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
                return Err(SendError::WrongState("close reason longer than 123 bytes"));
            }
            payload.extend_from_slice(&code.0.to_be_bytes());
            payload.extend_from_slice(reason.as_bytes());
        } else if !reason.is_empty() {
            return Err(SendError::WrongState("a close reason needs a code"));
        }
        self.close_sent = true;
        self.write(Opcode::Close, true, &payload);
        Ok(())
    }

    /// Bytes to send, if any; dropping the [`Transmit`] marks them sent.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        Transmit::new(&mut self.out)
    }

    /// How many bytes wait in [`poll_transmit`](Self::poll_transmit).
    pub fn pending_transmit(&self) -> usize {
        self.out.len()
    }

    /// Whether we sent a close frame (nothing but control answers may follow).
    pub fn is_close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether the peer's close frame arrived.
    pub fn is_close_received(&self) -> bool {
        self.close_received
    }

    /// Whether the transport should be closed once the transmitted bytes
    /// are flushed: the close handshake completed, or the connection failed.
    pub fn wants_close(&self) -> bool {
        (self.close_sent && self.close_received) || self.error.is_some()
    }

    /// The error that stopped the connection, if any.
    pub fn error(&self) -> Option<&WsError> {
        self.error.as_ref()
    }
}

/// Checks the UTF-8 of a text message so far: an incomplete sequence at
/// the end may be completed by the next fragment, anything else fails now.
fn check_utf8(partial: &mut Partial, fin: bool) -> Result<(), WsError> {
    match std::str::from_utf8(&partial.data[partial.valid_utf8..]) {
        Ok(_) => partial.valid_utf8 = partial.data.len(),
        Err(error) if error.error_len().is_none() && !fin => partial.valid_utf8 += error.valid_up_to(),
        Err(_) => return Err(WsError::InvalidUtf8),
    }
    Ok(())
}
