//! [`TimerService`]: calls a function every interval while it runs
//! (Twisted's `TimerService`), on the reactor's clock or a manual one.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::deferred::{LoopingCall, Outcome};
use gyre_core::{Clock, Deferred};

use crate::service::Service;

/// Calls a function every `interval`, the first time at start. If the
/// function returns a Deferred, the next call waits for it, and stopping
/// waits for the call in progress (a flush to disk finishes).
pub struct TimerService {
    looping: LoopingCall,
    interval: Duration,
    running: RefCell<Option<Deferred<()>>>,
}

impl TimerService {
    /// A service calling `f` every `interval` on `clock`.
    pub fn new<R: Outcome<Value = ()>>(
        clock: Rc<dyn Clock>,
        interval: Duration,
        f: impl FnMut() -> R + 'static,
    ) -> Self {
        TimerService {
            looping: LoopingCall::new(clock, f),
            interval,
            running: RefCell::new(None),
        }
    }
}

impl Service for TimerService {
    fn start(&self) -> Deferred<()> {
        let mut running = self.running.borrow_mut();
        if running.is_none() {
            let finished = self.looping.start(self.interval, true);
            // A failing call ends the loop: say so, the program goes on.
            finished.add_errback(|failure| {
                tracing::error!(target: "gyre::app", %failure, "timer service call failed; no more calls");
                Ok(())
            });
            *running = Some(finished);
        }
        Deferred::succeed(())
    }

    fn stop(&self) -> Deferred<()> {
        let Some(finished) = self.running.borrow_mut().take() else {
            return Deferred::succeed(());
        };
        self.looping.stop();
        finished
    }
}
