//! Traffic logging (Twisted's `TrafficLoggingFactory`): every event of the
//! wrapped protocol's connection, with the peer address and byte counts,
//! through `tracing` (target [`TRAFFIC_TARGET`], level INFO) and/or to a
//! writer the user supplies, optionally with a hex dump of the bytes.
//!
//! Each connection gets a number (`#1`, `#2`, …, per [`TrafficLog`] and its
//! clones) so interleaved connections can be told apart. The peer is the
//! one the wrapped protocol sees, so behind `haproxy:` it is the real
//! client. A failing writer never disturbs the connection: logging is best
//! effort.
//!
//! ```text
//! #1 tcp:127.0.0.1:54321 connected to tcp:127.0.0.1:8000 (string)
//! #1 tcp:127.0.0.1:54321 read 5 bytes
//!   00000000  68 65 6c 6c 6f                                    |hello|
//! #1 tcp:127.0.0.1:54321 wrote 5 bytes
//! #1 tcp:127.0.0.1:54321 closing
//! #1 tcp:127.0.0.1:54321 connection lost: connection was closed cleanly (read 5 bytes, wrote 5 bytes)
//! ```

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::{IoSlice, Write};
use std::rc::Rc;

use gyre_core::address::Address;
use gyre_core::{Failure, Transport};

use crate::policies::factory::{Admission, PolicyFactory};
use crate::policies::wrap::{Link, Policy};

/// The `tracing` target of traffic log events.
pub const TRAFFIC_TARGET: &str = "gyre::traffic";
/// By default at most this many bytes of each read or write are dumped.
pub const DEFAULT_DUMP_LIMIT: usize = 4096;

/// Traffic logging for every connection of a factory: use with
/// [`wrap_factory`](crate::policies::wrap_factory).
#[derive(Clone)]
pub struct TrafficLog {
    writer: Option<Rc<RefCell<dyn Write>>>,
    tracing: bool,
    hex_dump: bool,
    dump_limit: usize,
    next_id: Rc<Cell<u64>>,
}

impl Default for TrafficLog {
    fn default() -> Self {
        TrafficLog::new()
    }
}

impl TrafficLog {
    /// Logs through `tracing` only, without hex dumps.
    pub fn new() -> Self {
        TrafficLog {
            writer: None,
            tracing: true,
            hex_dump: false,
            dump_limit: DEFAULT_DUMP_LIMIT,
            next_id: Rc::new(Cell::new(0)),
        }
    }

    /// Also writes each event as a line to `writer` (a file, a buffer).
    pub fn to_writer(mut self, writer: impl Write + 'static) -> Self {
        self.writer = Some(Rc::new(RefCell::new(writer)));
        self
    }

    /// Whether events also go to `tracing` (default yes).
    pub fn tracing(mut self, enabled: bool) -> Self {
        self.tracing = enabled;
        self
    }

    /// Whether reads and writes are followed by a hex dump of their bytes.
    pub fn hex_dump(mut self, enabled: bool) -> Self {
        self.hex_dump = enabled;
        self
    }

    /// Dumps at most `bytes` of each read or write (default 4096).
    pub fn dump_limit(mut self, bytes: usize) -> Self {
        self.dump_limit = bytes;
        self
    }

    /// The policy for one connection, numbered in order.
    pub fn logger(&self, _peer: &Address) -> TrafficLogger {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        TrafficLogger {
            log: self.clone(),
            id,
            peer: RefCell::new(None),
            read: Cell::new(0),
            written: Cell::new(0),
        }
    }
}

impl PolicyFactory for TrafficLog {
    type Policy = TrafficLogger;

    fn admit(&mut self, peer: &Address) -> Admission<TrafficLogger> {
        Admission::Admit(self.logger(peer))
    }
}

/// The traffic log of one connection.
pub struct TrafficLogger {
    log: TrafficLog,
    id: u64,
    peer: RefCell<Option<Address>>,
    read: Cell<u64>,
    written: Cell<u64>,
}

impl TrafficLogger {
    /// This connection's number in the log.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Logs `event`, followed (with hex dumps on) by a dump of `bytes`,
    /// which start the `total` bytes read or written (all of them, or at
    /// least as many as the dump limit).
    fn emit(&self, event: &str, bytes: Option<(&[u8], usize)>) {
        let peer = self
            .peer
            .borrow()
            .as_ref()
            .map_or_else(|| "(not connected)".to_owned(), Address::to_string);
        let mut dump = String::new();
        if let Some((bytes, total)) = bytes.filter(|_| self.log.hex_dump) {
            dump_start(&bytes[..bytes.len().min(self.log.dump_limit)], total, &mut dump);
        }
        if self.log.tracing {
            tracing::info!(target: TRAFFIC_TARGET, connection = self.id, peer = %peer, "{event}{dump}");
        }
        if let Some(writer) = &self.log.writer
            && let Ok(mut writer) = writer.try_borrow_mut()
        {
            let _ = writeln!(writer, "#{} {peer} {event}{dump}", self.id);
        }
    }
}

/// Appends a `hexdump -C` style dump of at most `limit` bytes of `bytes`,
/// each line starting with a newline and two spaces.
pub fn hex_dump(bytes: &[u8], limit: usize, out: &mut String) {
    dump_start(&bytes[..bytes.len().min(limit)], bytes.len(), out);
}

/// The dump of `shown`, the first bytes of `total`.
fn dump_start(shown: &[u8], total: usize, out: &mut String) {
    for (line, chunk) in shown.chunks(16).enumerate() {
        let _ = write!(out, "\n  {:08x} ", line * 16);
        for column in 0..16 {
            if column == 8 {
                out.push(' ');
            }
            match chunk.get(column) {
                Some(byte) => {
                    let _ = write!(out, " {byte:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push('|');
    }
    if shown.len() < total {
        let _ = write!(out, "\n  ... {} more bytes", total - shown.len());
    }
}

impl Policy for TrafficLogger {
    fn connection_made(&self, link: Link<'_>) {
        let above = link.above();
        *self.peer.borrow_mut() = Some(above.peer());
        self.emit(&format!("connected to {} ({})", above.host(), above.kind()), None);
    }

    fn data_received(&self, _link: Link<'_>, data: &[u8]) {
        self.read.set(self.read.get() + data.len() as u64);
        self.emit(&format!("read {} bytes", data.len()), Some((data, data.len())));
    }

    fn read_connection_lost(&self, _link: Link<'_>) {
        self.emit("peer shut down its write side", None);
    }

    fn write_connection_lost(&self, _link: Link<'_>) {
        self.emit("our write side is shut down", None);
    }

    fn connection_lost(&self, _link: Link<'_>, reason: Failure) -> Failure {
        self.emit(
            &format!(
                "connection lost: {reason} (read {} bytes, wrote {} bytes)",
                self.read.get(),
                self.written.get()
            ),
            None,
        );
        reason
    }

    fn write(&self, below: &Transport, bufs: &[IoSlice<'_>]) {
        let total: usize = bufs.iter().map(|buf| buf.len()).sum();
        self.written.set(self.written.get() + total as u64);
        match bufs {
            [one] => self.emit(&format!("wrote {total} bytes"), Some((&one[..], total))),
            _ if self.log.hex_dump => {
                // Only what the dump shows is joined, not the whole write.
                let start: Vec<u8> = bufs
                    .iter()
                    .flat_map(|buf| buf.iter().copied())
                    .take(self.log.dump_limit)
                    .collect();
                self.emit(&format!("wrote {total} bytes"), Some((&start, total)));
            }
            _ => self.emit(&format!("wrote {total} bytes"), None),
        }
        below.write_vectored(bufs);
    }

    fn lose_connection(&self, below: &Transport) {
        self.emit("closing", None);
        below.lose_connection();
    }

    fn abort_connection(&self, below: &Transport) {
        self.emit("aborting", None);
        below.abort_connection();
    }

    fn lose_write_connection(&self, below: &Transport) {
        self.emit("shutting down our write side", None);
        below.lose_write_connection();
    }

    fn pause_reading(&self, below: &Transport) {
        self.emit("paused reading", None);
        below.pause_reading();
    }

    fn resume_reading(&self, below: &Transport) {
        self.emit("resumed reading", None);
        below.resume_reading();
    }
}
