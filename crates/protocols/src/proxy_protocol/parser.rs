//! [`HeaderParser`]: the sans-IO reader of the PROXY header at the start
//! of a connection, fed bytes as they arrive.
//!
//! The version is decided byte by byte (`PROXY ` for version 1, the 12-byte
//! signature for version 2), so a connection that starts with anything else
//! is rejected at its first wrong byte rather than after a timeout. Only
//! header bytes are ever buffered: a version 1 line is at most 107 bytes,
//! a version 2 header at most the configured limit (checked as soon as its
//! length field arrives), and the bytes after the header in the same chunk
//! are left to the caller. Errors are sticky.

use crate::proxy_protocol::error::ProxyHeaderError;
use crate::proxy_protocol::header::ProxyHeader;
use crate::proxy_protocol::v1::{V1_MAX_LINE, V1_PREFIX, parse_v1};
use crate::proxy_protocol::v2::{V2_FIXED_LEN, V2_SIGNATURE, parse_v2};

/// The default limit on a version 2 header's total size (16 bytes plus
/// addresses and TLVs): far above what HAProxy sends, far below 64 KiB.
pub const DEFAULT_MAX_V2_HEADER: usize = 4096;
/// The largest version 2 header that exists (16 + 65535).
pub const MAX_V2_HEADER: usize = V2_FIXED_LEN + u16::MAX as usize;

/// What one [`HeaderParser::feed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The header is not complete yet.
    NeedMore,
    /// The header is complete; the first `consumed` bytes of this chunk
    /// were its end, the rest is the connection's data.
    Header {
        /// The header.
        header: ProxyHeader,
        /// How many bytes of the chunk belonged to the header.
        consumed: usize,
    },
    /// The header was already returned: the whole chunk is data.
    AfterHeader,
}

#[derive(Debug, Clone)]
enum State {
    /// Not yet known which version.
    Detect,
    /// Inside a version 1 line; `cr` when the last byte was CR.
    V1 {
        cr: bool,
    },
    /// Reading the 16-byte version 2 prefix.
    V2Prefix,
    /// Reading a version 2 header of `total` bytes.
    V2Body {
        total: usize,
    },
    Done,
    Failed(ProxyHeaderError),
}

/// Reads one PROXY header (version 1 or 2) from the bytes a connection
/// receives first.
///
/// ```
/// use gyre_protocols::proxy_protocol::{HeaderParser, Step};
///
/// let mut parser = HeaderParser::new();
/// assert_eq!(parser.feed(b"PROXY TCP4 192.168.0.1 192.168.0.11 ").unwrap(), Step::NeedMore);
/// let Step::Header { header, consumed } = parser.feed(b"56324 443\r\nGET / HTTP/1.1\r\n").unwrap() else {
///     panic!("complete");
/// };
/// assert_eq!(header.source().unwrap().to_string(), "tcp:192.168.0.1:56324");
/// assert_eq!(consumed, 11); // "GET / ..." follows
/// ```
#[derive(Debug, Clone)]
pub struct HeaderParser {
    buf: Vec<u8>,
    state: State,
    max_v2: usize,
}

impl Default for HeaderParser {
    fn default() -> Self {
        HeaderParser::new()
    }
}

impl HeaderParser {
    /// A parser accepting both versions, version 2 headers up to
    /// [`DEFAULT_MAX_V2_HEADER`] bytes.
    pub fn new() -> Self {
        HeaderParser {
            buf: Vec::new(),
            state: State::Detect,
            max_v2: DEFAULT_MAX_V2_HEADER,
        }
    }

    /// Accepts version 2 headers up to `bytes` in total (clamped to
    /// 16..=65551).
    pub fn max_v2_header(mut self, bytes: usize) -> Self {
        self.max_v2 = bytes.clamp(V2_FIXED_LEN, MAX_V2_HEADER);
        self
    }

    /// Whether the header was read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn fail(&mut self, error: ProxyHeaderError) -> Result<Step, ProxyHeaderError> {
        self.buf = Vec::new();
        self.state = State::Failed(error.clone());
        Err(error)
    }

    fn complete(
        &mut self,
        parsed: Result<ProxyHeader, ProxyHeaderError>,
        consumed: usize,
    ) -> Result<Step, ProxyHeaderError> {
        match parsed {
            Ok(header) => {
                self.buf = Vec::new();
                self.state = State::Done;
                Ok(Step::Header { header, consumed })
            }
            Err(error) => self.fail(error),
        }
    }

    /// Feeds the next bytes received.
    pub fn feed(&mut self, data: &[u8]) -> Result<Step, ProxyHeaderError> {
        let mut at = 0;
        loop {
            match self.state.clone() {
                State::Failed(error) => return Err(error),
                State::Done => return Ok(Step::AfterHeader),
                _ if at == data.len() => return Ok(Step::NeedMore),
                State::Detect => {
                    self.buf.push(data[at]);
                    at += 1;
                    let v1 = V1_PREFIX.starts_with(&self.buf);
                    let v2 = V2_SIGNATURE.starts_with(&self.buf);
                    if !v1 && !v2 {
                        return self.fail(ProxyHeaderError::NotProxyProtocol);
                    }
                    if v1 && self.buf.len() == V1_PREFIX.len() {
                        self.state = State::V1 { cr: false };
                    } else if v2 && self.buf.len() == V2_SIGNATURE.len() {
                        self.state = State::V2Prefix;
                    }
                }
                State::V1 { cr } => {
                    let byte = data[at];
                    at += 1;
                    match (cr, byte) {
                        (true, b'\n') => {
                            let line = std::mem::take(&mut self.buf);
                            return self.complete(parse_v1(&line), at);
                        }
                        (true, _) | (false, b'\n') => return self.fail(ProxyHeaderError::V1BadLineEnding),
                        (false, b'\r') => self.state = State::V1 { cr: true },
                        (false, _) => self.buf.push(byte),
                    }
                    // Room must remain for the CRLF.
                    if self.buf.len() + 2 > V1_MAX_LINE {
                        return self.fail(ProxyHeaderError::V1TooLong);
                    }
                }
                State::V2Prefix => {
                    let take = (V2_FIXED_LEN - self.buf.len()).min(data.len() - at);
                    self.buf.extend_from_slice(&data[at..at + take]);
                    at += take;
                    if let Err(error) = self.check_prefix() {
                        return self.fail(error);
                    }
                    if self.buf.len() == V2_FIXED_LEN {
                        let length = usize::from(u16::from_be_bytes([self.buf[14], self.buf[15]]));
                        let total = V2_FIXED_LEN + length;
                        if total > self.max_v2 {
                            return self.fail(ProxyHeaderError::V2TooLong {
                                length: total,
                                limit: self.max_v2,
                            });
                        }
                        if total == V2_FIXED_LEN {
                            let header = std::mem::take(&mut self.buf);
                            return self.complete(parse_v2(&header), at);
                        }
                        self.state = State::V2Body { total };
                    }
                }
                State::V2Body { total } => {
                    let take = (total - self.buf.len()).min(data.len() - at);
                    self.buf.extend_from_slice(&data[at..at + take]);
                    at += take;
                    if self.buf.len() == total {
                        let header = std::mem::take(&mut self.buf);
                        return self.complete(parse_v2(&header), at);
                    }
                }
            }
        }
    }

    /// Rejects a bad version, command or family as soon as its byte is in.
    fn check_prefix(&self) -> Result<(), ProxyHeaderError> {
        if let Some(&version_command) = self.buf.get(12) {
            if version_command >> 4 != 2 {
                return Err(ProxyHeaderError::V2BadVersion(version_command >> 4));
            }
            if version_command & 0x0F > 1 {
                return Err(ProxyHeaderError::V2BadCommand(version_command & 0x0F));
            }
        }
        if let Some(&family) = self.buf.get(13)
            && !matches!(family, 0x00 | 0x11 | 0x12 | 0x21 | 0x22 | 0x31 | 0x32)
        {
            return Err(ProxyHeaderError::V2BadFamily(family));
        }
        Ok(())
    }
}
