//! Scratch buffers shared by every TLS connection of a thread: records on
//! their way from rustls to the transport below, and decrypted bytes on
//! their way to the wrapped protocol. Both are emptied before control
//! returns to the reactor, so one buffer per thread serves every
//! connection, no read or write allocates for them, and an idle connection
//! keeps none.
//!
//! A buffer is taken out of its slot, not borrowed: code reached again
//! from inside (a flush from within `inner.write`, a protocol that feeds
//! another TLS connection from `data_received`) finds the slot empty and
//! works on a fresh buffer.

use std::cell::Cell;
use std::thread::LocalKey;

thread_local! {
    /// Encrypted records, filled by `Session::flush`.
    pub(crate) static RECORDS: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// Decrypted bytes, filled by `TlsProtocol::receive`.
    pub(crate) static PLAINTEXT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The largest buffer kept for the next use (a few full records); a bigger
/// one, after a large write or read, is freed.
const MAX_KEPT: usize = 64 * 1024;

/// Takes the thread's buffer out of `slot` (empty; fresh if in use).
pub(crate) fn take(slot: &'static LocalKey<Cell<Vec<u8>>>) -> Vec<u8> {
    slot.take()
}

/// Puts `buffer` back into `slot`, emptied, unless it grew too large.
pub(crate) fn put_back(slot: &'static LocalKey<Cell<Vec<u8>>>, mut buffer: Vec<u8>) {
    if buffer.capacity() <= MAX_KEPT {
        buffer.clear();
        slot.set(buffer);
    }
}
