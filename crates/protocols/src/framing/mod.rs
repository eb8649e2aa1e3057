//! Framers: lines, length-prefixed strings, netstrings, and a file sender
//! (Twisted's `twisted.protocols.basic`).
//!
//! TCP delivers a stream of bytes, not messages. A framer turns the stream
//! into frames and hands each one to a handler, whatever way the bytes were
//! split on the way. Each framer is two layers:
//!
//! ```text
//!   sans-IO decoder (no I/O, no clock)     adapter: a gyre Protocol      what the user writes
//!   ──────────────────────────────────     ───────────────────────────   ──────────────────────────────
//!   LineDecoder       lines + raw mode  ─▶ LineReceiver<H>          ─▶  LineHandler     (LineContext)
//!                     lines only        ─▶ LineOnlyReceiver<H>      ─▶  LineOnlyHandler (LineOnlyContext)
//!   IntDecoder        8/16/32-bit prefix ▶ IntStringReceiver<H>     ─┬▶  StringHandler   (StringContext)
//!   NetstringDecoder  LEN:DATA,         ─▶ NetstringReceiver<H>     ─┘
//!                                          ReceiverHandle: pause/resume from anywhere; a PushProducer
//!   FileSender: a PullProducer streaming any Read to a Transport → Deferred<Option<u8>> (last byte)
//! ```
//!
//! **Decoders** take the bytes of one read wrapped in an [`Input`] and hand
//! out one frame at a time. A frame that lies whole inside the read is a
//! slice of it; only an unfinished frame is copied, into a buffer bounded by
//! the frame limit (`max_length`). They never panic on any input, and each
//! has a fuzz target.
//!
//! **Handlers** get a context in every callback, as a gyre `Protocol` gets
//! its `Transport`: through it they send frames (`send_line`,
//! `send_string`), write, switch a line receiver between line and raw mode
//! (`set_raw_mode_for(n)` for a body of known length), pause, and close —
//! with [`close_with`](LineContext::close_with) naming the error that
//! `connection_lost` will report. A switch applies from the next byte, so
//! what followed in the same read reaches the new mode, in order.
//!
//! **Limits** follow Twisted: lines up to 16,384 bytes, strings up to
//! 99,999. Going over calls a hook whose default closes the connection with
//! a typed error ([`LineTooLong`], [`LengthLimitExceeded`]); a hook that
//! does not close skips the frame and goes on (Twisted stays stuck or
//! resynchronises mid-frame). Malformed netstrings close with a
//! [`NetstringError`]. A paused receiver keeps what arrives within
//! `max_buffered` and closes with [`BufferLimitExceeded`] beyond.
//!
//! **Pausing** (Twisted's `pauseProducing`) stops frame delivery and the
//! transport's reading; [`ReceiverHandle::resume`] delivers what was kept,
//! then reads again, and an end of file that arrived meanwhile is told
//! after those frames:
//!
//! ```
//! use gyre_protocols::framing::{LineContext, LineHandler, LineReceiver, ReceiverHandle};
//! use gyre_testing::StringTransportWithDisconnection;
//!
//! /// Echoes lines; `SLOW` starts work that must finish before the next line.
//! #[derive(Default)]
//! struct Worker {
//!     waiting: Option<ReceiverHandle>,
//! }
//!
//! impl LineHandler for Worker {
//!     fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
//!         cx.send_line(line);
//!         if line == b"SLOW" {
//!             self.waiting = Some(cx.pause()); // resumed when the work is done
//!         }
//!     }
//! }
//!
//! let mut conn = StringTransportWithDisconnection::new(LineReceiver::new(Worker::default()));
//! conn.data_received(b"a\r\nSLOW\r\nb\r\n");
//! assert_eq!(conn.transport().take(), b"a\r\nSLOW\r\n"); // `b` waits
//! assert!(conn.transport().is_reading_paused());
//!
//! // Later, from a timer or a Deferred callback:
//! let work_done = conn.protocol().handler_mut().waiting.take().unwrap();
//! work_done.resume();
//! assert_eq!(conn.transport().take(), b"b\r\n");
//! assert!(!conn.transport().is_reading_paused());
//! ```

mod buffer;
mod error;
mod file_sender;
mod handle;
mod input;
mod int_decoder;
mod line_decoder;
mod line_only;
mod lines;
mod macros;
mod netstring_decoder;
mod receiver;
mod strings;

pub use buffer::PAUSED_SLACK;
pub use error::{
    BufferLimitExceeded, LengthLimitExceeded, LineTooLong, NetstringError, NetstringErrorKind,
    RawDataUnhandled, StringTooLong, TransferInterrupted,
};
pub use file_sender::{DEFAULT_CHUNK_SIZE, FileSender};
pub use handle::ReceiverHandle;
pub use input::Input;
pub use int_decoder::{DEFAULT_MAX_STRING_LENGTH, IntDecoder, IntEvent, Prefix, PrefixBytes, encode_string};
pub use line_decoder::{DEFAULT_DELIMITER, DEFAULT_MAX_LINE_LENGTH, LineDecoder, LineEvent, LineMode};
pub use line_only::{LineOnlyContext, LineOnlyHandler, LineOnlyReceiver};
pub use lines::{LineContext, LineHandler, LineReceiver};
pub use netstring_decoder::{NetstringDecoder, NetstringHeader, encode_netstring};
pub use strings::{IntStringReceiver, NetstringReceiver, StringContext, StringHandler};
