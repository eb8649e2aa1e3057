//! The inetd services over TCP (Twisted's `twisted.protocols.wire`), each a
//! [`Protocol`] and a factory function.
//!
//! Both endless services are flow-controlled, so a client that does not
//! read cannot make the server buffer without bound: chargen writes only
//! when its transport asks for more (a pull producer), and echo registers
//! its own transport as the producer of what it writes back, so reading
//! pauses while the echoed bytes wait.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gyre_core::producer::{Producer, PullProducer};
use gyre_core::{Address, Protocol, SharedFactory, Transport, protocol_factory};

use crate::inetd::pattern::{ChargenPattern, Quote, WallClock, daytime_line, rfc868_time};

/// Bytes chargen writes each time its transport asks for more: under the
/// default low-water mark, so every drain asks again.
pub const CHARGEN_CHUNK: usize = 8 * 1024;

/// RFC 862: sends back whatever arrives.
#[derive(Debug, Default)]
pub struct Echo;

impl Protocol for Echo {
    fn connection_made(&mut self, transport: &Transport) {
        // Reading pauses while the echo waits above the high-water mark.
        let _ = transport.register_producer(Producer::Push(Rc::new(transport.clone())));
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// RFC 863: reads and throws away.
#[derive(Debug, Default)]
pub struct Discard;

impl Protocol for Discard {
    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

/// Writes the chargen stream, one chunk each time the transport asks.
struct ChargenProducer {
    transport: Transport,
    pattern: RefCell<ChargenPattern>,
    buffer: RefCell<Vec<u8>>,
    stopped: Cell<bool>,
}

impl PullProducer for ChargenProducer {
    fn resume_producing(&self) {
        if self.stopped.get() {
            return;
        }
        let mut buffer = std::mem::take(&mut *self.buffer.borrow_mut());
        buffer.clear();
        self.pattern.borrow_mut().fill(&mut buffer, CHARGEN_CHUNK);
        self.transport.write(&buffer);
        *self.buffer.borrow_mut() = buffer;
    }

    fn stop_producing(&self) {
        self.stopped.set(true);
    }
}

/// RFC 864: sends the character pattern until the client closes,
/// discarding what it receives.
#[derive(Default)]
pub struct Chargen {
    producer: Option<Rc<ChargenProducer>>,
}

impl Protocol for Chargen {
    fn connection_made(&mut self, transport: &Transport) {
        let producer = Rc::new(ChargenProducer {
            transport: transport.clone(),
            pattern: RefCell::new(ChargenPattern::new()),
            buffer: RefCell::new(Vec::with_capacity(CHARGEN_CHUNK)),
            stopped: Cell::new(false),
        });
        if transport
            .register_producer(Producer::Pull(producer.clone()))
            .is_err()
        {
            transport.lose_connection();
        }
        self.producer = Some(producer);
    }

    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}

    fn connection_lost(&mut self, transport: &Transport, _reason: gyre_core::Failure) {
        if let Some(producer) = self.producer.take() {
            producer.stop_producing();
            transport.unregister_producer();
        }
    }
}

/// RFC 867: sends the date and time as a line, then closes.
#[derive(Debug, Default)]
pub struct Daytime {
    clock: WallClock,
}

impl Daytime {
    /// Tells the time of `clock`.
    pub fn new(clock: WallClock) -> Self {
        Daytime { clock }
    }
}

impl Protocol for Daytime {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(daytime_line(self.clock.now()).as_bytes());
        transport.lose_connection();
    }

    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

/// RFC 868: sends the seconds since 1900 as a 32-bit big-endian number,
/// then closes.
#[derive(Debug, Default)]
pub struct Time {
    clock: WallClock,
}

impl Time {
    /// Tells the time of `clock`.
    pub fn new(clock: WallClock) -> Self {
        Time { clock }
    }
}

impl Protocol for Time {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(&rfc868_time(self.clock.now()).to_be_bytes());
        transport.lose_connection();
    }

    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

/// RFC 865: sends the quote, then closes.
#[derive(Debug, Default)]
pub struct Qotd {
    quote: Quote,
}

impl Qotd {
    /// Sends `quote`.
    pub fn new(quote: Quote) -> Self {
        Qotd { quote }
    }
}

impl Protocol for Qotd {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(self.quote.as_bytes());
        transport.lose_connection();
    }

    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

/// A factory of [`Echo`].
pub fn echo_factory() -> SharedFactory {
    SharedFactory::new(protocol_factory(|_: &Address| Echo))
}

/// A factory of [`Discard`].
pub fn discard_factory() -> SharedFactory {
    SharedFactory::new(protocol_factory(|_: &Address| Discard))
}

/// A factory of [`Chargen`].
pub fn chargen_factory() -> SharedFactory {
    SharedFactory::new(protocol_factory(|_: &Address| Chargen::default()))
}

/// A factory of [`Daytime`] telling `clock`'s time.
pub fn daytime_factory(clock: WallClock) -> SharedFactory {
    SharedFactory::new(protocol_factory(move |_: &Address| Daytime::new(clock.clone())))
}

/// A factory of [`Time`] telling `clock`'s time.
pub fn time_factory(clock: WallClock) -> SharedFactory {
    SharedFactory::new(protocol_factory(move |_: &Address| Time::new(clock.clone())))
}

/// A factory of [`Qotd`] sending `quote`.
pub fn qotd_factory(quote: Quote) -> SharedFactory {
    SharedFactory::new(protocol_factory(move |_: &Address| Qotd::new(quote.clone())))
}
