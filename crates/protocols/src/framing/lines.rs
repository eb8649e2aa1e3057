//! [`LineReceiver`]: lines and raw mode for a [`LineHandler`] (Twisted's
//! `LineReceiver`).

use std::io::IoSlice;

use gyre_core::{Failure, Transport};

use super::error::{LineTooLong, RawDataUnhandled};
use super::input::Input;
use super::line_decoder::{LineDecoder, LineEvent};
use super::macros::{context_methods, receiver_protocol};
use super::receiver::{Common, Core, Decode, Deliver, ModeRequest, Requests};

/// What a line-based protocol implements; [`LineReceiver`] calls it.
///
/// Every callback gets a [`LineContext`], through which the handler writes
/// (`send_line`), switches between line and raw mode, pauses, and closes —
/// the same way a gyre `Protocol` gets its `Transport` in every callback.
/// Switches take effect from the next byte: the rest of the read that held
/// this line is delivered in the new mode, in order.
pub trait LineHandler: 'static {
    /// The connection is up; nothing was received yet.
    fn connection_made(&mut self, cx: &mut LineContext<'_>) {
        let _ = cx;
    }

    /// One line, without its delimiter.
    fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]);

    /// Bytes received in raw mode, as they came (a run may be split across
    /// several calls). The default closes the connection with
    /// [`RawDataUnhandled`]: a handler that switches to raw mode must take
    /// the bytes.
    fn raw_data_received(&mut self, cx: &mut LineContext<'_>, data: &[u8]) {
        let _ = data;
        cx.close_with(RawDataUnhandled::new());
    }

    /// A line went over the maximum length; `line` is what was received of
    /// it (see [`LineEvent::TooLong`]). The default closes the connection
    /// with [`LineTooLong`], as Twisted's closes it. A handler that does not
    /// close goes on receiving the lines after it.
    fn line_length_exceeded(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        let error = LineTooLong::new(cx.max_length(), line.len());
        cx.close_with(error);
    }

    /// The peer finished sending (end of file); after the lines before it.
    /// The default closes our side too.
    fn read_connection_lost(&mut self, cx: &mut LineContext<'_>) {
        cx.lose_connection();
    }

    /// The connection ended. `reason` is the framing error when the
    /// receiver closed it (such as [`LineTooLong`]), otherwise the
    /// transport's reason, with a note in its context when the connection
    /// ended inside an unfinished line.
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        let _ = (transport, reason);
    }
}

/// What a [`LineHandler`] callback can do with its connection.
pub struct LineContext<'a> {
    common: Common<'a>,
    delimiter: &'a [u8],
    max_length: usize,
}

context_methods!(LineContext);

impl LineContext<'_> {
    /// Writes `line` and the delimiter, in one write (Twisted's `sendLine`).
    pub fn send_line(&self, line: &[u8]) {
        send_line(self.common.transport, line, self.delimiter);
    }

    /// Delivers the following bytes to `raw_data_received`, unsplit, until
    /// [`set_line_mode`](Self::set_line_mode).
    pub fn set_raw_mode(&mut self) {
        self.common.requests.mode = Some(ModeRequest::Raw);
    }

    /// Delivers the next `len` bytes to `raw_data_received`, then lines
    /// again — a body of known length after a header line. The bytes after
    /// the body are split into lines even when they arrived in the same read.
    pub fn set_raw_mode_for(&mut self, len: u64) {
        self.common.requests.mode = Some(ModeRequest::RawFor(len));
    }

    /// Splits lines again after the bytes delivered so far.
    pub fn set_line_mode(&mut self) {
        self.common.requests.mode = Some(ModeRequest::Line);
    }

    /// From `raw_data_received`: only the first `used` bytes of `data` were
    /// raw; the rest is split into lines (Twisted's `setLineMode(extra)`).
    pub fn set_line_mode_after(&mut self, used: usize) {
        self.common.requests.mode = Some(ModeRequest::LineAfter(used));
    }

    /// Drops every byte received and not yet delivered, including the rest
    /// of this read (Twisted's `clearLineBuffer`).
    pub fn clear_line_buffer(&mut self) {
        self.common.requests.clear = true;
    }

    /// The delimiter lines end with.
    pub fn delimiter(&self) -> &[u8] {
        self.delimiter
    }

    /// The longest line accepted.
    pub fn max_length(&self) -> usize {
        self.max_length
    }
}

/// Writes a line and its delimiter as one vectored write.
pub(crate) fn send_line(transport: &Transport, line: &[u8], delimiter: &[u8]) {
    transport.write_vectored(&[IoSlice::new(line), IoSlice::new(delimiter)]);
}

/// A `Protocol` that splits what it receives into lines for a
/// [`LineHandler`], with raw mode, limits and pausing (Twisted's
/// `LineReceiver`).
///
/// ```
/// use gyre_protocols::framing::{LineContext, LineHandler, LineReceiver};
///
/// /// `SIZE n` announces an n-byte blob; the reply is the sum of its bytes.
/// #[derive(Default)]
/// struct Blobs {
///     left: u64,
///     sum: u64,
/// }
///
/// impl LineHandler for Blobs {
///     fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
///         let size = line.strip_prefix(b"SIZE ").and_then(|n| std::str::from_utf8(n).ok()?.parse().ok());
///         match size {
///             Some(len) if len > 0 => {
///                 (self.left, self.sum) = (len, 0);
///                 cx.set_raw_mode_for(len);
///             }
///             _ => cx.send_line(b"ERR"),
///         }
///     }
///
///     fn raw_data_received(&mut self, cx: &mut LineContext<'_>, data: &[u8]) {
///         self.sum += data.iter().map(|&b| u64::from(b)).sum::<u64>();
///         self.left -= data.len() as u64;
///         if self.left == 0 {
///             cx.send_line(format!("SUM {}", self.sum).as_bytes());
///         }
///     }
/// }
///
/// // The line after the body reaches line mode, however TCP splits the bytes.
/// let input = b"SIZE 3\r\n\x01\x02\x03what\r\n";
/// let run = gyre_testing::feed_chunked(|| LineReceiver::new(Blobs::default()), input);
/// assert_eq!(run.written, b"SUM 6\r\nERR\r\n");
/// ```
pub struct LineReceiver<H: LineHandler> {
    core: std::rc::Rc<Core<LineDecoder, Lines<H>>>,
}

/// A [`LineHandler`] as the runtime drives it.
struct Lines<H> {
    handler: H,
    delimiter: Box<[u8]>,
    max_length: usize,
}

impl<H: LineHandler> LineReceiver<H> {
    /// A receiver with Twisted's defaults: `\r\n`, lines up to 16,384 bytes.
    pub fn new(handler: H) -> Self {
        Self::with_decoder(LineDecoder::new(), handler)
    }

    /// A receiver whose delimiter and limits are `decoder`'s:
    /// `LineReceiver::with_decoder(LineDecoder::new().with_delimiter(b"\n"), handler)`.
    pub fn with_decoder(decoder: LineDecoder, handler: H) -> Self {
        let lines = Lines {
            handler,
            delimiter: decoder.delimiter().into(),
            max_length: decoder.max_length(),
        };
        LineReceiver {
            core: Core::new(decoder, lines),
        }
    }
}

receiver_protocol!(LineReceiver, LineHandler);

impl<H> Lines<H> {
    /// The handler and a context for one callback.
    fn parts<'a>(&'a mut self, common: Common<'a>) -> (&'a mut H, LineContext<'a>) {
        let cx = LineContext {
            common,
            delimiter: &self.delimiter,
            max_length: self.max_length,
        };
        (&mut self.handler, cx)
    }
}

impl<H: LineHandler> Deliver<LineDecoder> for Lines<H> {
    fn connection_made(&mut self, common: Common<'_>) {
        let (handler, mut cx) = self.parts(common);
        handler.connection_made(&mut cx);
    }

    fn frame(&mut self, common: Common<'_>, frame: LineEvent<'_>) {
        let (handler, mut cx) = self.parts(common);
        match frame {
            LineEvent::Line(line) => handler.line_received(&mut cx, line),
            LineEvent::Raw(data) => handler.raw_data_received(&mut cx, data),
            LineEvent::TooLong(line) => handler.line_length_exceeded(&mut cx, line),
        }
    }

    fn read_connection_lost(&mut self, common: Common<'_>) {
        let (handler, mut cx) = self.parts(common);
        handler.read_connection_lost(&mut cx);
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        self.handler.connection_lost(transport, reason);
    }
}

impl Decode for LineDecoder {
    type Frame<'a> = LineEvent<'a>;
    const WHAT: &'static str = "line";

    fn next<'s, 'd: 's>(&'s mut self, input: &mut Input<'d>) -> Result<Option<LineEvent<'s>>, Failure> {
        Ok(self.decode(input))
    }

    fn hold(&mut self, input: &mut Input<'_>) -> Result<(), super::error::BufferLimitExceeded> {
        LineDecoder::hold(self, input)
    }

    fn mid_frame(&self) -> bool {
        self.is_mid_frame()
    }

    fn apply(&mut self, requests: &mut Requests, input: &mut Input<'_>) {
        let Requests { mode, clear } = std::mem::take(requests);
        match mode {
            Some(ModeRequest::Raw) => self.set_raw_mode(),
            Some(ModeRequest::RawFor(len)) => self.set_raw_mode_for(len),
            Some(ModeRequest::Line) => self.set_line_mode(),
            Some(ModeRequest::LineAfter(used)) => self.set_line_mode_after(used, input),
            None => {}
        }
        if clear {
            self.clear_buffer();
            input.finish();
        }
    }
}
