//! Replaying input at every chunk size: [`feed_chunked`] for protocols and
//! [`assert_chunking_invariant`] for sans-IO cores.
//!
//! TCP gives no message boundaries: a peer's request may arrive in one read
//! or one byte at a time. A parser that only works when a message arrives
//! whole passes every hand-written test and fails in production on a slow
//! link. These helpers feed the same input split every possible way and
//! insist the outcome never changes.

use std::fmt::Debug;

use gyre_core::Protocol;

use crate::disconnection::StringTransportWithDisconnection;

/// Up to this input length every chunk size is tried.
const EVERY_SIZE_UP_TO: usize = 4096;
/// Past [`EVERY_SIZE_UP_TO`], every size up to this one is tried, then powers of two.
const SMALL_SIZES_UP_TO: usize = 512;
/// Bytes of context shown on each side of the first difference.
const CONTEXT: usize = 24;

/// What a protocol did with one replay of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedRun {
    /// Everything the protocol wrote.
    pub written: Vec<u8>,
    /// Whether it asked to close (`lose_connection` or `abort_connection`).
    pub closed: bool,
}

/// The chunk sizes [`feed_chunked`] and [`assert_chunking_invariant`] try
/// for an input of `len` bytes, in increasing order: every size from 1 to
/// `len` when `len` is at most 4096, otherwise 1 to 512, every power of two
/// below `len`, and `len` itself (so long inputs stay fast while the small
/// sizes, where split-boundary bugs live, are all covered).
pub fn chunk_sizes(len: usize) -> Vec<usize> {
    if len <= EVERY_SIZE_UP_TO {
        return (1..=len).collect();
    }
    let mut sizes: Vec<usize> = (1..=SMALL_SIZES_UP_TO).collect();
    let mut power = SMALL_SIZES_UP_TO * 2;
    while power < len {
        sizes.push(power);
        power *= 2;
    }
    sizes.push(len);
    sizes
}

/// Feeds `input` to fresh protocols from `make`, once in one piece and once
/// at every chunk size from [`chunk_sizes`], and checks each replay writes
/// the same bytes and closes (or not) the same way. Returns the one-piece
/// run.
///
/// Each replay runs a new protocol on a new
/// [`StringTransportWithDisconnection`]: `connection_made`, the chunks (no
/// more once the protocol asked to close, as a reactor stops reading then),
/// and finally `connection_lost`, from the peer closing cleanly if the
/// protocol did not close first. `pause_reading` is not honoured: the input
/// is fed as if the protocol resumed at once.
///
/// # Panics
/// When a replay differs from the one-piece run, naming the chunk size, the
/// offset of the first differing byte and the bytes around it.
///
/// ```
/// use gyre_core::{Protocol, Transport};
///
/// /// Answers "PING\n" with "PONG\n", however the line is split.
/// #[derive(Default)]
/// struct Pinger {
///     line: Vec<u8>,
/// }
///
/// impl Protocol for Pinger {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         for &byte in data {
///             self.line.push(byte);
///             if byte == b'\n' {
///                 if self.line == b"PING\n" {
///                     transport.write(b"PONG\n");
///                 }
///                 self.line.clear();
///             }
///         }
///     }
/// }
///
/// let run = gyre_testing::feed_chunked(Pinger::default, b"PING\nPING\n");
/// assert_eq!(run.written, b"PONG\nPONG\n");
/// assert!(!run.closed);
/// ```
#[track_caller]
pub fn feed_chunked<P: Protocol>(mut make: impl FnMut() -> P, input: &[u8]) -> ChunkedRun {
    let whole = replay(&mut make, input, input.len().max(1));
    for size in chunk_sizes(input.len()) {
        if size == input.len() {
            continue;
        }
        let run = replay(&mut make, input, size);
        if run.written != whole.written {
            panic!(
                "feed_chunked: feeding {} bytes in chunks of {size} wrote different bytes than feeding them \
                 in one piece\n{}",
                input.len(),
                describe_difference(&whole.written, &run.written)
            );
        }
        if run.closed != whole.closed {
            panic!(
                "feed_chunked: feeding {} bytes in chunks of {size}: the protocol {} the connection, \
                 but {} it when fed in one piece",
                input.len(),
                if run.closed { "closed" } else { "did not close" },
                if whole.closed { "closed" } else { "did not close" },
            );
        }
    }
    whole
}

/// One replay of `input` in chunks of `size` on a fresh protocol.
fn replay<P: Protocol>(make: &mut impl FnMut() -> P, input: &[u8], size: usize) -> ChunkedRun {
    let mut connection = StringTransportWithDisconnection::new(make());
    for chunk in input.chunks(size) {
        if !connection.is_connected() || connection.transport().is_disconnecting() {
            break;
        }
        connection.data_received(chunk);
    }
    let closed = connection.transport().is_disconnecting();
    connection.peer_closed();
    ChunkedRun {
        written: connection.value(),
        closed,
    }
}

/// Where two byte strings first differ, with escaped context from both.
fn describe_difference(expected: &[u8], actual: &[u8]) -> String {
    let offset = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    let window = |bytes: &[u8]| {
        let start = offset.saturating_sub(CONTEXT);
        let end = (offset + CONTEXT).min(bytes.len());
        let slice = bytes.get(start..end).unwrap_or_default();
        let prefix = if start > 0 { "..." } else { "" };
        let suffix = if end < bytes.len() { "..." } else { "" };
        format!("{prefix}b\"{}\"{suffix}", slice.escape_ascii())
    };
    format!(
        "first difference at byte offset {offset} (one piece wrote {} bytes, chunked {})\n  \
         one piece: {}\n  chunked:   {}",
        expected.len(),
        actual.len(),
        window(expected),
        window(actual)
    )
}

/// The chunking check for code that is not a [`Protocol`], such as a sans-IO
/// parser: `f` receives the input as an iterator of chunks and returns what
/// it made of them. It is called once with the whole input, then at every
/// size from [`chunk_sizes`]; every answer must equal the first, which is
/// returned.
///
/// # Panics
/// When an answer differs, naming the chunk size and both answers.
///
/// ```
/// let lines = gyre_testing::assert_chunking_invariant(b"a\nbc\n", |chunks| {
///     let mut lines = Vec::new();
///     let mut current = Vec::new();
///     for chunk in chunks {
///         for &byte in chunk {
///             if byte == b'\n' {
///                 lines.push(std::mem::take(&mut current));
///             } else {
///                 current.push(byte);
///             }
///         }
///     }
///     lines
/// });
/// assert_eq!(lines, [b"a".to_vec(), b"bc".to_vec()]);
/// ```
#[track_caller]
pub fn assert_chunking_invariant<R: PartialEq + Debug>(
    input: &[u8],
    mut f: impl FnMut(&mut dyn Iterator<Item = &[u8]>) -> R,
) -> R {
    let whole = f(&mut std::iter::once(input));
    for size in chunk_sizes(input.len()) {
        let answer = f(&mut input.chunks(size));
        if answer != whole {
            panic!(
                "assert_chunking_invariant: {} bytes in chunks of {size} gave a different answer than in \
                 one piece\n  one piece: {whole:?}\n  chunked:   {answer:?}",
                input.len()
            );
        }
    }
    whole
}

#[cfg(test)]
#[path = "chunked_tests.rs"]
mod tests;
