//! Unix signals: SIGINT and SIGTERM stop the reactor; `on_signal` runs your
//! code on any other. (SIGCHLD, which reaps children, is the process
//! module's.)
//!
//! While [`Reactor::run`] runs, SIGINT and SIGTERM call [`Reactor::stop`],
//! so shutdown triggers run and connections close cleanly; a second one
//! while the shutdown is still waiting on "before" triggers leaves the loop
//! at once ([`Reactor::crash`]). [`Reactor::set_handle_signals`]`(false)`
//! before `run` opts out. A signal that was ignored when gyre first looked at
//! it (a shell starts background jobs with SIGINT ignored) is left ignored,
//! as Twisted does.
//!
//! Signals are caught only while `run` runs, through a signal-hook self-pipe
//! per reactor registered with its poller: the handler itself only writes a
//! byte; callbacks run on the loop like any other event. Every running
//! reactor that watches a signal hears it, so several reactors on several
//! threads each stop on SIGTERM and never steal each other's signals. When
//! `run` returns the reactor's hooks are removed, and once no reactor
//! watches SIGINT or SIGTERM (or any signal gyre hooked), a signal that had
//! its default action before gyre hooked it gets that default action again:
//! SIGTERM after `run` returned terminates the process as usual. `run_once`
//! (foreign loops) does not watch signals.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gyre_core::Failure;
use mio::{Interest, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use crate::reactor::{Reactor, WeakReactor};
use crate::sources::{Readiness, Source};
use crate::sys::signal::{Disposition, disposition};

/// The signals that stop a running reactor unless it opted out.
const STOP_SIGNALS: [i32; 2] = [SIGINT, SIGTERM];

/// Identifies a handler for [`Reactor::remove_signal_handler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalHandlerId(u64);

pub(crate) type Callback = Rc<RefCell<dyn FnMut(i32)>>;

/// A reactor's signal settings and, while it runs, its watch.
#[derive(Default)]
pub(crate) struct SignalSettings {
    opted_out: Cell<bool>,
    next_id: Cell<u64>,
    handlers: RefCell<Vec<(SignalHandlerId, i32, Callback)>>,
    active: RefCell<Option<Rc<Watch>>>,
}

impl Reactor {
    /// Whether SIGINT and SIGTERM stop this reactor while it runs (default
    /// true). Set it before `run`; the hooks are installed when `run` starts.
    pub fn set_handle_signals(&self, enabled: bool) {
        self.inner.signals.opted_out.set(!enabled);
    }

    /// Whether SIGINT and SIGTERM stop this reactor while it runs.
    pub fn handles_signals(&self) -> bool {
        !self.inner.signals.opted_out.get()
    }

    /// Runs `callback` with the signal number each time `signal` arrives
    /// while this reactor runs, on the loop. Handlers stay until removed and
    /// apply to every later `run`; handlers for SIGINT or SIGTERM run before
    /// the default stop. Fails for signals that cannot be caught (SIGKILL,
    /// SIGSTOP, and the fault signals signal-hook refuses), for
    /// real-time signals, and on a closed reactor ([`close`](Self::close)
    /// drops every handler).
    pub fn on_signal(
        &self,
        signal: i32,
        callback: impl FnMut(i32) + 'static,
    ) -> Result<SignalHandlerId, Failure> {
        if signal_hook::consts::FORBIDDEN.contains(&signal)
            || signal_hook::low_level::signal_name(signal).is_none()
        {
            return Err(Failure::new(UnsupportedSignal::new(signal)));
        }
        if self.is_closed() {
            return Err(Failure::new(std::io::Error::other("the reactor is closed"))
                .context("adding a signal handler"));
        }
        let settings = &self.inner.signals;
        let id = SignalHandlerId(settings.next_id.get());
        settings.next_id.set(id.0 + 1);
        settings
            .handlers
            .borrow_mut()
            .push((id, signal, Rc::new(RefCell::new(callback))));
        let active = settings.active.borrow().clone();
        if let Some(watch) = active
            && let Err(failure) = watch.add(signal)
        {
            // Taken out before it is dropped: its drop may run user code.
            let removed = {
                let mut handlers = settings.handlers.borrow_mut();
                let at = handlers.iter().position(|(handler, _, _)| *handler == id);
                at.map(|at| handlers.remove(at))
            };
            drop(removed);
            return Err(failure);
        }
        Ok(id)
    }

    /// Takes every handler out (at [`close`](Self::close)), for the caller to
    /// drop outside the borrow.
    pub(crate) fn take_signal_handlers(&self) -> Vec<(SignalHandlerId, i32, Callback)> {
        std::mem::take(&mut *self.inner.signals.handlers.borrow_mut())
    }

    /// Removes a handler. Returns whether it was there. (While the reactor
    /// runs, its signal stays caught, and ignored, until `run` returns.)
    pub fn remove_signal_handler(&self, id: SignalHandlerId) -> bool {
        let mut handlers = self.inner.signals.handlers.borrow_mut();
        let before = handlers.len();
        handlers.retain(|(handler, _, _)| *handler != id);
        handlers.len() != before
    }
}

/// Starts watching this reactor's signals for one `run`; dropping the guard
/// stops. `None` when there is nothing to watch.
pub(crate) fn watch_while_running(reactor: &Reactor) -> Option<RunGuard> {
    let settings = &reactor.inner.signals;
    let mut wanted: Vec<i32> = settings
        .handlers
        .borrow()
        .iter()
        .map(|(_, signal, _)| *signal)
        .collect();
    let mut stops = Vec::new();
    if reactor.handles_signals() {
        for signal in STOP_SIGNALS {
            if global::original(signal) != Disposition::Ignored {
                stops.push(signal);
                wanted.push(signal);
            }
        }
    }
    if wanted.is_empty() {
        return None;
    }
    let watch = match Watch::start(reactor, stops) {
        Ok(watch) => watch,
        Err(error) => {
            tracing::warn!(target: "gyre::signals", %error, "cannot watch signals");
            return None;
        }
    };
    for signal in wanted {
        if let Err(failure) = watch.add(signal) {
            tracing::warn!(target: "gyre::signals", %failure, signal, "cannot watch a signal");
        }
    }
    *settings.active.borrow_mut() = Some(watch.clone());
    Some(RunGuard {
        reactor: reactor.clone(),
        watch,
    })
}

/// Removes a reactor's signal hooks when `run` returns.
pub(crate) struct RunGuard {
    reactor: Reactor,
    watch: Rc<Watch>,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.reactor.inner.signals.active.borrow_mut().take();
        self.watch.close(&self.reactor);
    }
}

/// One reactor's self-pipe for the signals it watches during one `run`.
struct Watch {
    reactor: WeakReactor,
    signals: RefCell<Option<Signals>>,
    token: Cell<Option<Token>>,
    /// Signals whose process-wide use count this watch holds.
    hooked: RefCell<Vec<i32>>,
    /// The signals that stop the reactor.
    stops: Vec<i32>,
}

impl Watch {
    fn start(reactor: &Reactor, stops: Vec<i32>) -> std::io::Result<Rc<Watch>> {
        let signals = Signals::new(std::iter::empty::<i32>())?;
        let watch = Rc::new(Watch {
            reactor: reactor.downgrade(),
            signals: RefCell::new(Some(signals)),
            token: Cell::new(None),
            hooked: RefCell::default(),
            stops,
        });
        let token = {
            let mut signals = watch.signals.borrow_mut();
            let signals = signals.as_mut().expect("just made");
            reactor.register(signals, watch.clone(), Interest::READABLE)?
        };
        watch.token.set(Some(token));
        Ok(watch)
    }

    fn add(&self, signal: i32) -> Result<(), Failure> {
        if self.hooked.borrow().contains(&signal) {
            return Ok(());
        }
        global::acquire(signal);
        self.hooked.borrow_mut().push(signal);
        match self.signals.borrow().as_ref() {
            Some(signals) => signals
                .add_signal(signal)
                .map_err(|error| Failure::new(error).context("hooking a signal")),
            None => Ok(()),
        }
    }

    fn close(&self, reactor: &Reactor) {
        let signals = self.signals.borrow_mut().take();
        if let Some(mut signals) = signals {
            if let Some(token) = self.token.take() {
                reactor.deregister(&mut signals, token);
            }
            // Dropping the last handle unregisters its signal-hook actions.
            drop(signals);
        }
        for signal in self.hooked.take() {
            global::release(signal);
        }
    }
}

impl Source for Watch {
    fn ready(self: Rc<Self>, _readiness: Readiness) {
        let received: Vec<i32> = match self.signals.borrow_mut().as_mut() {
            Some(signals) => signals.pending().collect(),
            None => return,
        };
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        for signal in received {
            let callbacks: Vec<Callback> = reactor
                .inner
                .signals
                .handlers
                .borrow()
                .iter()
                .filter(|(_, wanted, _)| *wanted == signal)
                .map(|(_, _, callback)| callback.clone())
                .collect();
            for callback in callbacks {
                if let Ok(mut callback) = callback.try_borrow_mut() {
                    callback(signal);
                }
            }
            if self.stops.contains(&signal) && reactor.handles_signals() {
                stop_on_signal(&reactor, signal);
            }
        }
    }
}

fn stop_on_signal(reactor: &Reactor, signal: i32) {
    let name = signal_hook::low_level::signal_name(signal).unwrap_or("signal");
    if reactor.stop().is_ok() {
        tracing::info!(target: "gyre::signals", signal = name, "received a stop signal; stopping");
    } else if reactor.is_running() {
        tracing::warn!(target: "gyre::signals", signal = name, "second stop signal while stopping; leaving the loop");
        reactor.crash();
    }
}

/// Process-wide bookkeeping: how many running reactors watch each signal,
/// and the default action to restore when none does.
mod global {
    use super::*;

    struct Hooked {
        users: usize,
        original: Disposition,
        /// True while no reactor watches the signal: its default action runs.
        default_action: Option<Arc<AtomicBool>>,
    }

    static SIGNALS: Mutex<BTreeMap<i32, Hooked>> = Mutex::new(BTreeMap::new());

    fn with_entry<R>(signal: i32, f: impl FnOnce(&mut Hooked) -> R) -> R {
        let mut table = SIGNALS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = table.entry(signal).or_insert_with(|| Hooked {
            users: 0,
            // Read before gyre ever hooks the signal.
            original: disposition(signal).unwrap_or(Disposition::Handled),
            default_action: None,
        });
        f(entry)
    }

    /// What the process did with `signal` before gyre first hooked it.
    pub(super) fn original(signal: i32) -> Disposition {
        with_entry(signal, |entry| entry.original)
    }

    pub(super) fn acquire(signal: i32) {
        with_entry(signal, |entry| {
            entry.users += 1;
            if entry.original != Disposition::Default {
                return;
            }
            match &entry.default_action {
                Some(flag) => flag.store(false, Ordering::SeqCst),
                None => {
                    let flag = Arc::new(AtomicBool::new(false));
                    match signal_hook::flag::register_conditional_default(signal, flag.clone()) {
                        Ok(_) => entry.default_action = Some(flag),
                        Err(error) => {
                            tracing::debug!(target: "gyre::signals", %error, signal, "no default action to restore")
                        }
                    }
                }
            }
        });
    }

    pub(super) fn release(signal: i32) {
        with_entry(signal, |entry| {
            entry.users = entry.users.saturating_sub(1);
            if entry.users == 0
                && let Some(flag) = &entry.default_action
            {
                flag.store(true, Ordering::SeqCst);
            }
        });
    }
}

/// A signal number that cannot be caught or sent: unknown, real-time, or
/// one of SIGKILL, SIGSTOP and the fault signals (SIGSEGV, SIGILL, SIGFPE).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnsupportedSignal {
    /// The signal number.
    pub signal: i32,
}

impl UnsupportedSignal {
    /// Makes the error.
    pub fn new(signal: i32) -> Self {
        UnsupportedSignal { signal }
    }
}

impl fmt::Display for UnsupportedSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signal {} is not supported here", self.signal)
    }
}

impl Error for UnsupportedSignal {}
