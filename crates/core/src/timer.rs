//! [`TimerQueue`]: the timer heap behind every gyre clock.
//!
//! A binary min-heap ordered by (due time, scheduling sequence), with lazy
//! cancellation: cancelling or resetting a call only marks its heap entry as
//! stale, which costs O(1); stale entries are skipped when they reach the top
//! and the heap is compacted once more than half of it is stale, so memory
//! stays bounded under cancel-heavy loads (idle timeouts that are reset on
//! every read).
//!
//! [`TimerQueue::run_due`] runs due calls in order and never runs a call that
//! was scheduled (or reset) during the same pass, so a call scheduled for
//! "now" from inside a timer callback waits for the next pass.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallStatus {
    Pending,
    Called,
    Cancelled,
}

struct CallState {
    time: Cell<Instant>,
    /// The sequence number of this call's live heap entry.
    seq: Cell<u64>,
    status: Cell<CallStatus>,
    callback: RefCell<Option<Box<dyn FnOnce()>>>,
    queue: Weak<QueueShared>,
}

struct Entry {
    time: Instant,
    seq: u64,
    call: Rc<CallState>,
}

impl Entry {
    fn is_live(&self) -> bool {
        self.call.status.get() == CallStatus::Pending && self.call.seq.get() == self.seq
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest entry.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

#[derive(Default)]
struct QueueShared {
    heap: RefCell<BinaryHeap<Entry>>,
    next_seq: Cell<u64>,
    /// Heap entries that will be skipped (cancelled or superseded by a reset).
    stale: Cell<usize>,
}

impl Drop for QueueShared {
    /// Drops the callbacks of calls that will now never run, which breaks
    /// reference cycles between a pending call and the object it belongs to
    /// (a `LoopingCall` holds its next call, whose callback holds it).
    fn drop(&mut self) {
        for entry in self.heap.get_mut().drain() {
            let callback = entry.call.callback.borrow_mut().take();
            drop(callback);
        }
    }
}

/// Below this many stale entries the heap is never compacted.
const COMPACT_MIN_STALE: usize = 64;

impl QueueShared {
    fn push(&self, call: &Rc<CallState>, time: Instant) {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        call.seq.set(seq);
        call.time.set(time);
        self.heap.borrow_mut().push(Entry {
            time,
            seq,
            call: call.clone(),
        });
    }

    fn mark_stale(&self) {
        let stale = self.stale.get() + 1;
        self.stale.set(stale);
        let mut heap = self.heap.borrow_mut();
        if stale >= COMPACT_MIN_STALE && stale * 2 > heap.len() {
            heap.retain(Entry::is_live);
            self.stale.set(0);
        }
    }

    fn skip_stale(&self, entry: &Entry) -> bool {
        if entry.is_live() {
            return false;
        }
        self.stale.set(self.stale.get().saturating_sub(1));
        true
    }
}

/// The heap of scheduled calls of one clock.
///
/// Clock implementations (the reactor, `ManualClock`) own one and call
/// [`run_due`](Self::run_due) when time has moved on.
#[derive(Clone, Default)]
pub struct TimerQueue {
    shared: Rc<QueueShared>,
}

impl TimerQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `callback` to run at `time`.
    pub fn schedule_at(&self, time: Instant, callback: Box<dyn FnOnce()>) -> DelayedCall {
        let call = Rc::new(CallState {
            time: Cell::new(time),
            seq: Cell::new(0),
            status: Cell::new(CallStatus::Pending),
            callback: RefCell::new(Some(callback)),
            queue: Rc::downgrade(&self.shared),
        });
        self.shared.push(&call, time);
        DelayedCall { call }
    }

    /// When the earliest pending call is due, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut heap = self.shared.heap.borrow_mut();
        while let Some(top) = heap.peek() {
            if top.is_live() {
                return Some(top.time);
            }
            heap.pop();
            self.shared.stale.set(self.shared.stale.get().saturating_sub(1));
        }
        None
    }

    /// Runs every call due at or before `now`, earliest first (calls due at
    /// the same time run in the order they were scheduled). Calls scheduled
    /// or reset while this runs wait for the next pass. Returns how many ran.
    pub fn run_due(&self, now: Instant) -> usize {
        let limit = self.shared.next_seq.get();
        let mut set_aside = Vec::new();
        let mut ran = 0;
        loop {
            let entry = {
                let mut heap = self.shared.heap.borrow_mut();
                match heap.peek() {
                    Some(top) if top.time <= now => heap.pop().expect("peeked"),
                    _ => break,
                }
            };
            if self.shared.skip_stale(&entry) {
                continue;
            }
            if entry.seq >= limit {
                set_aside.push(entry);
                continue;
            }
            entry.call.status.set(CallStatus::Called);
            let callback = entry.call.callback.borrow_mut().take();
            drop(entry);
            if let Some(callback) = callback {
                ran += 1;
                callback();
            }
        }
        if !set_aside.is_empty() {
            self.shared.heap.borrow_mut().extend(set_aside);
        }
        ran
    }

    /// How many calls are pending.
    pub fn len(&self) -> usize {
        self.shared.heap.borrow().iter().filter(|e| e.is_live()).count()
    }

    /// Whether no call is pending.
    pub fn is_empty(&self) -> bool {
        self.next_deadline().is_none()
    }

    /// The pending calls, earliest first.
    pub fn pending(&self) -> Vec<DelayedCall> {
        let heap = self.shared.heap.borrow();
        let mut live: Vec<&Entry> = heap.iter().filter(|e| e.is_live()).collect();
        live.sort_by(|a, b| b.cmp(a));
        live.into_iter()
            .map(|e| DelayedCall { call: e.call.clone() })
            .collect()
    }

    /// Heap entries including stale ones; for tests of the compaction bound.
    pub fn heap_len(&self) -> usize {
        self.shared.heap.borrow().len()
    }
}

/// A handle to a scheduled call (Twisted's `IDelayedCall`).
#[derive(Clone)]
pub struct DelayedCall {
    call: Rc<CallState>,
}

impl DelayedCall {
    /// Cancels the call. Returns whether it was still pending.
    pub fn cancel(&self) -> bool {
        if !self.active() {
            return false;
        }
        self.call.status.set(CallStatus::Cancelled);
        let callback = self.call.callback.borrow_mut().take();
        if let Some(queue) = self.call.queue.upgrade() {
            queue.mark_stale();
        }
        drop(callback);
        true
    }

    /// Moves the call to `delay` after `now`. Returns whether it was still
    /// pending (a call that ran or was cancelled stays so).
    pub fn reset_at(&self, time: Instant) -> bool {
        let Some(queue) = self.call.queue.upgrade() else {
            return false;
        };
        if !self.active() {
            return false;
        }
        queue.mark_stale();
        queue.push(&self.call, time);
        true
    }

    /// Moves the call to `delay` after `now` (the clock's current time).
    pub fn reset(&self, now: Instant, delay: Duration) -> bool {
        self.reset_at(now + delay)
    }

    /// Postpones the call by `extra`. Returns whether it was still pending.
    pub fn delay(&self, extra: Duration) -> bool {
        self.reset_at(self.call.time.get() + extra)
    }

    /// Whether the call is still pending.
    pub fn active(&self) -> bool {
        self.call.status.get() == CallStatus::Pending
    }

    /// Whether the call has run.
    pub fn called(&self) -> bool {
        self.call.status.get() == CallStatus::Called
    }

    /// Whether the call was cancelled.
    pub fn cancelled(&self) -> bool {
        self.call.status.get() == CallStatus::Cancelled
    }

    /// When the call is (or was) due.
    pub fn time(&self) -> Instant {
        self.call.time.get()
    }
}

impl fmt::Debug for DelayedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelayedCall")
            .field("time", &self.time())
            .field("status", &self.call.status.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> Rc<RefCell<Vec<u32>>> {
        Rc::new(RefCell::new(Vec::new()))
    }

    fn push(log: &Rc<RefCell<Vec<u32>>>, n: u32) -> Box<dyn FnOnce()> {
        let log = log.clone();
        Box::new(move || log.borrow_mut().push(n))
    }

    #[test]
    fn runs_due_calls_in_time_then_schedule_order() {
        let q = TimerQueue::new();
        let t0 = Instant::now();
        let out = log();
        q.schedule_at(t0 + Duration::from_secs(2), push(&out, 3));
        q.schedule_at(t0 + Duration::from_secs(1), push(&out, 1));
        q.schedule_at(t0 + Duration::from_secs(1), push(&out, 2));
        q.schedule_at(t0 + Duration::from_secs(5), push(&out, 9));
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(q.run_due(t0 + Duration::from_secs(2)), 3);
        assert_eq!(*out.borrow(), [1, 2, 3]);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn cancel_and_reset() {
        let q = TimerQueue::new();
        let t0 = Instant::now();
        let out = log();
        let a = q.schedule_at(t0 + Duration::from_secs(1), push(&out, 1));
        let b = q.schedule_at(t0 + Duration::from_secs(2), push(&out, 2));
        assert!(a.cancel());
        assert!(!a.cancel(), "second cancel reports it was not pending");
        assert!(b.reset_at(t0 + Duration::from_secs(10)));
        assert!(b.delay(Duration::from_secs(1)));
        assert_eq!(b.time(), t0 + Duration::from_secs(11));
        assert_eq!(q.run_due(t0 + Duration::from_secs(10)), 0);
        assert_eq!(q.run_due(t0 + Duration::from_secs(11)), 1);
        assert!(b.called() && !b.active());
        assert!(a.cancelled());
        assert!(!b.reset_at(t0), "a call that ran cannot be reset");
        assert_eq!(*out.borrow(), [2]);
        assert_eq!(q.heap_len(), 0);
    }

    #[test]
    fn calls_scheduled_during_a_pass_wait_for_the_next() {
        let q = TimerQueue::new();
        let t0 = Instant::now();
        let out = log();
        let inner_q = q.clone();
        let inner_out = out.clone();
        q.schedule_at(
            t0,
            Box::new(move || {
                inner_out.borrow_mut().push(1);
                inner_q.schedule_at(t0, push(&inner_out, 2));
            }),
        );
        assert_eq!(q.run_due(t0), 1);
        assert_eq!(*out.borrow(), [1]);
        assert_eq!(q.run_due(t0), 1);
        assert_eq!(*out.borrow(), [1, 2]);
    }

    #[test]
    fn a_callback_may_cancel_a_later_call() {
        let q = TimerQueue::new();
        let t0 = Instant::now();
        let out = log();
        let later = q.schedule_at(t0, push(&out, 2));
        let first = q.schedule_at(t0 - Duration::from_millis(1), {
            let later = later.clone();
            Box::new(move || {
                later.cancel();
            })
        });
        assert_eq!(q.run_due(t0), 1);
        assert!(first.called());
        assert!(out.borrow().is_empty());
    }

    #[test]
    fn stale_entries_are_compacted() {
        let q = TimerQueue::new();
        let t0 = Instant::now();
        let keep = q.schedule_at(t0 + Duration::from_secs(1), Box::new(|| {}));
        for i in 0..10_000u64 {
            let call = q.schedule_at(t0 + Duration::from_millis(i), Box::new(|| {}));
            call.cancel();
            keep.delay(Duration::from_millis(1));
        }
        assert!(q.heap_len() < 200, "heap holds {} entries", q.heap_len());
        assert_eq!(q.len(), 1);
    }
}
