//! Shared helpers for the real-socket TCP tests (`tests/tcp_*.rs`): a
//! scripted protocol that logs its events, a client factory that logs the
//! connector's news, a bounded `run_until`, and small socket utilities.
//!
//! Every test runs its reactor through [`run_until`], which stops the loop
//! once a condition holds and fails the test if it does not hold in time.
#![allow(dead_code)] // each test file uses a different part

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::connector::Connector;
use gyre_core::errors::{
    Cancelled, ConnectionAborted, ConnectionDone, ConnectionLost, ConnectionRefused, TimedOut,
};
use gyre_core::prelude::*;
use gyre_reactor::Reactor;

/// Events in the order they happened, shared by every protocol of a test.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    /// A new, empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an event.
    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    /// How many events equal `event`.
    pub fn count(&self, event: &str) -> usize {
        self.0.borrow().iter().filter(|e| *e == event).count()
    }

    /// How many events start with `prefix`.
    pub fn count_prefix(&self, prefix: &str) -> usize {
        self.0.borrow().iter().filter(|e| e.starts_with(prefix)).count()
    }

    /// Whether `event` was logged.
    pub fn has(&self, event: &str) -> bool {
        self.count(event) > 0
    }

    /// Where `event` first appears.
    pub fn position(&self, event: &str) -> Option<usize> {
        self.0.borrow().iter().position(|e| e == event)
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.borrow().iter()).finish()
    }
}

/// The framework error a failure carries, as a short word for logs.
pub fn reason(failure: &Failure) -> &'static str {
    if failure.is::<ConnectionDone>() {
        "done"
    } else if failure.is::<ConnectionLost>() {
        "lost"
    } else if failure.is::<ConnectionAborted>() {
        "aborted"
    } else if failure.is::<ConnectionRefused>() {
        "refused"
    } else if failure.is::<TimedOut>() {
        "timed out"
    } else if failure.is::<Cancelled>() {
        "cancelled"
    } else {
        "other"
    }
}

/// Runs `reactor` until `done()` holds (checked every few milliseconds),
/// then stops it. Fails the test, with the log, when `limit` passes first.
pub fn run_until(reactor: &Reactor, limit: Duration, log: &Log, done: impl Fn() -> bool + 'static) {
    let timed_out = Rc::new(Cell::new(false));
    let flag = timed_out.clone();
    let stopper = reactor.clone();
    let guard = reactor.call_later(limit, move || {
        flag.set(true);
        let _ = stopper.stop();
    });
    check_later(reactor, Rc::new(done));
    reactor.run().expect("the reactor runs");
    guard.cancel();
    assert!(
        !timed_out.get(),
        "the test did not finish within {limit:?}; log: {log:?}"
    );
}

fn check_later(reactor: &Reactor, done: Rc<dyn Fn() -> bool>) {
    let again = reactor.clone();
    drop(reactor.call_later(Duration::from_millis(2), move || {
        if !again.is_running() {
            return;
        }
        if done() {
            let _ = again.stop();
        } else {
            check_later(&again, done);
        }
    }));
}

/// Runs `reactor` for `duration` of wall-clock time, then stops it.
pub fn run_for(reactor: &Reactor, duration: Duration) {
    let start = Instant::now();
    run_until(
        reactor,
        duration + Duration::from_secs(10),
        &Log::new(),
        move || start.elapsed() >= duration,
    );
}

type TransportFn = Box<dyn FnMut(&Transport)>;
type DataFn = Box<dyn FnMut(&Transport, &[u8])>;
type LostFn = Box<dyn FnMut(&Transport, &Failure)>;

/// A protocol made of closures that logs `NAME made`, `NAME read lost`,
/// `NAME write lost` and `NAME lost: REASON`, and keeps every byte it
/// received in `received`.
pub struct Scripted {
    name: String,
    log: Log,
    /// Everything received, in order.
    pub received: Rc<RefCell<Vec<u8>>>,
    made: Option<TransportFn>,
    data: Option<DataFn>,
    read_lost: Option<TransportFn>,
    lost: Option<LostFn>,
}

impl Scripted {
    /// A protocol that only logs and records (and closes on end of file,
    /// the default).
    pub fn new(name: impl Into<String>, log: &Log) -> Self {
        Scripted {
            name: name.into(),
            log: log.clone(),
            received: Rc::default(),
            made: None,
            data: None,
            read_lost: None,
            lost: None,
        }
    }

    /// Records received bytes into `buffer` (shared with the test).
    pub fn into_buffer(mut self, buffer: &Rc<RefCell<Vec<u8>>>) -> Self {
        self.received = buffer.clone();
        self
    }

    /// Runs `f` in `connection_made`.
    pub fn on_made(mut self, f: impl FnMut(&Transport) + 'static) -> Self {
        self.made = Some(Box::new(f));
        self
    }

    /// Runs `f` in `data_received`, after recording the bytes.
    pub fn on_data(mut self, f: impl FnMut(&Transport, &[u8]) + 'static) -> Self {
        self.data = Some(Box::new(f));
        self
    }

    /// Runs `f` in `read_connection_lost` instead of closing.
    pub fn on_read_lost(mut self, f: impl FnMut(&Transport) + 'static) -> Self {
        self.read_lost = Some(Box::new(f));
        self
    }

    /// Runs `f` in `connection_lost`, after logging.
    pub fn on_lost(mut self, f: impl FnMut(&Transport, &Failure) + 'static) -> Self {
        self.lost = Some(Box::new(f));
        self
    }
}

impl Protocol for Scripted {
    fn connection_made(&mut self, transport: &Transport) {
        self.log.push(format!("{} made", self.name));
        if let Some(f) = &mut self.made {
            f(transport);
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.received.borrow_mut().extend_from_slice(data);
        if let Some(f) = &mut self.data {
            f(transport, data);
        }
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.log.push(format!("{} read lost", self.name));
        match &mut self.read_lost {
            Some(f) => f(transport),
            None => transport.lose_connection(),
        }
    }

    fn write_connection_lost(&mut self, _transport: &Transport) {
        self.log.push(format!("{} write lost", self.name));
    }

    fn connection_lost(&mut self, transport: &Transport, failure: Failure) {
        self.log.push(format!("{} lost: {}", self.name, reason(&failure)));
        if let Some(f) = &mut self.lost {
            f(transport, &failure);
        }
    }
}

type BuildFn = Box<dyn FnMut() -> Option<Box<dyn Protocol>>>;
type ConnectorFn = Box<dyn FnMut(&Connector, &Failure)>;

/// A client factory that builds protocols with a closure and logs
/// `NAME failed: REASON` and `NAME connector lost: REASON`.
pub struct LoggingClient {
    name: String,
    log: Log,
    build: BuildFn,
    failed: Option<ConnectorFn>,
    lost: Option<ConnectorFn>,
}

impl LoggingClient {
    /// A client factory building with `build`.
    pub fn new(name: impl Into<String>, log: &Log, mut build: impl FnMut() -> Scripted + 'static) -> Self {
        LoggingClient {
            name: name.into(),
            log: log.clone(),
            build: Box::new(move || Some(Box::new(build()) as Box<dyn Protocol>)),
            failed: None,
            lost: None,
        }
    }

    /// A client factory whose `build_protocol` returns `None`.
    pub fn refusing(name: impl Into<String>, log: &Log) -> Self {
        LoggingClient {
            name: name.into(),
            log: log.clone(),
            build: Box::new(|| None),
            failed: None,
            lost: None,
        }
    }

    /// Runs `f` in `client_connection_failed`, after logging.
    pub fn on_failed(mut self, f: impl FnMut(&Connector, &Failure) + 'static) -> Self {
        self.failed = Some(Box::new(f));
        self
    }

    /// Runs `f` in `client_connection_lost`, after logging.
    pub fn on_lost(mut self, f: impl FnMut(&Connector, &Failure) + 'static) -> Self {
        self.lost = Some(Box::new(f));
        self
    }
}

impl Factory for LoggingClient {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        (self.build)()
    }

    fn start_factory(&mut self) {
        self.log.push(format!("{} factory started", self.name));
    }

    fn stop_factory(&mut self) {
        self.log.push(format!("{} factory stopped", self.name));
    }
}

impl ClientFactory for LoggingClient {
    fn client_connection_failed(&mut self, connector: &Connector, failure: Failure) {
        self.log
            .push(format!("{} failed: {}", self.name, reason(&failure)));
        if let Some(f) = &mut self.failed {
            f(connector, &failure);
        }
    }

    fn client_connection_lost(&mut self, connector: &Connector, failure: Failure) {
        self.log
            .push(format!("{} connector lost: {}", self.name, reason(&failure)));
        if let Some(f) = &mut self.lost {
            f(connector, &failure);
        }
    }
}

/// Writes back whatever arrives.
pub struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// `127.0.0.1:0`.
pub fn ipv4() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// `[::1]:0`.
pub fn ipv6() -> SocketAddr {
    "[::1]:0".parse().unwrap()
}

/// An address where nothing listens (bound, then closed).
pub fn closed_port(family: SocketAddr) -> SocketAddr {
    std::net::TcpListener::bind(family).unwrap().local_addr().unwrap()
}

/// `len` bytes of a pattern that catches reordering and loss.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ (i / 251) as u8).collect()
}

/// Raises this process's open-file soft limit to its hard limit and
/// returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        setrlimit(Resource::Nofile, limit).expect("raising RLIMIT_NOFILE to the hard limit");
    }
    limit.current.unwrap_or(u64::MAX)
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A summary of a byte buffer for assertion messages.
pub fn describe(bytes: &[u8]) -> String {
    let mut out = format!("{} bytes", bytes.len());
    if bytes.len() <= 64 {
        let _ = write!(out, " {:?}", String::from_utf8_lossy(bytes));
    }
    out
}

/// Programs run by the interop, limits and memory tests.
pub mod programs;
