//! The per-connection state machine of [`Throttle`](super::Throttle):
//! read counting and pausing, the held write queue and its release, the
//! wrapped protocol's producer, and closes that wait for held bytes. All of
//! its transitions are in this file.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::IoSlice;
use std::rc::{Rc, Weak};
use std::time::Duration;

use gyre_core::producer::{FlowControl, Producer, WaterMarks};
use gyre_core::transport::ConnectionState;
use gyre_core::{Clock, ClockExt, DelayedCall, Failure, Transport};

use crate::policies::throttle::ThrottleBacklogFull;
use crate::policies::wrap::{Link, Policy};

/// What one connection's throttle is configured with (budgets per period).
pub(crate) struct ThrottleSettings {
    pub(crate) clock: Rc<dyn Clock>,
    pub(crate) period: Duration,
    pub(crate) read_budget: Option<u64>,
    pub(crate) write_budget: Option<u64>,
    pub(crate) max_held: usize,
}

/// A close the wrapped protocol asked for while bytes were held.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PendingClose {
    None,
    Lose,
    LoseWrite,
}

/// The throttle of one connection.
pub struct Throttled {
    state: Rc<ThrottleState>,
}

struct ThrottleState {
    clock: Rc<dyn Clock>,
    period: Duration,
    read_budget: Option<u64>,
    write_budget: Option<u64>,
    max_held: usize,
    /// Bytes read and not yet paid for by a tick (may exceed the budget).
    read_used: Cell<u64>,
    paused_by_us: Cell<bool>,
    paused_by_app: Cell<bool>,
    /// What may still be written in this period.
    write_left: Cell<u64>,
    /// Bytes written above and not yet let through, oldest first.
    held: RefCell<VecDeque<u8>>,
    /// The wrapped protocol's producer, regulated by held + below's buffer.
    flow: FlowControl,
    pending_close: Cell<PendingClose>,
    tick: RefCell<Option<DelayedCall>>,
    below: RefCell<Option<Transport>>,
    backlog_full: Cell<bool>,
    ended: Cell<bool>,
}

impl Throttled {
    pub(crate) fn new(settings: ThrottleSettings) -> Self {
        Throttled {
            state: Rc::new(ThrottleState {
                clock: settings.clock,
                period: settings.period,
                read_budget: settings.read_budget,
                write_budget: settings.write_budget,
                max_held: settings.max_held,
                read_used: Cell::new(0),
                paused_by_us: Cell::new(false),
                paused_by_app: Cell::new(false),
                write_left: Cell::new(settings.write_budget.unwrap_or(0)),
                held: RefCell::new(VecDeque::new()),
                flow: FlowControl::new(),
                pending_close: Cell::new(PendingClose::None),
                tick: RefCell::new(None),
                below: RefCell::new(None),
                backlog_full: Cell::new(false),
                ended: Cell::new(false),
            }),
        }
    }

    /// Bytes written by the wrapped protocol and held back by the throttle.
    pub fn held(&self) -> usize {
        self.state.held_len()
    }

    /// Whether reading is paused because the read budget is used up.
    pub fn is_reading_throttled(&self) -> bool {
        self.state.paused_by_us.get()
    }
}

impl ThrottleState {
    fn below(&self) -> Option<Transport> {
        self.below.borrow().clone()
    }

    fn held_len(&self) -> usize {
        self.held.borrow().len()
    }

    /// Drops every held byte, and the memory they took.
    fn drop_held(&self) {
        *self.held.borrow_mut() = VecDeque::new();
    }

    fn buffered(&self, below: &Transport) -> usize {
        self.held_len() + below.buffered_len()
    }

    fn needs_tick(&self) -> bool {
        self.read_used.get() > 0
            || self.paused_by_us.get()
            || self.held_len() > 0
            || self
                .write_budget
                .is_some_and(|budget| self.write_left.get() < budget)
            || self.producer_waiting()
    }

    /// Whether the wrapped protocol's producer waits for the buffers to
    /// drain: then the tick keeps looking, as the transport below does not
    /// tell the throttle when it drains.
    fn producer_waiting(&self) -> bool {
        let Some(below) = self.below() else { return false };
        match self.flow.producer() {
            Some(Producer::Push(_)) => self.flow.is_paused(),
            Some(Producer::Pull(_)) => self.buffered(&below) > self.flow.water_marks().low,
            None => false,
        }
    }

    fn ensure_tick(self: &Rc<Self>) {
        if self.ended.get() || self.tick.borrow().is_some() || !self.needs_tick() {
            return;
        }
        let weak: Weak<ThrottleState> = Rc::downgrade(self);
        let call = self.clock.call_later(self.period, move || {
            if let Some(state) = weak.upgrade() {
                state.on_tick();
            }
        });
        *self.tick.borrow_mut() = Some(call);
    }

    /// A period ended: pay for reads, refill the write budget, release.
    fn on_tick(self: &Rc<Self>) {
        self.tick.borrow_mut().take();
        let Some(below) = self.below() else { return };
        if let Some(budget) = self.read_budget {
            self.read_used.set(self.read_used.get().saturating_sub(budget));
            if self.paused_by_us.get() && self.read_used.get() < budget {
                self.paused_by_us.set(false);
                if !self.paused_by_app.get() {
                    below.resume_reading();
                }
            }
        }
        if let Some(budget) = self.write_budget {
            self.write_left.set(budget);
            self.release(&below);
        }
        self.ensure_tick();
    }

    /// Writes held bytes, in order, as far as the budget goes. They are
    /// copied out first: no borrow is held while the transport below runs.
    fn release(&self, below: &Transport) {
        let out = {
            let mut held = self.held.borrow_mut();
            let take = held.len().min(budget_bytes(self.write_left.get()));
            self.write_left.set(self.write_left.get() - take as u64);
            let (front, back) = held.as_slices();
            let from_front = take.min(front.len());
            let mut out = Vec::with_capacity(take);
            out.extend_from_slice(&front[..from_front]);
            out.extend_from_slice(&back[..take - from_front]);
            held.drain(..take);
            if held.is_empty() && held.capacity() > RETAINED_CAPACITY {
                *held = VecDeque::new();
            }
            out
        };
        if !out.is_empty() {
            below.write(&out);
        }
        self.flow.after_flush(self.buffered(below));
        if self.held_len() == 0 {
            match self.pending_close.replace(PendingClose::None) {
                PendingClose::None => {}
                PendingClose::Lose => below.lose_connection(),
                PendingClose::LoseWrite => below.lose_write_connection(),
            }
        }
    }
}

/// An emptied held queue keeps at most this much capacity.
const RETAINED_CAPACITY: usize = 4096;

/// A budget in bytes, as a length.
fn budget_bytes(budget: u64) -> usize {
    usize::try_from(budget).unwrap_or(usize::MAX)
}

/// Writes the first `count` bytes of `bufs` (`total` in all) to `below`.
fn write_prefix(below: &Transport, bufs: &[IoSlice<'_>], count: usize, total: usize) {
    if count == total {
        return below.write_vectored(bufs);
    }
    let mut now = Vec::new();
    let mut left = count;
    for buf in bufs {
        if left == 0 {
            break;
        }
        let take = buf.len().min(left);
        now.push(IoSlice::new(&buf[..take]));
        left -= take;
    }
    if !now.is_empty() {
        below.write_vectored(&now);
    }
}

/// Appends what follows the first `skip` bytes of `bufs` to `held`.
fn hold_rest(held: &mut VecDeque<u8>, bufs: &[IoSlice<'_>], mut skip: usize) {
    for buf in bufs {
        let from = buf.len().min(skip);
        skip -= from;
        held.extend(&buf[from..]);
    }
}

impl Policy for Throttled {
    fn connection_made(&self, link: Link<'_>) {
        *self.state.below.borrow_mut() = Some(link.below().clone());
    }

    fn data_received(&self, link: Link<'_>, data: &[u8]) {
        let state = &self.state;
        let Some(budget) = state.read_budget else { return };
        state
            .read_used
            .set(state.read_used.get().saturating_add(data.len() as u64));
        if state.read_used.get() >= budget && !state.paused_by_us.replace(true) && !state.paused_by_app.get()
        {
            link.below().pause_reading();
        }
        state.ensure_tick();
    }

    fn connection_lost(&self, _link: Link<'_>, reason: Failure) -> Failure {
        let state = &self.state;
        state.ended.set(true);
        if let Some(tick) = state.tick.borrow_mut().take() {
            tick.cancel();
        }
        state.drop_held();
        state.below.borrow_mut().take();
        state.flow.stop();
        if state.backlog_full.get() {
            return Failure::new(ThrottleBacklogFull {
                limit: state.max_held,
            });
        }
        reason
    }

    fn write(&self, below: &Transport, bufs: &[IoSlice<'_>]) {
        let state = &self.state;
        if state.write_budget.is_none() {
            return below.write_vectored(bufs);
        }
        if state.ended.get() || state.backlog_full.get() {
            return;
        }
        let total: usize = bufs.iter().map(|buf| buf.len()).sum();
        let mut now = 0;
        if state.held_len() == 0 {
            now = total.min(budget_bytes(state.write_left.get()));
            state.write_left.set(state.write_left.get() - now as u64);
            write_prefix(below, bufs, now, total);
        }
        if state.held_len().saturating_add(total - now) > state.max_held {
            state.backlog_full.set(true);
            state.drop_held();
            below.abort_connection();
            return;
        }
        if now < total {
            hold_rest(&mut state.held.borrow_mut(), bufs, now);
        }
        state.flow.after_write(state.buffered(below));
        state.ensure_tick();
    }

    fn lose_connection(&self, below: &Transport) {
        if self.state.held_len() == 0 {
            below.lose_connection();
        } else {
            self.state.pending_close.set(PendingClose::Lose);
        }
    }

    fn abort_connection(&self, below: &Transport) {
        self.state.drop_held();
        self.state.pending_close.set(PendingClose::None);
        below.abort_connection();
    }

    fn lose_write_connection(&self, below: &Transport) {
        if self.state.held_len() == 0 {
            below.lose_write_connection();
        } else if self.state.pending_close.get() == PendingClose::None {
            self.state.pending_close.set(PendingClose::LoseWrite);
        }
    }

    fn pause_reading(&self, below: &Transport) {
        self.state.paused_by_app.set(true);
        if !self.state.paused_by_us.get() {
            below.pause_reading();
        }
    }

    fn resume_reading(&self, below: &Transport) {
        self.state.paused_by_app.set(false);
        if !self.state.paused_by_us.get() {
            below.resume_reading();
        }
    }

    fn register_producer(&self, below: &Transport, producer: Producer) -> Result<(), Failure> {
        if self.state.write_budget.is_none() {
            return below.register_producer(producer);
        }
        self.state.flow.register(producer, self.state.buffered(below))?;
        self.state.ensure_tick();
        Ok(())
    }

    fn unregister_producer(&self, below: &Transport) {
        if self.state.write_budget.is_none() {
            return below.unregister_producer();
        }
        self.state.flow.unregister();
    }

    fn set_water_marks(&self, below: &Transport, marks: WaterMarks) {
        self.state.flow.set_water_marks(marks);
        below.set_water_marks(marks);
    }

    fn buffered_len(&self, below: &Transport) -> usize {
        self.state.buffered(below)
    }

    fn state(&self, below: &Transport) -> ConnectionState {
        match below.state() {
            ConnectionState::Open if self.state.pending_close.get() == PendingClose::Lose => {
                ConnectionState::Closing
            }
            state => state,
        }
    }
}
