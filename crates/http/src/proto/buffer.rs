//! [`ReadBuffer`]: the bytes a machine has received and not yet used.
//!
//! Used bytes are only skipped over (`consume` moves a start offset), so a
//! slice handed out in an event stays valid until the next call that takes
//! input; the buffer is compacted then. Once empty it keeps at most
//! [`KEEP_CAPACITY`] bytes of capacity, so an idle keep-alive connection
//! holds little memory while a busy one reuses its allocation.

/// Capacity an emptied buffer keeps for the next message.
pub const KEEP_CAPACITY: usize = 8 * 1024;

use crate::body::{BodyDecoder, Decoded};
use crate::error::HttpError;
use crate::wire::{HeaderMap, find_head_end};

/// What one step of decoding a received body from the buffer gave.
#[derive(Debug)]
pub(crate) enum BodyStep {
    /// This many body bytes, just consumed: [`ReadBuffer::just_consumed`].
    Data(usize),
    /// The body ended, with these trailer fields.
    End(HeaderMap),
    /// More bytes are needed.
    Wait,
    /// The body is malformed, or the peer closed before its end.
    Failed(HttpError),
}

#[derive(Debug, Default)]
pub(crate) struct ReadBuffer {
    buf: Vec<u8>,
    start: usize,
    /// How far past `start` the search for the end of a head has looked.
    scanned: usize,
    /// Where the first line of the head being searched ends, once seen.
    line_end: Option<usize>,
}

impl ReadBuffer {
    /// Appends received bytes, first dropping the used ones.
    pub fn push(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
    }

    /// Drops used bytes (called before taking input, never while an
    /// event borrows the buffer).
    pub fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf.shrink_to(KEEP_CAPACITY);
            }
        } else {
            self.buf.drain(..self.start);
        }
        self.start = 0;
    }

    /// The unused bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// The last `len` bytes marked used, still in memory until the next
    /// `push` or `compact` (how a decoded slice outlives its `consume`).
    pub fn just_consumed(&self, len: usize) -> &[u8] {
        &self.buf[self.start - len..self.start]
    }

    /// Moves the last `len` bytes marked used (a body slice handed out)
    /// into `into`, replacing what it held, and says where they lie there.
    /// When no unused bytes are left, as for most body reads, the two
    /// buffers are swapped instead of copied.
    pub fn take_consumed(&mut self, len: usize, into: &mut Vec<u8>) -> std::ops::Range<usize> {
        into.clear();
        if self.start < self.buf.len() {
            into.extend_from_slice(self.just_consumed(len));
            return 0..len;
        }
        let end = self.start;
        std::mem::swap(&mut self.buf, into);
        self.start = 0;
        end - len..end
    }

    /// Marks `n` bytes used. They stay in memory until the next `push` or `compact`.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        self.scanned = 0;
        self.line_end = None;
    }

    /// Where the head at the start of the unused bytes ends (just after
    /// its empty line), once it has arrived. Until then `check` judges the
    /// partial head, told where its first line ends if it has. Each call
    /// only searches the bytes that arrived since the last one, so a head
    /// sent a byte at a time costs linear time.
    pub fn find_head(
        &mut self,
        check: impl FnOnce(&[u8], Option<usize>) -> Result<(), HttpError>,
    ) -> Result<Option<usize>, HttpError> {
        let bytes = &self.buf[self.start..];
        if let Some(end) = find_head_end(bytes, self.scanned) {
            return Ok(Some(end));
        }
        if self.line_end.is_none() {
            let new = &bytes[self.scanned..];
            self.line_end = new.iter().position(|&b| b == b'\n').map(|at| self.scanned + at);
        }
        self.scanned = bytes.len();
        check(bytes, self.line_end).map(|()| None)
    }

    /// Runs `decoder` on the unused bytes and consumes what it used. Once
    /// the peer closed (`eof`), a body that needs more ends there if it is
    /// close-delimited and fails otherwise.
    pub fn decode_body(&mut self, decoder: &mut BodyDecoder, eof: bool) -> BodyStep {
        let decoded = match decoder.decode(self.bytes()) {
            Ok(decoded) => decoded,
            Err(error) => return BodyStep::Failed(error),
        };
        match decoded {
            Decoded::Data { consumed, data } => {
                let len = data.len();
                self.consume(consumed);
                BodyStep::Data(len)
            }
            Decoded::End { consumed, trailers } => {
                self.consume(consumed);
                BodyStep::End(trailers)
            }
            Decoded::NeedMore { consumed } => {
                self.consume(consumed);
                if !eof {
                    return BodyStep::Wait;
                }
                match decoder.finish_at_close() {
                    Ok(trailers) => BodyStep::End(trailers),
                    Err(error) => BodyStep::Failed(error),
                }
            }
        }
    }

    /// How many unused bytes there are.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether every byte was used.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the unused bytes out, leaving the buffer empty.
    pub fn take(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        self.buf = Vec::new();
        self.start = 0;
        rest
    }

    /// Skips empty lines (CRLF or LF) at the start, which RFC 9112 §2.2
    /// lets a server ignore before a request line.
    pub fn skip_empty_lines(&mut self) {
        loop {
            match self.bytes() {
                [b'\r', b'\n', ..] => self.consume(2),
                [b'\n', ..] => self.consume(1),
                _ => return,
            }
        }
    }
}

/// Bytes waiting to be sent, borrowed from a machine. Dropping the
/// `Transmit` marks them sent, so take them with `Deref` and write them.
#[derive(Debug)]
pub struct Transmit<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Transmit<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Option<Transmit<'a>> {
        (!out.is_empty()).then_some(Transmit { out })
    }
}

impl std::ops::Deref for Transmit<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.out
    }
}

impl Drop for Transmit<'_> {
    fn drop(&mut self) {
        release(self.out);
    }
}

/// Empties a sent output buffer, giving back the memory of a large one.
fn release(out: &mut Vec<u8>) {
    out.clear();
    if out.capacity() > 4 * KEEP_CAPACITY {
        out.shrink_to(KEEP_CAPACITY);
    }
}

/// A machine's `take_transmit`: swaps its queued bytes into `into`, whose
/// old (sent) content is dropped and whose memory is given back if large,
/// so two buffers alternate without copies and neither stays large.
pub(crate) fn take_transmit(out: &mut Vec<u8>, into: &mut Vec<u8>) {
    release(into);
    std::mem::swap(out, into);
}

#[cfg(test)]
mod tests {
    use super::{KEEP_CAPACITY, ReadBuffer, take_transmit};

    #[test]
    fn take_transmit_alternates_two_buffers_and_keeps_neither_large() {
        let (mut out, mut into) = (vec![b'x'; 1 << 20], Vec::new());
        take_transmit(&mut out, &mut into);
        assert_eq!((into.len(), out.len()), (1 << 20, 0), "moved, not copied");
        out.extend_from_slice(b"next");
        take_transmit(&mut out, &mut into);
        assert_eq!(into, b"next");
        assert!(
            out.is_empty() && out.capacity() <= KEEP_CAPACITY,
            "the sent megabyte is given back"
        );
    }

    #[test]
    fn take_consumed_swaps_when_nothing_is_left_and_copies_otherwise() {
        let mut buf = ReadBuffer::default();
        let mut into = b"old".to_vec();
        buf.push(b"head:body");
        buf.consume(9);
        let held = buf.buf.as_ptr();
        let range = buf.take_consumed(4, &mut into);
        assert_eq!(&into[range], b"body");
        assert_eq!(into.as_ptr(), held, "swapped, not copied");
        assert!(buf.is_empty());
        buf.push(b"next");
        assert_eq!(buf.bytes(), b"next");

        buf.consume(2);
        let range = buf.take_consumed(2, &mut into);
        assert_eq!(
            (&into[range], buf.bytes()),
            (&b"ne"[..], &b"xt"[..]),
            "the rest stays"
        );
    }
}
