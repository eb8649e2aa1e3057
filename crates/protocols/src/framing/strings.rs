//! [`IntStringReceiver`] and [`NetstringReceiver`]: length-framed strings
//! for a [`StringHandler`] (Twisted's `Int8/16/32StringReceiver` and
//! `NetstringReceiver`, which share `stringReceived` the same way).

use std::io::IoSlice;

use gyre_core::{Failure, Transport};

use super::error::{BufferLimitExceeded, LengthLimitExceeded, StringTooLong};
use super::input::Input;
use super::int_decoder::{IntDecoder, IntEvent, Prefix};
use super::macros::{context_methods, receiver_protocol};
use super::netstring_decoder::{NetstringDecoder, NetstringHeader};
use super::receiver::{Common, Core, Decode, Deliver};

/// What a protocol of framed strings implements; [`IntStringReceiver`] and
/// [`NetstringReceiver`] call it, so one handler runs over either framing.
pub trait StringHandler: 'static {
    /// The connection is up; nothing was received yet.
    fn connection_made(&mut self, cx: &mut StringContext<'_>) {
        let _ = cx;
    }

    /// One whole string.
    fn string_received(&mut self, cx: &mut StringContext<'_>, string: &[u8]);

    /// A length prefix announced more than the maximum length (only
    /// length-prefixed framing calls this; an over-long netstring is a
    /// [`NetstringError`](super::NetstringError)). The default closes the
    /// connection with `error`, as Twisted's closes it; a handler that does
    /// not close goes on with the next string, the long one being skipped
    /// without being buffered.
    fn length_limit_exceeded(&mut self, cx: &mut StringContext<'_>, error: LengthLimitExceeded) {
        cx.close_with(error);
    }

    /// The peer finished sending (end of file). The default closes our side.
    fn read_connection_lost(&mut self, cx: &mut StringContext<'_>) {
        cx.lose_connection();
    }

    /// The connection ended, with the framing error if the receiver closed
    /// it (a [`NetstringError`](super::NetstringError), a
    /// [`LengthLimitExceeded`]).
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        let _ = (transport, reason);
    }
}

/// How [`StringContext::send_string`] frames what it sends.
#[derive(Debug, Clone, Copy)]
enum Framing {
    Int(Prefix),
    Netstring,
}

/// What a [`StringHandler`] callback can do with its connection.
pub struct StringContext<'a> {
    common: Common<'a>,
    framing: Framing,
    max_length: usize,
}

context_methods!(StringContext);

impl StringContext<'_> {
    /// Sends `string` framed as this receiver frames strings, in one write
    /// (Twisted's `sendString`). A length prefix refuses a string longer
    /// than it can announce, sending nothing; netstrings take any length.
    pub fn send_string(&self, string: &[u8]) -> Result<(), StringTooLong> {
        let transport = self.common.transport;
        match self.framing {
            Framing::Int(prefix) => {
                let header = prefix.encode(string.len())?;
                transport.write_vectored(&[IoSlice::new(header.as_bytes()), IoSlice::new(string)]);
            }
            Framing::Netstring => {
                let header = NetstringHeader::new(string.len());
                transport.write_vectored(&[
                    IoSlice::new(header.as_bytes()),
                    IoSlice::new(string),
                    IoSlice::new(b","),
                ]);
            }
        }
        Ok(())
    }

    /// The longest string this receiver accepts.
    pub fn max_length(&self) -> usize {
        self.max_length
    }
}

/// A [`StringHandler`] as the runtime drives it.
struct Strings<H> {
    handler: H,
    framing: Framing,
    max_length: usize,
}

impl<H> Strings<H> {
    /// The handler and a context for one callback.
    fn parts<'a>(&'a mut self, common: Common<'a>) -> (&'a mut H, StringContext<'a>) {
        let cx = StringContext {
            common,
            framing: self.framing,
            max_length: self.max_length,
        };
        (&mut self.handler, cx)
    }
}

impl<H: StringHandler> Strings<H> {
    fn made(&mut self, common: Common<'_>) {
        let (handler, mut cx) = self.parts(common);
        handler.connection_made(&mut cx);
    }

    fn end_of_file(&mut self, common: Common<'_>) {
        let (handler, mut cx) = self.parts(common);
        handler.read_connection_lost(&mut cx);
    }
}

/// A `Protocol` that splits what it receives into length-prefixed strings
/// for a [`StringHandler`] (Twisted's `Int32StringReceiver` and its 8- and
/// 16-bit siblings).
///
/// ```
/// use gyre_protocols::framing::{IntStringReceiver, Prefix, StringContext, StringHandler};
///
/// /// Answers each string reversed.
/// struct Reverse;
///
/// impl StringHandler for Reverse {
///     fn string_received(&mut self, cx: &mut StringContext<'_>, string: &[u8]) {
///         let reversed: Vec<u8> = string.iter().rev().copied().collect();
///         cx.send_string(&reversed).expect("shorter than 4 GiB");
///     }
/// }
///
/// let run = gyre_testing::feed_chunked(
///     || IntStringReceiver::new(Prefix::U32, Reverse),
///     b"\0\0\0\x03abc\0\0\0\0",
/// );
/// assert_eq!(run.written, b"\0\0\0\x03cba\0\0\0\0");
/// ```
pub struct IntStringReceiver<H: StringHandler> {
    core: std::rc::Rc<Core<IntDecoder, Strings<H>>>,
}

impl<H: StringHandler> IntStringReceiver<H> {
    /// A receiver for `prefix`-framed strings up to Twisted's 99,999 bytes.
    pub fn new(prefix: Prefix, handler: H) -> Self {
        Self::with_decoder(IntDecoder::new(prefix), handler)
    }

    /// A receiver whose prefix and limits are `decoder`'s.
    pub fn with_decoder(decoder: IntDecoder, handler: H) -> Self {
        let strings = Strings {
            handler,
            framing: Framing::Int(decoder.prefix()),
            max_length: decoder.max_length(),
        };
        IntStringReceiver {
            core: Core::new(decoder, strings),
        }
    }
}

receiver_protocol!(IntStringReceiver, StringHandler);

impl<H: StringHandler> Deliver<IntDecoder> for Strings<H> {
    fn connection_made(&mut self, common: Common<'_>) {
        self.made(common);
    }

    fn frame(&mut self, common: Common<'_>, frame: IntEvent<'_>) {
        let limit = self.max_length;
        let (handler, mut cx) = self.parts(common);
        match frame {
            IntEvent::String(string) => handler.string_received(&mut cx, string),
            IntEvent::TooLong { length } => {
                handler.length_limit_exceeded(&mut cx, LengthLimitExceeded::new(length, limit))
            }
        }
    }

    fn read_connection_lost(&mut self, common: Common<'_>) {
        self.end_of_file(common);
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        self.handler.connection_lost(transport, reason);
    }
}

impl Decode for IntDecoder {
    type Frame<'a> = IntEvent<'a>;
    const WHAT: &'static str = "length-prefixed string";

    fn next<'s, 'd: 's>(&'s mut self, input: &mut Input<'d>) -> Result<Option<IntEvent<'s>>, Failure> {
        Ok(self.decode(input))
    }

    fn hold(&mut self, input: &mut Input<'_>) -> Result<(), BufferLimitExceeded> {
        IntDecoder::hold(self, input)
    }

    fn mid_frame(&self) -> bool {
        self.is_mid_frame()
    }
}

/// A `Protocol` that splits what it receives into netstrings for a
/// [`StringHandler`] (Twisted's `NetstringReceiver`). A malformed netstring
/// closes the connection, and `connection_lost` receives the
/// [`NetstringError`](super::NetstringError).
///
/// ```
/// use gyre_core::Failure;
/// use gyre_protocols::framing::{NetstringError, NetstringReceiver, StringContext, StringHandler};
///
/// #[derive(Default)]
/// struct Collect {
///     strings: Vec<Vec<u8>>,
///     reason: Option<Failure>,
/// }
///
/// impl StringHandler for Collect {
///     fn string_received(&mut self, _: &mut StringContext<'_>, string: &[u8]) {
///         self.strings.push(string.to_vec());
///     }
///     fn connection_lost(&mut self, _: &gyre_core::Transport, reason: Failure) {
///         self.reason = Some(reason);
///     }
/// }
///
/// let mut conn = gyre_testing::StringTransportWithDisconnection::new(NetstringReceiver::new(Collect::default()));
/// conn.data_received(b"3:abc,0:,2:xyz,");
/// let handler = conn.protocol().handler();
/// assert_eq!(handler.strings, [b"abc".to_vec(), b"".to_vec()]);
/// assert!(handler.reason.as_ref().unwrap().is::<NetstringError>(), "missing comma");
/// ```
pub struct NetstringReceiver<H: StringHandler> {
    core: std::rc::Rc<Core<NetstringDecoder, Strings<H>>>,
}

impl<H: StringHandler> NetstringReceiver<H> {
    /// A receiver for netstrings up to Twisted's 99,999 bytes.
    pub fn new(handler: H) -> Self {
        Self::with_decoder(NetstringDecoder::new(), handler)
    }

    /// A receiver whose limits are `decoder`'s.
    pub fn with_decoder(decoder: NetstringDecoder, handler: H) -> Self {
        let strings = Strings {
            handler,
            framing: Framing::Netstring,
            max_length: decoder.max_length(),
        };
        NetstringReceiver {
            core: Core::new(decoder, strings),
        }
    }
}

receiver_protocol!(NetstringReceiver, StringHandler);

impl<H: StringHandler> Deliver<NetstringDecoder> for Strings<H> {
    fn connection_made(&mut self, common: Common<'_>) {
        self.made(common);
    }

    fn frame(&mut self, common: Common<'_>, string: &[u8]) {
        let (handler, mut cx) = self.parts(common);
        handler.string_received(&mut cx, string);
    }

    fn read_connection_lost(&mut self, common: Common<'_>) {
        self.end_of_file(common);
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        self.handler.connection_lost(transport, reason);
    }
}

impl Decode for NetstringDecoder {
    type Frame<'a> = &'a [u8];
    const WHAT: &'static str = "netstring";

    fn next<'s, 'd: 's>(&'s mut self, input: &mut Input<'d>) -> Result<Option<&'s [u8]>, Failure> {
        self.decode(input).map_err(Failure::new)
    }

    fn hold(&mut self, input: &mut Input<'_>) -> Result<(), BufferLimitExceeded> {
        NetstringDecoder::hold(self, input)
    }

    fn mid_frame(&self) -> bool {
        self.is_mid_frame()
    }
}
