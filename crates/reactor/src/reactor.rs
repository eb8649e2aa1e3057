//! [`Reactor`]: the event loop.
//!
//! # One turn
//! [`Reactor::run_once`] is one turn of the loop, and `run` is turns until
//! stopped:
//!
//! 1. wait for I/O, no longer than until the next timer (not at all when work
//!    is already queued);
//! 2. dispatch I/O readiness to sources (reads call `data_received`);
//! 3. run due timers, in order (a call scheduled for "now" waits for the next turn);
//! 4. run calls from other threads and woken async tasks;
//! 5. run the reactor's own deferred work ("soon" queue: `connection_lost`
//!    after a close, reads resumed by `resume_reading`);
//! 6. flush every connection written to during the turn: its writes were
//!    appended to one contiguous buffer, sent with one `send` each (writes
//!    are coalesced per turn).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use gyre_core::clock::{Clock, DelayedCall, TimerQueue};
use gyre_core::{Deferred, Failure};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::error::NotRunning;
use crate::remote::{self, ReactorHandle, RemoteCall};
use crate::sources::{Readiness, Source, Sources};
use crate::threads::ThreadPool;
use crate::triggers::{Phase, SystemEvent, TriggerId, Triggers};

mod close;

const WAKER_TOKEN: Token = Token(usize::MAX);
/// Size of the one read buffer shared by every connection.
pub(crate) const READ_BUFFER_SIZE: usize = 64 * 1024;
const EVENT_CAPACITY: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    Stopped,
    Running,
    /// `stop()` was called; shutdown triggers are running.
    Stopping,
}

/// Work that has to be done at the end of a turn by a source (a connection
/// with buffered writes).
pub(crate) trait Flush {
    fn flush(self: Rc<Self>);
}

pub(crate) struct Inner {
    poll: RefCell<Poll>,
    registry: mio::Registry,
    pub(crate) sources: Sources,
    timers: TimerQueue,
    soon: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    flush_queue: RefCell<Vec<Rc<dyn Flush>>>,
    remote_rx: Receiver<RemoteCall>,
    pub(crate) handle: ReactorHandle,
    state: Cell<RunState>,
    /// Set when the loop should return at the end of the current turn.
    exit_loop: Cell<bool>,
    /// `crash()` was called: leave without waiting for the thread pool.
    crashed: Cell<bool>,
    /// Counts crashes: a shutdown started by `stop()` goes on only while
    /// this is what it was then, so one a crash interrupted (waiting for a
    /// "before" trigger's Deferred) cannot close everything in a later run.
    crashes: Cell<u64>,
    /// `close()` was called while running: close when `run` returns.
    close_after_run: Cell<bool>,
    closed: Cell<bool>,
    in_turn: Cell<bool>,
    triggers: Rc<Triggers>,
    read_buffer: RefCell<Option<Box<[u8]>>>,
    events: RefCell<Option<Events>>,
    ready: RefCell<Vec<(Token, Readiness)>>,
    pub(crate) thread_pool: ThreadPool,
    /// Handles of the executor's tasks (executor module).
    pub(crate) tasks: crate::executor::Tasks,
    /// Children not yet reaped and their SIGCHLD watch (process module).
    pub(crate) children: crate::process::Children,
    /// Signal handlers and the default SIGINT/SIGTERM handling (signals module).
    pub(crate) signals: crate::signals::SignalSettings,
}

/// The event loop. Cheap to clone; not `Send`: one reactor per thread, and
/// other threads use a [`ReactorHandle`].
#[derive(Clone)]
pub struct Reactor {
    pub(crate) inner: Rc<Inner>,
}

impl Reactor {
    /// A new reactor for the current thread. Several may exist, on one
    /// thread or many. Dropping every clone frees it, unless callbacks it
    /// holds (timers, triggers, tasks, factories) hold clones of it: then
    /// call [`close`](Self::close) when done with it.
    pub fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        let (sender, remote_rx) = remote::channel();
        let handle = ReactorHandle {
            sender,
            waker,
            owner: std::thread::current().id(),
            closed: Arc::default(),
            wake_pending: Arc::default(),
            host_waiting: Arc::default(),
        };
        Ok(Reactor {
            inner: Rc::new(Inner {
                poll: RefCell::new(poll),
                registry,
                sources: Sources::default(),
                timers: TimerQueue::new(),
                soon: RefCell::default(),
                flush_queue: RefCell::default(),
                remote_rx,
                handle,
                state: Cell::new(RunState::Stopped),
                exit_loop: Cell::new(false),
                crashed: Cell::new(false),
                crashes: Cell::new(0),
                close_after_run: Cell::new(false),
                closed: Cell::new(false),
                in_turn: Cell::new(false),
                triggers: Rc::default(),
                read_buffer: RefCell::new(Some(vec![0; READ_BUFFER_SIZE].into_boxed_slice())),
                events: RefCell::new(Some(Events::with_capacity(EVENT_CAPACITY))),
                ready: RefCell::default(),
                thread_pool: ThreadPool::default(),
                tasks: Default::default(),
                children: Default::default(),
                signals: Default::default(),
            }),
        })
    }

    /// A handle other threads can use to call into this reactor.
    pub fn handle(&self) -> ReactorHandle {
        self.inner.handle.clone()
    }

    /// Runs the loop until [`stop`](Self::stop) (or [`crash`](Self::crash)):
    /// fires the startup triggers, turns until stopped, and returns. A
    /// reactor can be run again after it returned. After a graceful stop,
    /// `run` also waits for the thread pool's jobs (still turning, so their
    /// results are delivered) and joins its threads before it returns.
    pub fn run(&self) -> io::Result<()> {
        self.enter_run()?;
        // Signals (signals.rs): SIGINT/SIGTERM stop the loop and `on_signal`
        // handlers run only while `run` runs; dropping the guard when `run`
        // returns removes the hooks.
        let _signals = crate::signals::watch_while_running(self);
        self.fire_startup();
        let result = loop {
            if self.run_finished() {
                break Ok(());
            }
            if let Err(error) = self.run_once(None) {
                break Err(error);
            }
        };
        self.leave_run();
        result
    }

    /// The start of a run (`run`, or a host loop's `start_hosted`): refuses
    /// a closed or running reactor, else marks it running.
    pub(crate) fn enter_run(&self) -> io::Result<()> {
        let inner = &self.inner;
        if inner.closed.get() {
            return Err(io::Error::other("the reactor is closed"));
        }
        if inner.state.get() != RunState::Stopped || inner.in_turn.get() {
            return Err(io::Error::other("the reactor is already running"));
        }
        inner.exit_loop.set(false);
        inner.crashed.set(false);
        inner.state.set(RunState::Running);
        Ok(())
    }

    /// Runs the startup triggers (the "during" and "after" phases wait for
    /// the Deferreds of the "before" ones).
    pub(crate) fn fire_startup(&self) {
        let triggers = self.inner.triggers.clone();
        let this = self.downgrade();
        drop(triggers.run_before(SystemEvent::Startup).map(move |()| {
            if let Some(reactor) = this.upgrade() {
                let triggers = reactor.inner.triggers.clone();
                triggers.run_now(SystemEvent::Startup, Phase::During);
                triggers.run_now(SystemEvent::Startup, Phase::After);
            }
        }));
    }

    /// Whether the run is over: stopped (shutdown done and the thread
    /// pool's results delivered) or crashed.
    pub(crate) fn run_finished(&self) -> bool {
        let inner = &self.inner;
        inner.exit_loop.get() && (inner.crashed.get() || !inner.thread_pool.winding_down())
    }

    /// The end of a run: delivers what is left, joins the thread pool,
    /// marks the reactor stopped, and closes it if `close` was called
    /// meanwhile.
    pub(crate) fn leave_run(&self) {
        let inner = &self.inner;
        self.drain_pending();
        inner.thread_pool.after_run(self);
        inner.state.set(RunState::Stopped);
        inner.exit_loop.set(false);
        inner.crashed.set(false);
        if inner.close_after_run.replace(false) {
            self.close();
        }
    }

    /// Runs queued notifications, task wake-ups, calls from other threads
    /// and flushes left over when the loop exits (the `connection_lost`
    /// calls of connections closed at shutdown, and the tasks they wake), so
    /// that every protocol and task hears its end before `run` returns.
    fn drain_pending(&self) {
        for _ in 0..100 {
            if !self.has_pending_work() {
                return;
            }
            self.run_remote_calls();
            self.run_soon();
            self.run_flushes();
        }
    }

    /// Runs until `deferred` fires, then stops and returns its result
    /// (Twisted's `task.react`). Fails at once, leaving `deferred` alone
    /// (it is dropped), when the reactor is closed, already running, or in
    /// the middle of a turn driven by [`run_once`](Self::run_once). Fails
    /// too when the reactor is stopped some other way before `deferred`
    /// fires; the Deferred firing later then has no effect on the reactor.
    pub fn run_until<T: 'static>(&self, deferred: Deferred<T>) -> Result<T, Failure> {
        let inner = &self.inner;
        if inner.closed.get() {
            return Err(Failure::new(io::Error::other("the reactor is closed")));
        }
        if inner.state.get() != RunState::Stopped || inner.in_turn.get() {
            return Err(Failure::new(io::Error::other("the reactor is already running")));
        }
        let slot: Rc<RefCell<Option<Result<T, Failure>>>> = Rc::default();
        let out = slot.clone();
        let this = self.downgrade();
        // True while this call's `run` may still be stopped by `deferred`.
        let active = Rc::new(Cell::new(true));
        let still_active = active.clone();
        drop(deferred.then(move |result| {
            if !still_active.get() {
                return;
            }
            *out.borrow_mut() = Some(result);
            if let Some(reactor) = this.upgrade() {
                reactor.stop_when_running(still_active);
            }
        }));
        let ran = self.run();
        active.set(false);
        ran?;
        let result = slot.borrow_mut().take();
        result.unwrap_or_else(|| Err(Failure::msg("the reactor stopped before the Deferred fired")))
    }

    /// Stops the run of the `run_until` call whose flag is `active`, now or
    /// as soon as it starts, unless that call has returned by then.
    fn stop_when_running(&self, active: Rc<Cell<bool>>) {
        match self.inner.state.get() {
            RunState::Running => drop(self.stop()),
            RunState::Stopping => {}
            RunState::Stopped => {
                let this = self.downgrade();
                self.call_when_running(move || {
                    if active.get()
                        && let Some(reactor) = this.upgrade()
                    {
                        let _ = reactor.stop();
                    }
                });
            }
        }
    }

    /// Stops the loop gracefully: runs the "before shutdown" triggers and
    /// waits for the Deferreds they return, closes every connection and
    /// listening port and tells the thread pool to stop ("during"), runs the
    /// "after" triggers, keeps turning until the pool's jobs are done and
    /// their results delivered, then `run` returns. Fails when the reactor
    /// is not running (or already stopping).
    pub fn stop(&self) -> Result<(), NotRunning> {
        let inner = &self.inner;
        if inner.state.get() != RunState::Running {
            return Err(NotRunning::new());
        }
        inner.state.set(RunState::Stopping);
        // The shutdown event starts on the loop, not inside the caller's
        // callback (as in Twisted, which schedules it with callLater(0)).
        // A crash before it finishes abandons it (see `crashes`).
        let crashes = inner.crashes.get();
        let this = self.downgrade();
        self.call_soon(move || {
            let Some(reactor) = this.upgrade().filter(|r| r.inner.crashes.get() == crashes) else {
                return;
            };
            let triggers = reactor.inner.triggers.clone();
            let this = reactor.downgrade();
            drop(triggers.run_before(SystemEvent::Shutdown).map(move |()| {
                if let Some(reactor) = this.upgrade().filter(|r| r.inner.crashes.get() == crashes) {
                    reactor.finish_shutdown();
                }
            }));
        });
        Ok(())
    }

    fn finish_shutdown(&self) {
        let inner = &self.inner;
        inner.triggers.run_now(SystemEvent::Shutdown, Phase::During);
        for source in inner.sources.all() {
            source.shutdown();
        }
        inner.triggers.run_now(SystemEvent::Shutdown, Phase::After);
        inner.exit_loop.set(true);
    }

    /// Leaves the loop at the end of the current turn without running
    /// shutdown triggers or closing anything (Twisted's `crash`). A
    /// shutdown that `stop()` started and that has not finished (its
    /// "before" triggers' Deferreds have not all fired) is abandoned: it
    /// will not close anything when they fire later, in this run or the
    /// next. The triggers that have not run yet stay for the next `stop()`.
    pub fn crash(&self) {
        self.inner.crashes.set(self.inner.crashes.get().wrapping_add(1));
        self.inner.crashed.set(true);
        self.inner.exit_loop.set(true);
    }

    /// Whether `run` is under way (including while stopping).
    pub fn is_running(&self) -> bool {
        self.inner.state.get() != RunState::Stopped
    }

    /// Runs `f` once the reactor is running: at once if it is, else when
    /// `run` starts (after the startup triggers).
    pub fn call_when_running(&self, f: impl FnOnce() + 'static) {
        if self.inner.state.get() == RunState::Running {
            f();
        } else {
            self.add_trigger(Phase::After, SystemEvent::Startup, f);
        }
    }

    /// Adds a system event trigger; it runs once, the next time the event happens.
    pub fn add_trigger<R: gyre_core::deferred::Outcome<Value = ()>>(
        &self,
        phase: Phase,
        event: SystemEvent,
        trigger: impl FnOnce() -> R + 'static,
    ) -> TriggerId {
        self.inner.triggers.add(phase, event, trigger)
    }

    /// Removes a trigger that has not run yet. Returns whether it was there.
    pub fn remove_trigger(&self, id: TriggerId) -> bool {
        self.inner.triggers.remove(id)
    }

    /// One turn of the loop, waiting at most `timeout` for I/O (`None`: until
    /// the next timer, or forever). This is the seam for foreign event loops:
    /// watch [`poll_fd`](Self::poll_fd), arm a timer for
    /// [`next_deadline`](Self::next_deadline), and call `run_once(Some(Duration::ZERO))`
    /// when either fires or when [`has_pending_work`](Self::has_pending_work) is true.
    /// [`start_hosted`](Self::start_hosted) wraps this in a run (the reactor
    /// counts as running, `stop()` works both ways) and is what hosts use.
    ///
    /// Check `has_pending_work` after every step of the host loop that runs
    /// reactor callbacks (this turn, and anything else of the host's that
    /// may call into the reactor), not only when the descriptor is readable:
    /// work queued on the reactor's own thread, including
    /// [`ReactorHandle::call_from_thread`] made from that thread, does not
    /// make the descriptor readable.
    ///
    /// # Panics
    /// When called from inside a callback of the same reactor.
    pub fn run_once(&self, timeout: Option<Duration>) -> io::Result<()> {
        let inner = &self.inner;
        assert!(
            !inner.in_turn.replace(true),
            "Reactor::run_once called from inside a reactor callback"
        );
        let result = self.turn(timeout);
        inner.in_turn.set(false);
        result
    }

    fn turn(&self, timeout: Option<Duration>) -> io::Result<()> {
        let inner = &self.inner;
        let timeout = self.effective_timeout(timeout);
        self.wait_for_io(timeout)?;
        let ready = std::mem::take(&mut *inner.ready.borrow_mut());
        for &(token, readiness) in &ready {
            if let Some(source) = inner.sources.get(token) {
                source.ready(readiness);
            }
        }
        let mut ready = ready;
        ready.clear();
        *inner.ready.borrow_mut() = ready;
        inner.timers.run_due(Instant::now());
        self.run_remote_calls();
        self.run_soon();
        self.run_flushes();
        Ok(())
    }

    fn effective_timeout(&self, requested: Option<Duration>) -> Option<Duration> {
        if self.has_pending_work() {
            return Some(Duration::ZERO);
        }
        let until_timer = self
            .next_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        match (requested, until_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn wait_for_io(&self, timeout: Option<Duration>) -> io::Result<()> {
        let inner = &self.inner;
        let mut events = inner.events.borrow_mut().take().expect("events buffer in use");
        let result = match inner.poll.borrow_mut().poll(&mut events, timeout) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(()),
            other => other,
        };
        {
            let mut ready = inner.ready.borrow_mut();
            for event in events.iter() {
                if event.token() != WAKER_TOKEN {
                    ready.push((event.token(), Readiness::from(event)));
                }
            }
        }
        *inner.events.borrow_mut() = Some(events);
        result
    }

    /// Whether work is queued that the next turn will do without waiting.
    pub fn has_pending_work(&self) -> bool {
        let inner = &self.inner;
        !inner.soon.borrow().is_empty()
            || !inner.flush_queue.borrow().is_empty()
            || !inner.remote_rx.is_empty()
    }

    /// When the next timer is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.inner.timers.next_deadline()
    }

    /// The poller's file descriptor (epoll on Linux), for host loops to watch.
    pub fn poll_fd(&self) -> RawFd {
        self.inner.poll.borrow().as_raw_fd()
    }

    fn run_remote_calls(&self) {
        // Before looking at the channel: a call queued from here on wakes
        // the loop again (remote.rs).
        self.inner.handle.take_wake();
        // Bounded by what is queued now, so a flood from other threads
        // cannot starve I/O.
        let queued = self.inner.remote_rx.len();
        for _ in 0..queued {
            match self.inner.remote_rx.try_recv() {
                Ok(RemoteCall::Call(f)) => f(self),
                Ok(RemoteCall::Task(runnable)) => {
                    runnable.run();
                }
                Err(_) => break,
            }
        }
    }

    fn run_soon(&self) {
        let batch = std::mem::take(&mut *self.inner.soon.borrow_mut());
        for work in batch {
            work();
        }
    }

    fn run_flushes(&self) {
        let mut batch = std::mem::take(&mut *self.inner.flush_queue.borrow_mut());
        for source in batch.drain(..) {
            source.flush();
        }
        // Hand the allocation back for the next turn (no malloc and free
        // per turn on the echo path) unless flushes were queued meanwhile.
        let mut queue = self.inner.flush_queue.borrow_mut();
        if queue.is_empty() {
            *queue = batch;
        }
    }

    pub(crate) fn downgrade(&self) -> WeakReactor {
        WeakReactor(Rc::downgrade(&self.inner))
    }

    /// Queues work for the end of this turn (or the next turn, when called
    /// while the queue is being run).
    pub(crate) fn call_soon(&self, work: impl FnOnce() + 'static) {
        if self.inner.closed.get() {
            return;
        }
        self.inner.soon.borrow_mut().push_back(Box::new(work));
        self.inner.handle.kick_host();
    }

    /// Queues a flush for the end of this turn.
    pub(crate) fn schedule_flush(&self, source: Rc<dyn Flush>) {
        self.inner.flush_queue.borrow_mut().push(source);
        self.inner.handle.kick_host();
    }

    /// Registers `io` with the poller for reading and writing (edge
    /// triggered: once, for the life of the source) under a new token.
    pub(crate) fn register(
        &self,
        io: &mut impl mio::event::Source,
        handler: Rc<dyn Source>,
        interest: Interest,
    ) -> io::Result<Token> {
        if self.inner.closed.get() {
            return Err(io::Error::other("the reactor is closed"));
        }
        let token = self.inner.sources.insert(handler);
        if let Err(error) = self.inner.registry.register(io, token, interest) {
            self.inner.sources.remove(token);
            return Err(error);
        }
        Ok(token)
    }

    /// Removes a source from the poller and the table.
    pub(crate) fn deregister(&self, io: &mut impl mio::event::Source, token: Token) {
        if let Err(error) = self.inner.registry.deregister(io) {
            tracing::debug!(target: "gyre::reactor", %error, "deregister failed");
        }
        self.inner.sources.remove(token);
    }

    /// Takes the shared read buffer (or a fresh one if it is in use, which
    /// only happens if a read is nested inside another).
    pub(crate) fn take_read_buffer(&self) -> Box<[u8]> {
        self.inner
            .read_buffer
            .borrow_mut()
            .take()
            .unwrap_or_else(|| vec![0; READ_BUFFER_SIZE].into_boxed_slice())
    }

    pub(crate) fn put_read_buffer(&self, buffer: Box<[u8]>) {
        *self.inner.read_buffer.borrow_mut() = Some(buffer);
    }

    /// How many sources (connections, ports, pipes) are registered.
    pub fn source_count(&self) -> usize {
        self.inner.sources.len()
    }
}

impl Clock for Reactor {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn schedule(&self, delay: Duration, callback: Box<dyn FnOnce()>) -> DelayedCall {
        let now = Instant::now();
        let when = now
            .checked_add(delay)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        let call = self.inner.timers.schedule_at(when, callback);
        if self.inner.closed.get() {
            // A closed reactor never runs timers; dropping the callback now
            // keeps it from holding the reactor alive.
            call.cancel();
        } else {
            // A host loop asleep until the old deadline re-arms its timer.
            self.inner.handle.kick_host();
        }
        call
    }
}

/// The poller's descriptor, borrowed (a duplicate of [`Reactor::poll_fd`]
/// onto the same epoll instance, so it is readable exactly when that one
/// is), for host loops that wait with a safe `poll(2)` wrapper.
impl AsFd for Reactor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.registry.as_fd()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("state", &self.inner.state.get())
            .field("sources", &self.inner.sources.len())
            .finish()
    }
}

/// A reference to a reactor that does not keep it alive (held by sources,
/// which the reactor owns).
#[derive(Clone)]
pub(crate) struct WeakReactor(Weak<Inner>);

impl WeakReactor {
    pub(crate) fn upgrade(&self) -> Option<Reactor> {
        self.0.upgrade().map(|inner| Reactor { inner })
    }
}
