//! Producers and flow control: how a fast writer learns to wait for a slow
//! reader.
//!
//! A *push* producer writes on its own initiative (a socket relaying another
//! socket) and is told to pause and resume. A *pull* producer writes one chunk
//! each time it is asked (a file sender). Either is registered on a transport,
//! which pauses a push producer when its write buffer grows above the high-water
//! mark and resumes it once the buffer drains to the low-water mark, and asks a
//! pull producer for more whenever the buffer drains.
//!
//! Producer methods take `&self`: the transport may call them while the
//! producer is itself writing (a write that crosses the high-water mark pauses
//! the writer at once), so implementations keep their state in `Cell`s rather
//! than relying on `&mut` exclusivity.
//!
//! [`FlowControl`] is the shared bookkeeping every transport implementation
//! uses (the reactor's sockets, TLS, the test doubles), so the rules live in
//! one place.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::errors::ProducerAlreadyRegistered;
use crate::failure::Failure;

/// A producer that writes on its own and can be paused (Twisted's `IPushProducer`).
pub trait PushProducer {
    /// Stop writing until [`resume_producing`](Self::resume_producing) is called.
    fn pause_producing(&self);
    /// Writing may go on.
    fn resume_producing(&self);
    /// The consumer is gone: stop for good and release resources.
    fn stop_producing(&self);
}

/// A producer that writes one chunk each time it is asked (Twisted's `IPullProducer`).
pub trait PullProducer {
    /// Write the next chunk to the consumer (or unregister when finished).
    fn resume_producing(&self);
    /// The consumer is gone: stop for good and release resources.
    fn stop_producing(&self);
}

/// A registered producer of either kind.
#[derive(Clone)]
pub enum Producer {
    /// Streaming: paused and resumed by the consumer.
    Push(Rc<dyn PushProducer>),
    /// Non-streaming: asked for each chunk.
    Pull(Rc<dyn PullProducer>),
}

impl Producer {
    /// Whether this is a push (streaming) producer.
    pub fn is_push(&self) -> bool {
        matches!(self, Producer::Push(_))
    }

    /// Tells the producer to stop for good.
    pub fn stop_producing(&self) {
        match self {
            Producer::Push(p) => p.stop_producing(),
            Producer::Pull(p) => p.stop_producing(),
        }
    }

    /// Whether two registrations are the same producer object.
    pub fn ptr_eq(&self, other: &Producer) -> bool {
        match (self, other) {
            (Producer::Push(a), Producer::Push(b)) => Rc::ptr_eq(a, b),
            (Producer::Pull(a), Producer::Pull(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_push() {
            "Producer::Push"
        } else {
            "Producer::Pull"
        })
    }
}

/// Write-buffer thresholds for pausing and resuming a push producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaterMarks {
    /// Pause the producer when more than this many bytes are buffered.
    pub high: usize,
    /// Resume it once the buffer has drained to this many bytes or fewer.
    pub low: usize,
}

impl WaterMarks {
    /// Thresholds `high` and `low`; `low` is clamped to at most `high`.
    pub fn new(high: usize, low: usize) -> Self {
        WaterMarks {
            high,
            low: low.min(high),
        }
    }
}

impl Default for WaterMarks {
    /// 64 KiB high, 16 KiB low: large enough to keep a socket busy, small
    /// enough that a thousand stalled connections stay under 64 MiB.
    fn default() -> Self {
        WaterMarks {
            high: 64 * 1024,
            low: 16 * 1024,
        }
    }
}

/// The producer bookkeeping of one transport: which producer is registered,
/// whether we paused it, and the water marks.
///
/// A transport calls [`after_write`](Self::after_write) with its buffered
/// byte count after buffering data and [`after_flush`](Self::after_flush)
/// after the buffer shrank. Producer methods are always called with no
/// borrow held, so a producer may write, unregister or register from inside
/// them.
#[derive(Default)]
pub struct FlowControl {
    producer: RefCell<Option<Producer>>,
    paused_by_us: Cell<bool>,
    marks: Cell<WaterMarks>,
}

impl FlowControl {
    /// Bookkeeping with the default water marks.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current water marks.
    pub fn water_marks(&self) -> WaterMarks {
        self.marks.get()
    }

    /// Changes the water marks; takes effect on the next write or flush.
    pub fn set_water_marks(&self, marks: WaterMarks) {
        self.marks.set(marks);
    }

    /// The registered producer, if any.
    pub fn producer(&self) -> Option<Producer> {
        self.producer.borrow().clone()
    }

    /// Whether the registered push producer is paused because of a full buffer.
    pub fn is_paused(&self) -> bool {
        self.paused_by_us.get()
    }

    /// Registers a producer. A pull producer is asked for its first chunk at
    /// once, as is a push producer registered while the buffer is already
    /// over the high-water mark paused at once (`buffered` is the current
    /// buffer size).
    pub fn register(&self, producer: Producer, buffered: usize) -> Result<(), Failure> {
        if self.producer.borrow().is_some() {
            return Err(Failure::new(ProducerAlreadyRegistered::new()));
        }
        *self.producer.borrow_mut() = Some(producer.clone());
        self.paused_by_us.set(false);
        match producer {
            Producer::Pull(p) => p.resume_producing(),
            Producer::Push(_) => self.after_write(buffered),
        }
        Ok(())
    }

    /// Forgets the producer without telling it anything.
    pub fn unregister(&self) -> Option<Producer> {
        self.paused_by_us.set(false);
        self.producer.borrow_mut().take()
    }

    /// Called after data was buffered: pauses a push producer above the high-water mark.
    pub fn after_write(&self, buffered: usize) {
        if self.paused_by_us.get() || buffered <= self.marks.get().high {
            return;
        }
        let producer = self.producer.borrow().clone();
        if let Some(Producer::Push(p)) = producer {
            self.paused_by_us.set(true);
            p.pause_producing();
        }
    }

    /// Called after the buffer shrank: resumes a paused push producer at or
    /// below the low-water mark, and asks a pull producer for more.
    pub fn after_flush(&self, buffered: usize) {
        if buffered > self.marks.get().low {
            return;
        }
        let producer = self.producer.borrow().clone();
        match producer {
            Some(Producer::Push(p)) if self.paused_by_us.get() => {
                self.paused_by_us.set(false);
                p.resume_producing();
            }
            Some(Producer::Pull(p)) => p.resume_producing(),
            _ => {}
        }
    }

    /// The connection is closing for good: unregisters the producer and
    /// tells it to stop.
    pub fn stop(&self) {
        if let Some(producer) = self.unregister() {
            producer.stop_producing();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder {
        events: RefCell<Vec<&'static str>>,
    }

    impl PushProducer for Recorder {
        fn pause_producing(&self) {
            self.events.borrow_mut().push("pause");
        }
        fn resume_producing(&self) {
            self.events.borrow_mut().push("resume");
        }
        fn stop_producing(&self) {
            self.events.borrow_mut().push("stop");
        }
    }

    impl PullProducer for Recorder {
        fn resume_producing(&self) {
            self.events.borrow_mut().push("more");
        }
        fn stop_producing(&self) {
            self.events.borrow_mut().push("stop");
        }
    }

    #[test]
    fn push_producer_paused_above_high_and_resumed_at_low() {
        let flow = FlowControl::new();
        flow.set_water_marks(WaterMarks::new(100, 10));
        let rec = Rc::new(Recorder::default());
        flow.register(Producer::Push(rec.clone()), 0).unwrap();
        flow.after_write(100);
        assert!(rec.events.borrow().is_empty(), "at the mark is not above it");
        flow.after_write(101);
        flow.after_write(500);
        assert_eq!(*rec.events.borrow(), ["pause"], "paused once");
        flow.after_flush(11);
        assert_eq!(*rec.events.borrow(), ["pause"]);
        flow.after_flush(10);
        flow.after_flush(0);
        assert_eq!(*rec.events.borrow(), ["pause", "resume"]);
        flow.stop();
        assert_eq!(*rec.events.borrow(), ["pause", "resume", "stop"]);
        assert!(flow.producer().is_none());
    }

    #[test]
    fn pull_producer_asked_on_register_and_each_drain() {
        let flow = FlowControl::new();
        let rec = Rc::new(Recorder::default());
        flow.register(Producer::Pull(rec.clone()), 0).unwrap();
        flow.after_flush(0);
        assert_eq!(*rec.events.borrow(), ["more", "more"]);
    }

    #[test]
    fn second_registration_is_refused() {
        let flow = FlowControl::new();
        let rec = Rc::new(Recorder::default());
        flow.register(Producer::Push(rec.clone()), 0).unwrap();
        let err = flow.register(Producer::Push(rec), 0).unwrap_err();
        assert!(err.is::<ProducerAlreadyRegistered>());
    }

    #[test]
    fn push_registered_on_a_full_buffer_is_paused_at_once() {
        let flow = FlowControl::new();
        flow.set_water_marks(WaterMarks::new(10, 5));
        let rec = Rc::new(Recorder::default());
        flow.register(Producer::Push(rec.clone()), 50).unwrap();
        assert_eq!(*rec.events.borrow(), ["pause"]);
    }
}
