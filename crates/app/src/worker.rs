//! One worker thread of the application server: its own reactor and its
//! own copy of the service tree, started and stopped by the main thread.
//!
//! The main thread cannot touch a worker's tree (reactors and services are
//! `!Send` by design), so it sends closures with
//! [`ReactorHandle::call_from_thread`]; they run on the worker's thread and
//! find its state in a thread-local that lives exactly as long as the
//! worker's loop. Workers answer with [`Event`]s on a channel.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use gyre_endpoints::{EndpointRegistry, ServerEndpoint, SharedPorts};
use gyre_reactor::{Reactor, ReactorHandle};

use crate::multi::MultiService;
use crate::service::Service;

/// Builds one worker's service tree (called once per worker, on its thread).
pub type BuildTree = Arc<dyn Fn(&Worker) -> Result<MultiService, String> + Send + Sync>;

/// What a service tree is built with: the worker's reactor, its place
/// among the workers, endpoints that share ports between workers, and a
/// way to say where the program listens.
#[derive(Clone)]
pub struct Worker {
    inner: Rc<WorkerInner>,
}

struct WorkerInner {
    reactor: Reactor,
    index: usize,
    count: usize,
    endpoints: EndpointRegistry,
    announcements: RefCell<Vec<String>>,
}

impl Worker {
    /// A worker context; `count > 1` makes its endpoints share ports
    /// through `ports` (see [`SharedPorts`]).
    pub fn new(reactor: Reactor, index: usize, count: usize, ports: SharedPorts) -> Worker {
        let endpoints = if count > 1 {
            EndpointRegistry::default().shared_ports(ports)
        } else {
            EndpointRegistry::default()
        };
        Worker {
            inner: Rc::new(WorkerInner {
                reactor,
                index,
                count,
                endpoints,
                announcements: RefCell::new(Vec::new()),
            }),
        }
    }

    /// This worker's reactor.
    pub fn reactor(&self) -> &Reactor {
        &self.inner.reactor
    }

    /// Which worker this is, from 0.
    pub fn index(&self) -> usize {
        self.inner.index
    }

    /// How many workers there are.
    pub fn count(&self) -> usize {
        self.inner.count
    }

    /// The endpoint descriptions this worker understands.
    pub fn endpoints(&self) -> &EndpointRegistry {
        &self.inner.endpoints
    }

    /// A server endpoint from a description, the error naming it.
    ///
    /// # Errors
    /// When the description is wrong (or cannot be shared by workers).
    pub fn server_endpoint(&self, description: &str) -> Result<Rc<dyn ServerEndpoint>, String> {
        self.inner
            .endpoints
            .server_from_string(&self.inner.reactor, description)
            .map_err(|error| format!("--listen {description}: {error}"))
    }

    /// A line to print on standard output once the program is ready
    /// ("listening on …"). Every worker listens on the same addresses, so
    /// only the first worker's lines are printed.
    pub fn announce(&self, line: impl Into<String>) {
        self.inner.announcements.borrow_mut().push(line.into());
    }
}

/// What workers tell the main thread.
pub(crate) enum Event {
    /// The worker's reactor exists; commands go through this handle.
    Spawned(usize, ReactorHandle),
    /// Privileged start done (with the worker's announcements) or failed.
    Bound(usize, Result<Vec<String>, String>),
    /// Start done or failed.
    Started(usize, Result<(), String>),
    /// Stop done (failures were logged).
    Stopped(usize),
    /// The worker's thread ended (normally after `Stopped`).
    Exited(usize),
    /// A signal the main thread watches.
    Signal(i32),
}

struct WorkerState {
    tree: Rc<MultiService>,
    events: Sender<Event>,
    index: usize,
}

thread_local! {
    static STATE: RefCell<Option<Rc<WorkerState>>> = const { RefCell::new(None) };
}

fn with_state(f: impl FnOnce(&Rc<WorkerState>)) {
    let state = STATE.with(|state| state.borrow().clone());
    if let Some(state) = state {
        f(&state);
    }
}

/// Sends `Exited` however the thread ends (a panic included).
struct ExitGuard(usize, Sender<Event>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let _ = self.1.send(Event::Exited(self.0));
    }
}

/// The body of worker thread `index`.
pub(crate) fn run(index: usize, count: usize, build: BuildTree, ports: SharedPorts, events: Sender<Event>) {
    let _exit = ExitGuard(index, events.clone());
    let span = tracing::info_span!(target: "gyre::app", "worker", index);
    let _entered = span.enter();
    let reactor = match Reactor::new() {
        Ok(reactor) => reactor,
        Err(error) => {
            let _ = events.send(Event::Bound(
                index,
                Err(format!("cannot create a reactor: {error}")),
            ));
            return;
        }
    };
    // Signals are the main thread's: it stops the workers gracefully.
    reactor.set_handle_signals(false);
    let _ = events.send(Event::Spawned(index, reactor.handle()));
    let worker = Worker::new(reactor.clone(), index, count, ports);
    let tree = match build(&worker) {
        Ok(tree) => Rc::new(tree),
        Err(error) => {
            let _ = events.send(Event::Bound(index, Err(error)));
            return;
        }
    };
    let state = Rc::new(WorkerState {
        tree: tree.clone(),
        events: events.clone(),
        index,
    });
    STATE.with(|slot| *slot.borrow_mut() = Some(state));
    reactor.call_when_running(move || {
        let bound = tree.privileged_start();
        drop(bound.then(move |result| {
            let announced = worker.inner.announcements.borrow().clone();
            let _ = events.send(Event::Bound(
                index,
                result.map(|()| announced).map_err(|failure| failure.to_string()),
            ));
        }));
    });
    if let Err(error) = reactor.run() {
        tracing::error!(target: "gyre::app", %error, "worker loop failed");
    }
    STATE.with(|slot| slot.borrow_mut().take());
}

/// Starts worker `handle`'s tree (after privileges were dropped).
pub(crate) fn start(handle: &ReactorHandle) {
    handle.call_from_thread(|_| {
        with_state(|state| {
            let (events, index) = (state.events.clone(), state.index);
            drop(state.tree.start().then(move |result| {
                let _ = events.send(Event::Started(
                    index,
                    result.map_err(|failure| failure.to_string()),
                ));
            }));
        })
    });
}

/// Stops worker `handle`'s tree gracefully, then its loop.
pub(crate) fn stop(handle: &ReactorHandle) {
    handle.call_from_thread(|reactor| {
        let state = STATE.with(|state| state.borrow().clone());
        let Some(state) = state else {
            let _ = reactor.stop();
            return;
        };
        let (events, index, reactor) = (state.events.clone(), state.index, reactor.clone());
        drop(state.tree.stop().then(move |result| {
            if let Err(failure) = result {
                tracing::warn!(target: "gyre::app", %failure, "a service did not stop cleanly");
            }
            let _ = events.send(Event::Stopped(index));
            let _ = reactor.stop();
        }));
    });
}

/// The shutdown deadline passed: abandon what the stop waits for.
pub(crate) fn force_stop(handle: &ReactorHandle) {
    handle.call_from_thread(|_| with_state(|state| state.tree.force_stop()));
}
