//! System event triggers: code that runs before, during and after the
//! reactor starts up or shuts down (Twisted's `addSystemEventTrigger`).
//!
//! Each event runs its three phases in order. "Before" triggers may return a
//! Deferred; the event waits until all of them have fired (successfully or
//! not; failures are logged) before running the "during" and "after"
//! triggers. Triggers run once: they are removed when they fire, so a
//! reactor that is run again starts with only the triggers added since.

use std::cell::{Cell, RefCell};

use gyre_core::deferred::{DeferredList, maybe, succeed};
use gyre_core::{Deferred, Failure};

/// The two system events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemEvent {
    /// `run()` is starting the loop.
    Startup,
    /// `stop()` was called.
    Shutdown,
}

/// The three phases of a system event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// First; may return Deferreds that the event waits for.
    Before,
    /// Next; the reactor's own work (for shutdown: closing every connection).
    During,
    /// Last.
    After,
}

/// Identifies a trigger for [`remove_trigger`](crate::Reactor::remove_trigger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TriggerId(u64);

type Trigger = Box<dyn FnOnce() -> Deferred<()>>;

#[derive(Default)]
pub(crate) struct Triggers {
    next_id: Cell<u64>,
    entries: RefCell<Vec<(TriggerId, SystemEvent, Phase, Trigger)>>,
}

impl Triggers {
    pub(crate) fn add<R: gyre_core::deferred::Outcome<Value = ()>>(
        &self,
        phase: Phase,
        event: SystemEvent,
        trigger: impl FnOnce() -> R + 'static,
    ) -> TriggerId {
        let id = TriggerId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        let trigger: Trigger = Box::new(move || maybe(trigger));
        self.entries.borrow_mut().push((id, event, phase, trigger));
        id
    }

    pub(crate) fn remove(&self, id: TriggerId) -> bool {
        let mut entries = self.entries.borrow_mut();
        let before = entries.len();
        entries.retain(|entry| entry.0 != id);
        entries.len() != before
    }

    /// Removes every trigger (for `Reactor::close`); the caller drops them
    /// outside the borrow.
    pub(crate) fn clear(&self) -> Vec<Trigger> {
        self.entries.borrow_mut().drain(..).map(|entry| entry.3).collect()
    }

    /// Removes the triggers of `event` in `phase`, in the order they were
    /// added, in one pass.
    fn take(&self, event: SystemEvent, phase: Phase) -> Vec<Trigger> {
        self.entries
            .borrow_mut()
            .extract_if(.., |entry| entry.1 == event && entry.2 == phase)
            .map(|entry| entry.3)
            .collect()
    }

    /// Runs the "before" triggers of `event` and returns a Deferred that
    /// fires when all the Deferreds they returned have fired.
    pub(crate) fn run_before(&self, event: SystemEvent) -> Deferred<()> {
        let waits: Vec<Deferred<()>> = self.take(event, Phase::Before).into_iter().map(|t| t()).collect();
        if waits.is_empty() {
            return succeed(());
        }
        DeferredList::new(waits.into_iter().map(|d| d.or_else(log_trigger_failure)))
            .into_deferred()
            .map(|_| ())
    }

    /// Runs the triggers of `event` in `phase`, ignoring what they return
    /// except failures, which are logged.
    pub(crate) fn run_now(&self, event: SystemEvent, phase: Phase) {
        for trigger in self.take(event, phase) {
            drop(trigger().or_else(log_trigger_failure));
        }
    }
}

fn log_trigger_failure(failure: Failure) -> Result<(), Failure> {
    tracing::error!(target: "gyre::reactor", failure = %failure, "system event trigger failed");
    Ok(())
}
