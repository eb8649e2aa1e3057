//! The frame layer of RFC 6455 §5.2: headers parsed and written, payloads
//! masked. No state beyond one frame; the rules that span frames
//! (fragmentation, close handshake) live in [`connection`](super::connection).

use crate::websocket::error::WsError;

/// What a frame carries (RFC 6455 §5.2, §11.8). Reserved opcodes are
/// refused by [`parse_header`], so every value here is meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// Continues a fragmented text or binary message.
    Continuation,
    /// The first (or only) frame of a UTF-8 text message.
    Text,
    /// The first (or only) frame of a binary message.
    Binary,
    /// Starts or answers the close handshake.
    Close,
    /// Asks the peer for a pong (keep-alive, liveness).
    Ping,
    /// Answers a ping, or a unidirectional heartbeat.
    Pong,
}

impl Opcode {
    /// The opcode for the 4 low bits of the first header byte, if it is not reserved.
    pub fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Control frames (close, ping, pong) may interrupt a fragmented
    /// message but may not be fragmented themselves nor exceed 125 bytes.
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// The largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// One frame header, as parsed or to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Whether this is the last frame of its message.
    pub fin: bool,
    /// RSV1..RSV3 in the 3 low bits; non-zero only with a negotiated extension.
    pub rsv: u8,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The masking key: present on every client-to-server frame, absent on
    /// every server-to-client frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub len: u64,
}

impl FrameHeader {
    /// How many bytes the written header takes.
    pub fn encoded_len(&self) -> usize {
        let length = match self.len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + length + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Appends the header to `out`, with the shortest length encoding
    /// (which is the only one a strict peer accepts).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.fin) << 7 | (self.rsv & 0x7) << 4 | self.opcode.bits());
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        match self.len {
            len @ 0..=125 => out.push(mask_bit | len as u8),
            len @ 126..=0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
    }
}

/// Parses the frame header at the start of `buf`: `Ok(None)` until it is
/// complete, else the header and its length in bytes.
///
/// Refused here, whatever the connection's state: reserved opcodes, a
/// 64-bit length with the high bit set, a length not in its minimal
/// encoding, and control frames that are fragmented or longer than 125
/// bytes. RSV bits and masking depend on the connection and are checked there.
///
/// ```
/// use gyre_http::websocket::{Opcode, parse_header};
///
/// // RFC 6455 §5.7: a single-frame masked text message "Hello".
/// let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let (header, used) = parse_header(&frame).unwrap().unwrap();
/// assert_eq!((header.opcode, header.fin, header.len, used), (Opcode::Text, true, 5, 6));
/// assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
/// assert_eq!(parse_header(&frame[..1]).unwrap(), None);
/// ```
pub fn parse_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, WsError> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    let opcode = Opcode::from_bits(first & 0x0F).ok_or(WsError::ReservedOpcode)?;
    let fin = first & 0x80 != 0;
    let masked = second & 0x80 != 0;
    let (len, mut used) = match second & 0x7F {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(None);
            };
            let len = u16::from_be_bytes([bytes[0], bytes[1]]) as u64;
            if len < 126 {
                return Err(WsError::NonMinimalLength);
            }
            (len, 4)
        }
        127 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(bytes.try_into().expect("8 bytes"));
            if len >> 63 != 0 {
                return Err(WsError::LengthOverflow);
            }
            if len <= 0xFFFF {
                return Err(WsError::NonMinimalLength);
            }
            (len, 10)
        }
        len => (len as u64, 2),
    };
    if opcode.is_control() {
        if !fin {
            return Err(WsError::FragmentedControl);
        }
        if len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(WsError::ControlTooLong);
        }
    }
    let mask = if masked {
        let Some(key) = buf.get(used..used + 4) else {
            return Ok(None);
        };
        used += 4;
        Some(key.try_into().expect("4 bytes"))
    } else {
        None
    };
    let header = FrameHeader {
        fin,
        rsv: (first >> 4) & 0x7,
        opcode,
        mask,
        len,
    };
    Ok(Some((header, used)))
}

/// XORs `data` with `key`, as if `data` started `offset` bytes into the
/// payload; masking and unmasking are the same operation.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let mut rotated = [0; 4];
    for (i, byte) in rotated.iter_mut().enumerate() {
        *byte = key[(offset + i) % 4];
    }
    let word = u32::from_ne_bytes(rotated);
    let mut chunks = data.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let value = u32::from_ne_bytes((&*chunk).try_into().expect("4 bytes")) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (byte, mask) in chunks.into_remainder().iter_mut().zip(rotated) {
        *byte ^= mask;
    }
}

/// Appends a whole frame (header and payload, masked with `mask` if given) to `out`.
///
/// ```
/// use gyre_http::websocket::{Opcode, write_frame};
///
/// // RFC 6455 §5.7: an unmasked ping with body "Hello".
/// let mut out = Vec::new();
/// write_frame(&mut out, true, 0, Opcode::Ping, None, b"Hello");
/// assert_eq!(out, [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
/// ```
pub fn write_frame(
    out: &mut Vec<u8>,
    fin: bool,
    rsv: u8,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) {
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask,
        len: payload.len() as u64,
    };
    out.reserve(header.encoded_len() + payload.len());
    header.write_to(out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}
