//! Shared helpers for the policy tests: a protocol that records what
//! happens to it, and small constructors.
#![allow(dead_code)] // each test file uses a different part

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::errors::{ConnectionAborted, ConnectionDone, ConnectionLost, TimedOut};
use gyre_core::{Address, Clock, Failure, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_testing::ManualClock;

/// What a [`Recorder`] saw.
#[derive(Default)]
pub struct Seen {
    pub made: bool,
    pub peer: Option<Address>,
    pub data: Vec<u8>,
    pub read_closed: bool,
    pub lost: Option<Failure>,
    pub transport: Option<Transport>,
}

pub type Shared = Rc<RefCell<Seen>>;

/// Records its events; optionally echoes, optionally writes a greeting.
pub struct Recorder {
    pub seen: Shared,
    pub echo: bool,
    pub greeting: Vec<u8>,
}

impl Recorder {
    pub fn new() -> (Recorder, Shared) {
        let seen = Shared::default();
        (
            Recorder {
                seen: seen.clone(),
                echo: false,
                greeting: Vec::new(),
            },
            seen,
        )
    }

    pub fn echo() -> (Recorder, Shared) {
        let (mut recorder, seen) = Recorder::new();
        recorder.echo = true;
        (recorder, seen)
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, transport: &Transport) {
        let mut seen = self.seen.borrow_mut();
        seen.made = true;
        seen.peer = Some(transport.peer());
        seen.transport = Some(transport.clone());
        drop(seen);
        if !self.greeting.is_empty() {
            transport.write(&self.greeting);
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.seen.borrow_mut().data.extend_from_slice(data);
        if self.echo {
            transport.write(data);
        }
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.seen.borrow_mut().read_closed = true;
        transport.lose_connection();
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        let mut seen = self.seen.borrow_mut();
        assert!(seen.lost.is_none(), "connection_lost twice");
        seen.lost = Some(reason);
    }
}

/// A factory of echoing recorders; the returned list collects what each saw.
pub fn echo_factory() -> (SharedFactory, Rc<RefCell<Vec<Shared>>>) {
    let all: Rc<RefCell<Vec<Shared>>> = Rc::default();
    let list = all.clone();
    let factory = SharedFactory::new(protocol_factory(move |_: &Address| {
        let (recorder, seen) = Recorder::echo();
        list.borrow_mut().push(seen);
        recorder
    }));
    (factory, all)
}

/// A manual clock and the same clock as `Rc<dyn Clock>`.
pub fn clock() -> (ManualClock, Rc<dyn Clock>) {
    let clock = ManualClock::new();
    let shared: Rc<dyn Clock> = Rc::new(clock.clone());
    (clock, shared)
}

/// A short name for the framework error inside a failure.
pub fn reason(failure: &Failure) -> &'static str {
    if failure.is::<ConnectionDone>() {
        "done"
    } else if failure.is::<ConnectionLost>() {
        "lost"
    } else if failure.is::<ConnectionAborted>() {
        "aborted"
    } else if failure.is::<TimedOut>() {
        "timed out"
    } else {
        "other"
    }
}

/// The reason the recorder's connection ended with, as a short name.
pub fn lost(seen: &Shared) -> &'static str {
    seen.borrow().lost.as_ref().map_or("not lost", reason)
}

/// An IPv4 TCP address.
pub fn tcp(addr: &str) -> Address {
    Address::tcp(addr.parse().unwrap())
}
