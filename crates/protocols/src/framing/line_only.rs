//! [`LineOnlyReceiver`]: lines and nothing else, for a [`LineOnlyHandler`]
//! (Twisted's `LineOnlyReceiver`).

use gyre_core::{Failure, Transport};

use super::error::LineTooLong;
use super::line_decoder::{LineDecoder, LineEvent};
use super::lines::send_line;
use super::macros::{context_methods, receiver_protocol};
use super::receiver::{Common, Core, Deliver};

/// What a protocol made only of lines implements; [`LineOnlyReceiver`]
/// calls it. No raw mode: one callback for lines, one for the limit.
pub trait LineOnlyHandler: 'static {
    /// The connection is up; nothing was received yet.
    fn connection_made(&mut self, cx: &mut LineOnlyContext<'_>) {
        let _ = cx;
    }

    /// One line, without its delimiter.
    fn line_received(&mut self, cx: &mut LineOnlyContext<'_>, line: &[u8]);

    /// A line went over the maximum length; `line` is what was received of
    /// it. The default closes the connection with [`LineTooLong`]; a handler
    /// that does not close goes on receiving the lines after it.
    fn line_length_exceeded(&mut self, cx: &mut LineOnlyContext<'_>, line: &[u8]) {
        let error = LineTooLong::new(cx.max_length(), line.len());
        cx.close_with(error);
    }

    /// The peer finished sending (end of file). The default closes our side.
    fn read_connection_lost(&mut self, cx: &mut LineOnlyContext<'_>) {
        cx.lose_connection();
    }

    /// The connection ended, with the framing error if the receiver closed it.
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        let _ = (transport, reason);
    }
}

/// What a [`LineOnlyHandler`] callback can do with its connection.
pub struct LineOnlyContext<'a> {
    common: Common<'a>,
    delimiter: &'a [u8],
    max_length: usize,
}

context_methods!(LineOnlyContext);

impl LineOnlyContext<'_> {
    /// Writes `line` and the delimiter, in one write.
    pub fn send_line(&self, line: &[u8]) {
        send_line(self.common.transport, line, self.delimiter);
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

/// A `Protocol` that splits what it receives into lines for a
/// [`LineOnlyHandler`] (Twisted's `LineOnlyReceiver`): the same limits,
/// pausing and zero-copy delivery as [`LineReceiver`](super::LineReceiver),
/// with nothing to switch, so a handler has one method to write.
///
/// ```
/// use gyre_protocols::framing::{LineOnlyContext, LineOnlyHandler, LineOnlyReceiver};
///
/// /// Answers each line with its length; `QUIT` hangs up.
/// struct Lengths;
///
/// impl LineOnlyHandler for Lengths {
///     fn line_received(&mut self, cx: &mut LineOnlyContext<'_>, line: &[u8]) {
///         if line == b"QUIT" {
///             return cx.lose_connection();
///         }
///         cx.send_line(line.len().to_string().as_bytes());
///     }
/// }
///
/// let run = gyre_testing::feed_chunked(|| LineOnlyReceiver::new(Lengths), b"hello\r\n\r\nQUIT\r\nnot read\r\n");
/// assert_eq!(run.written, b"5\r\n0\r\n");
/// assert!(run.closed);
/// ```
pub struct LineOnlyReceiver<H: LineOnlyHandler> {
    core: std::rc::Rc<Core<LineDecoder, LineOnly<H>>>,
}

/// A [`LineOnlyHandler`] as the runtime drives it.
struct LineOnly<H> {
    handler: H,
    delimiter: Box<[u8]>,
    max_length: usize,
}

impl<H: LineOnlyHandler> LineOnlyReceiver<H> {
    /// A receiver with Twisted's defaults: `\r\n`, lines up to 16,384 bytes.
    pub fn new(handler: H) -> Self {
        Self::with_decoder(LineDecoder::new(), handler)
    }

    /// A receiver whose delimiter and limits are `decoder`'s (put back in
    /// line mode if it was not).
    pub fn with_decoder(mut decoder: LineDecoder, handler: H) -> Self {
        decoder.set_line_mode();
        let lines = LineOnly {
            handler,
            delimiter: decoder.delimiter().into(),
            max_length: decoder.max_length(),
        };
        LineOnlyReceiver {
            core: Core::new(decoder, lines),
        }
    }
}

receiver_protocol!(LineOnlyReceiver, LineOnlyHandler);

impl<H> LineOnly<H> {
    /// The handler and a context for one callback.
    fn parts<'a>(&'a mut self, common: Common<'a>) -> (&'a mut H, LineOnlyContext<'a>) {
        let cx = LineOnlyContext {
            common,
            delimiter: &self.delimiter,
            max_length: self.max_length,
        };
        (&mut self.handler, cx)
    }
}

impl<H: LineOnlyHandler> Deliver<LineDecoder> for LineOnly<H> {
    fn connection_made(&mut self, common: Common<'_>) {
        let (handler, mut cx) = self.parts(common);
        handler.connection_made(&mut cx);
    }

    fn frame(&mut self, common: Common<'_>, frame: LineEvent<'_>) {
        let (handler, mut cx) = self.parts(common);
        match frame {
            LineEvent::Line(line) => handler.line_received(&mut cx, line),
            LineEvent::TooLong(line) => handler.line_length_exceeded(&mut cx, line),
            // Nothing can switch this receiver's decoder to raw mode.
            LineEvent::Raw(_) => {}
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
