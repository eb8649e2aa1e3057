//! permessage-deflate (RFC 7692): negotiating the extension and
//! compressing/inflating whole messages with raw DEFLATE (flate2's
//! pure-Rust miniz_oxide backend).
//!
//! The backend always compresses with a 32 KiB window, so this end never
//! agrees to compress with a smaller one: a server declines offers with
//! `server_max_window_bits` below 15, and a client never offers
//! `client_max_window_bits`. Inflating accepts any window. Context
//! takeover is negotiated both ways (`*_no_context_takeover`): without it
//! the compressor is reset after every message.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::websocket::error::WsError;
use crate::websocket::handshake::HandshakeError;

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// What this end wants from the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeflateConfig {
    /// Ask (client) or require (server) that the server resets its
    /// compressor after each message: less memory per connection, worse ratio.
    pub server_no_context_takeover: bool,
    /// The same for the client's compressor.
    pub client_no_context_takeover: bool,
}

/// The agreed parameters of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
}

#[derive(Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<Option<u8>>,
}

/// Parses one extension element (`permessage-deflate; a; b=1`): `None`
/// when it is another extension or its parameters are invalid or repeated.
fn parse_element(element: &str) -> Option<Offer> {
    let mut parts = element.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
        return None;
    }
    let mut offer = Offer::default();
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (part, None),
        };
        let bits = |value: Option<&str>| {
            value
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|b| (8..=15).contains(b))
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("server_no_context_takeover", None) if !offer.server_no_context_takeover => {
                offer.server_no_context_takeover = true;
            }
            ("client_no_context_takeover", None) if !offer.client_no_context_takeover => {
                offer.client_no_context_takeover = true;
            }
            ("server_max_window_bits", value) if offer.server_max_window_bits.is_none() => {
                offer.server_max_window_bits = Some(bits(value)?);
            }
            ("client_max_window_bits", None) if offer.client_max_window_bits.is_none() => {
                offer.client_max_window_bits = Some(None);
            }
            ("client_max_window_bits", value) if offer.client_max_window_bits.is_none() => {
                offer.client_max_window_bits = Some(Some(bits(value)?));
            }
            _ => return None,
        }
    }
    Some(offer)
}

/// Server side: picks the first acceptable permessage-deflate offer among
/// the request's extension elements; returns the agreed parameters and
/// the `Sec-WebSocket-Extensions` answer.
///
/// ```
/// use gyre_http::websocket::{DeflateConfig, negotiate_deflate};
///
/// let offers = ["permessage-deflate; client_max_window_bits".to_owned()];
/// let (params, answer) = negotiate_deflate(&offers, &DeflateConfig::default()).unwrap();
/// assert_eq!(answer, "permessage-deflate");
/// assert!(!params.server_no_context_takeover);
/// ```
pub fn negotiate_deflate(offers: &[String], config: &DeflateConfig) -> Option<(DeflateParams, String)> {
    offers.iter().find_map(|element| {
        let offer = parse_element(element)?;
        if offer.server_max_window_bits.is_some_and(|bits| bits < 15) {
            return None;
        }
        let params = DeflateParams {
            server_no_context_takeover: offer.server_no_context_takeover || config.server_no_context_takeover,
            client_no_context_takeover: offer.client_no_context_takeover || config.client_no_context_takeover,
        };
        let mut answer = PERMESSAGE_DEFLATE.to_owned();
        if params.server_no_context_takeover {
            answer.push_str("; server_no_context_takeover");
        }
        if params.client_no_context_takeover {
            answer.push_str("; client_no_context_takeover");
        }
        Some((params, answer))
    })
}

/// Client side: the `Sec-WebSocket-Extensions` offer for `config`.
pub fn deflate_offer(config: &DeflateConfig) -> String {
    let mut offer = PERMESSAGE_DEFLATE.to_owned();
    if config.server_no_context_takeover {
        offer.push_str("; server_no_context_takeover");
    }
    if config.client_no_context_takeover {
        offer.push_str("; client_no_context_takeover");
    }
    offer
}

/// Client side: checks the server's accepted extensions against our
/// offer: `Ok(None)` when it declined, the parameters when it accepted.
pub fn check_deflate_answer(
    accepted: &[String],
    config: &DeflateConfig,
) -> Result<Option<DeflateParams>, HandshakeError> {
    match accepted {
        [] => Ok(None),
        [element] => {
            let answer = parse_element(element).ok_or(HandshakeError::UnexpectedExtension)?;
            // We never offer client_max_window_bits (we cannot compress with a smaller window).
            if answer.client_max_window_bits.is_some()
                || (config.server_no_context_takeover && !answer.server_no_context_takeover)
            {
                return Err(HandshakeError::UnexpectedExtension);
            }
            Ok(Some(DeflateParams {
                server_no_context_takeover: answer.server_no_context_takeover,
                client_no_context_takeover: answer.client_no_context_takeover
                    || config.client_no_context_takeover,
            }))
        }
        _ => Err(HandshakeError::UnexpectedExtension),
    }
}

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The compressor and decompressor of one connection.
pub(crate) struct Deflater {
    compress: Compress,
    decompress: Decompress,
    reset_compress: bool,
    reset_decompress: bool,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deflater")
    }
}

impl Deflater {
    /// `ours_resets`: our compressor forgets after each message; `theirs_resets`: the peer's does.
    pub(crate) fn new(ours_resets: bool, theirs_resets: bool) -> Self {
        Deflater {
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
            reset_compress: ours_resets,
            reset_decompress: theirs_resets,
        }
    }

    /// Compresses one message (the trailing empty block removed, RFC 7692 §7.2.1).
    pub(crate) fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let start = self.compress.total_in();
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            let consumed = (self.compress.total_in() - start) as usize;
            // miniz_oxide's compressor does not fail on valid parameters.
            let _ = self
                .compress
                .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync);
            let consumed = (self.compress.total_in() - start) as usize;
            if consumed == data.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - 4);
        }
        if self.reset_compress {
            self.compress.reset();
        }
        out
    }

    /// Inflates one message, refusing more than `limit` bytes of output;
    /// takes the compressed bytes to append the stripped tail in place
    /// rather than copy the message.
    pub(crate) fn inflate(&mut self, mut input: Vec<u8>, limit: usize) -> Result<Vec<u8>, WsError> {
        input.extend_from_slice(&TAIL);
        let mut out: Vec<u8> = Vec::new();
        let start = self.decompress.total_in();
        loop {
            let consumed = (self.decompress.total_in() - start) as usize;
            if out.len() == out.capacity() {
                let room = (limit + 1).saturating_sub(out.len());
                out.reserve_exact(out.len().clamp(1024, 1 << 20).min(room.max(1)));
            }
            let (len, cap) = (out.len(), out.capacity());
            let status = self
                .decompress
                .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
                .map_err(|_| WsError::BadCompression)?;
            if out.len() > limit {
                return Err(WsError::MessageTooBig);
            }
            let now = (self.decompress.total_in() - start) as usize;
            if status == Status::StreamEnd {
                // A final block: the next message starts a new stream.
                self.decompress.reset(false);
                break;
            }
            if now == input.len() && out.len() < out.capacity() {
                break;
            }
            if now == consumed && out.len() == len && cap == out.capacity() && out.len() < cap {
                return Err(WsError::BadCompression);
            }
        }
        if self.reset_decompress {
            self.decompress.reset(false);
        }
        Ok(out)
    }
}
