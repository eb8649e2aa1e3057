//! The deadlines of a connection: the response head after the request,
//! and silence while a body that nobody paused is being read.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use gyre_core::{ClockExt, DelayedCall, Failure};

use super::{ConnHandle, State};
use crate::client::error::{ClientError, TimeoutPhase};
use crate::client::response::BodySink;

/// Deadlines of a request; `None` waits for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (default 30 s, Twisted's `connectTimeout`).
    pub connect: Option<Duration>,
    /// From sending the request to the response head (default 60 s).
    pub response_head: Option<Duration>,
    /// Silence while reading a body that is not paused (default 60 s).
    pub body_idle: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Some(Duration::from_secs(30)),
            response_head: Some(Duration::from_secs(60)),
            body_idle: Some(Duration::from_secs(60)),
        }
    }
}

impl ConnHandle {
    pub(super) fn arm(&self, phase: TimeoutPhase) -> Option<DelayedCall> {
        let (clock, delay) = {
            let state = self.0.borrow();
            let delay = match phase {
                TimeoutPhase::ResponseHead => state.timeouts.response_head,
                TimeoutPhase::BodyIdle => state.timeouts.body_idle,
                TimeoutPhase::Connect => None,
            }?;
            (state.clock.clone(), delay)
        };
        let weak = Rc::downgrade(&self.0);
        Some(clock.call_later(delay, move || timer_fired(&weak, phase, delay)))
    }
}

fn timer_fired(weak: &Weak<RefCell<State>>, phase: TimeoutPhase, delay: Duration) {
    let Some(state) = weak.upgrade() else { return };
    let conn = ConnHandle(state);
    if phase == TimeoutPhase::BodyIdle {
        let (paused, elapsed) = {
            let state = conn.0.borrow();
            let Some(exchange) = &state.exchange else { return };
            let paused = exchange.sink.as_ref().is_some_and(BodySink::is_paused);
            (
                paused,
                state
                    .clock
                    .now()
                    .saturating_duration_since(exchange.last_activity),
            )
        };
        if paused || elapsed < delay {
            let wait = if paused { delay } else { delay - elapsed };
            let (clock, weak) = (conn.0.borrow().clock.clone(), weak.clone());
            let timer = clock.call_later(wait, move || timer_fired(&weak, phase, delay));
            if let Some(exchange) = conn.0.borrow_mut().exchange.as_mut() {
                exchange.timer = Some(timer);
            }
            return;
        }
    }
    if let Some(exchange) = conn.0.borrow_mut().exchange.as_mut() {
        exchange.timer = None;
    }
    conn.fail_exchange(Failure::new(ClientError::Timeout(phase)));
    conn.abort();
}
