//! The AMP wire format: [`AmpBox`] and its encoder, and [`BoxDecoder`], a
//! sans-IO decoder fed any chunking.
//!
//! A box is a sequence of key/value pairs, each a 16-bit big-endian length
//! followed by that many bytes, closed by an empty key (two zero bytes). Keys
//! are 1 to 255 bytes ([`MAX_KEY_LENGTH`]), values up to 65,535
//! ([`MAX_VALUE_LENGTH`]). Twisted writes the keys of a box in sorted order;
//! [`AmpBox`] keeps its keys sorted, so the bytes gyre writes for a box are
//! the bytes Twisted writes for the same dictionary.

use std::collections::BTreeMap;
use std::fmt;

use super::errors::{DecodeError, EncodeError};

/// The longest key a box may carry (Twisted's `MAX_KEY_LENGTH`).
pub const MAX_KEY_LENGTH: usize = 0xFF;
/// The longest value a box may carry (Twisted's `MAX_VALUE_LENGTH`).
pub const MAX_VALUE_LENGTH: usize = 0xFFFF;

/// One AMP message: byte-string keys mapped to byte-string values, kept in
/// key order (which is the order Twisted serialises them in).
///
/// ```
/// use gyre_protocols::amp::AmpBox;
///
/// let mut request = AmpBox::new();
/// request.insert("b", "2");
/// request.insert("a", "1");
/// assert_eq!(request.get("a"), Some(&b"1"[..]));
/// assert_eq!(request.to_bytes().unwrap(), b"\x00\x01a\x00\x011\x00\x01b\x00\x012\x00\x00");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct AmpBox {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl AmpBox {
    /// An empty box.
    pub fn new() -> Self {
        AmpBox::default()
    }

    /// Sets `key` to `value`, returning the value it replaces. Lengths are
    /// checked when the box is encoded, so building never fails.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Option<Vec<u8>> {
        self.entries.insert(key.into(), value.into())
    }

    /// The value of `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&[u8]> {
        self.entries.get(key.as_ref()).map(Vec::as_slice)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        self.entries.remove(key.as_ref())
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> bool {
        self.entries.contains_key(key.as_ref())
    }

    /// How many keys the box holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the box holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys and values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// How many bytes [`encode`](Self::encode) writes for this box.
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(k, v)| 4 + k.len() + v.len())
            .sum::<usize>()
            + 2
    }

    /// Checks every length, then appends the box's wire form to `out`. On
    /// error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for (key, value) in &self.entries {
            if key.is_empty() {
                return Err(EncodeError::EmptyKey);
            }
            if key.len() > MAX_KEY_LENGTH {
                return Err(EncodeError::KeyTooLong { length: key.len() });
            }
            if value.len() > MAX_VALUE_LENGTH {
                return Err(EncodeError::ValueTooLong {
                    key: String::from_utf8_lossy(key).into_owned(),
                    length: value.len(),
                });
            }
        }
        out.reserve(self.encoded_len());
        for (key, value) in &self.entries {
            push_prefixed(out, key);
            push_prefixed(out, value);
        }
        out.extend_from_slice(&[0, 0]);
        Ok(())
    }

    /// The box's wire form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// Appends a 16-bit length and `data`; the caller checked the length.
pub(crate) fn push_prefixed(out: &mut Vec<u8>, data: &[u8]) {
    let length = u16::try_from(data.len()).expect("length checked by the caller");
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(data);
}

impl fmt::Debug for AmpBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.entries
                    .iter()
                    .map(|(k, v)| (k.escape_ascii().to_string(), v.escape_ascii().to_string())),
            )
            .finish()
    }
}

impl<K: Into<Vec<u8>>, V: Into<Vec<u8>>> FromIterator<(K, V)> for AmpBox {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        AmpBox {
            entries: iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }
}

impl<K: Into<Vec<u8>>, V: Into<Vec<u8>>> Extend<(K, V)> for AmpBox {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.entries
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
}

impl IntoIterator for AmpBox {
    type Item = (Vec<u8>, Vec<u8>);
    type IntoIter = std::collections::btree_map::IntoIter<Vec<u8>, Vec<u8>>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// How much one received box may hold. Twisted sets no limit beyond the
/// 255-byte key and 65,535-byte value; without one a peer could send an
/// endless box and exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxLimits {
    /// The most wire bytes one box may take, length prefixes and the closing
    /// empty key included (default 1 MiB: sixteen full-size values).
    pub max_box_bytes: usize,
    /// The most keys one box may hold (default 1,024).
    pub max_keys: usize,
}

impl Default for BoxLimits {
    fn default() -> Self {
        BoxLimits {
            max_box_bytes: 1 << 20,
            max_keys: 1024,
        }
    }
}

/// Where the decoder is inside the current box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    KeyLength,
    Key,
    ValueLength,
    Value,
}

/// Decodes a stream of boxes, however the bytes are split.
///
/// Sans-IO: bytes go in through [`decode`](Self::decode), which consumes
/// input until it completes one box or runs out. The decoder buffers only
/// the key or value being read, so memory is bounded by [`BoxLimits`]. Errors
/// are sticky: after one, every call returns it again.
///
/// ```
/// use gyre_protocols::amp::{BoxDecoder, BoxLimits};
///
/// let wire = b"\x00\x01a\x00\x011\x00\x00\x00\x01b\x00\x00\x00\x00";
/// let mut decoder = BoxDecoder::new(BoxLimits::default());
/// let (used, first) = decoder.decode(wire).unwrap();
/// assert_eq!(first.unwrap().get("a"), Some(&b"1"[..]));
/// let (_, second) = decoder.decode(&wire[used..]).unwrap();
/// assert_eq!(second.unwrap().get("b"), Some(&b""[..]));
/// ```
#[derive(Debug)]
pub struct BoxDecoder {
    limits: BoxLimits,
    stage: Stage,
    /// The bytes of a length prefix read so far.
    length: [u8; 2],
    length_have: usize,
    /// The length of the key or value being read.
    wanted: usize,
    /// The key or value being read.
    field: Vec<u8>,
    /// The key waiting for its value.
    key: Vec<u8>,
    current: AmpBox,
    /// Wire bytes of the current box so far (announced lengths included).
    box_bytes: usize,
    failed: Option<DecodeError>,
}

impl BoxDecoder {
    /// A decoder that enforces `limits` on every box.
    pub fn new(limits: BoxLimits) -> Self {
        BoxDecoder {
            limits,
            stage: Stage::KeyLength,
            length: [0; 2],
            length_have: 0,
            wanted: 0,
            field: Vec::new(),
            key: Vec::new(),
            current: AmpBox::new(),
            box_bytes: 0,
            failed: None,
        }
    }

    /// Whether the decoder is between boxes (nothing of a box read yet), so
    /// the stream may end here cleanly.
    pub fn is_between_boxes(&self) -> bool {
        self.failed.is_none()
            && self.stage == Stage::KeyLength
            && self.length_have == 0
            && self.box_bytes == 0
    }

    /// The error that stopped the decoder, if any.
    pub fn error(&self) -> Option<&DecodeError> {
        self.failed.as_ref()
    }

    /// Consumes bytes of `data` until one box is complete or `data` is used
    /// up. Returns how many bytes were consumed and the box, if one was
    /// completed; the rest of `data` belongs to the next call.
    pub fn decode(&mut self, data: &[u8]) -> Result<(usize, Option<AmpBox>), DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            match self.stage {
                Stage::KeyLength | Stage::ValueLength => {
                    self.length[self.length_have] = rest[0];
                    self.length_have += 1;
                    used += 1;
                    if self.length_have == 2 {
                        self.length_have = 0;
                        let length = usize::from(u16::from_be_bytes(self.length));
                        if let Some(finished) = self.length_read(length)? {
                            return Ok((used, Some(finished)));
                        }
                    }
                }
                Stage::Key | Stage::Value => {
                    let take = (self.wanted - self.field.len()).min(rest.len());
                    self.field.extend_from_slice(&rest[..take]);
                    used += take;
                    if self.field.len() == self.wanted {
                        self.field_read()?;
                    }
                }
            }
        }
        Ok((used, None))
    }

    /// A length prefix arrived; returns the box if it was the closing empty key.
    fn length_read(&mut self, length: usize) -> Result<Option<AmpBox>, DecodeError> {
        self.box_bytes += 2;
        if self.stage == Stage::KeyLength {
            if length == 0 {
                self.box_bytes = 0;
                return Ok(Some(std::mem::take(&mut self.current)));
            }
            if length > MAX_KEY_LENGTH {
                return Err(self.fail(DecodeError::KeyTooLong { length }));
            }
            if self.current.len() >= self.limits.max_keys {
                return Err(self.fail(DecodeError::TooManyKeys {
                    limit: self.limits.max_keys,
                }));
            }
        }
        // The closing empty key still has to fit.
        if self.box_bytes + length + 2 > self.limits.max_box_bytes {
            return Err(self.fail(DecodeError::BoxTooLarge {
                limit: self.limits.max_box_bytes,
            }));
        }
        self.box_bytes += length;
        self.wanted = length;
        self.stage = if self.stage == Stage::KeyLength {
            Stage::Key
        } else {
            Stage::Value
        };
        if length == 0 {
            // An empty value is complete at once.
            self.field_read()?;
        }
        Ok(None)
    }

    /// The key or value being read is complete.
    fn field_read(&mut self) -> Result<(), DecodeError> {
        let field = std::mem::take(&mut self.field);
        if self.stage == Stage::Key {
            if self.current.contains_key(&field) {
                return Err(self.fail(DecodeError::DuplicateKey {
                    key: String::from_utf8_lossy(&field).into_owned(),
                }));
            }
            self.key = field;
            self.stage = Stage::ValueLength;
        } else {
            self.current.insert(std::mem::take(&mut self.key), field);
            self.stage = Stage::KeyLength;
        }
        Ok(())
    }

    fn fail(&mut self, error: DecodeError) -> DecodeError {
        self.failed = Some(error.clone());
        self.current = AmpBox::new();
        self.field = Vec::new();
        self.key = Vec::new();
        error
    }
}

/// Decodes a byte string that holds whole boxes and nothing else (the value
/// of an [`AmpList`](super::AmpList) argument). Empty boxes are allowed, as
/// in Twisted's `parseString`; a truncated last box is an error.
pub fn decode_boxes(data: &[u8], limits: BoxLimits) -> Result<Vec<AmpBox>, DecodeError> {
    let mut decoder = BoxDecoder::new(limits);
    let mut boxes = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (used, decoded) = decoder.decode(rest)?;
        rest = &rest[used..];
        boxes.extend(decoded);
    }
    if decoder.is_between_boxes() {
        Ok(boxes)
    } else {
        Err(DecodeError::Truncated)
    }
}
