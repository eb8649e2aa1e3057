//! Shared helpers for the child process tests (`tests/process*.rs`): a
//! process protocol that records every event in order and can be scripted
//! with closures, a bounded run, and a guard that kills leftover children by
//! pid when a test fails part way.
#![allow(dead_code)] // each test file uses a different part

#[path = "../bounded/mod.rs"]
mod bounded;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bounded::{Leave, within};
use gyre_core::process::{ChildFd, ExitStatus, ProcessProtocol, ProcessTransport};
use gyre_reactor::Reactor;
use gyre_reactor::process::ProcessOptions;

/// One event a process protocol heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Made,
    Data(u32, Vec<u8>),
    Lost(u32),
    Exited(ExitStatus),
    Ended(ExitStatus),
}

/// The events of one process, in order, with when they happened.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<(Instant, Event)>>>);

impl Log {
    pub fn push(&self, event: Event) {
        self.0.borrow_mut().push((Instant::now(), event));
    }

    pub fn events(&self) -> Vec<Event> {
        self.0.borrow().iter().map(|(_, event)| event.clone()).collect()
    }

    /// Everything received on child descriptor `fd`, joined.
    pub fn data(&self, fd: u32) -> Vec<u8> {
        let mut all = Vec::new();
        for (_, event) in self.0.borrow().iter() {
            if let Event::Data(from, bytes) = event
                && *from == fd
            {
                all.extend_from_slice(bytes);
            }
        }
        all
    }

    pub fn text(&self, fd: u32) -> String {
        String::from_utf8_lossy(&self.data(fd)).into_owned()
    }

    pub fn position(&self, wanted: &Event) -> Option<usize> {
        self.events().iter().position(|event| event == wanted)
    }

    pub fn when(&self, wanted: &Event) -> Option<Instant> {
        self.0
            .borrow()
            .iter()
            .find(|(_, event)| event == wanted)
            .map(|(at, _)| *at)
    }

    pub fn count(&self, matches: impl Fn(&Event) -> bool) -> usize {
        self.events().iter().filter(|event| matches(event)).count()
    }

    pub fn ended(&self) -> Option<ExitStatus> {
        self.events().iter().find_map(|event| match event {
            Event::Ended(status) => Some(*status),
            _ => None,
        })
    }

    pub fn ended_count(&self) -> usize {
        self.count(|event| matches!(event, Event::Ended(_)))
    }
}

type OnMade = Box<dyn FnMut(&ProcessTransport)>;
type OnData = Box<dyn FnMut(&ProcessTransport, u32, &[u8])>;
type OnEnded = Box<dyn FnMut(&ProcessTransport, ExitStatus)>;

/// A process protocol that logs events and runs optional scripts.
#[derive(Default)]
pub struct Recorder {
    pub log: Log,
    pub on_made: Option<OnMade>,
    pub on_data: Option<OnData>,
    pub on_ended: Option<OnEnded>,
}

impl Recorder {
    pub fn new(log: &Log) -> Self {
        Recorder {
            log: log.clone(),
            ..Recorder::default()
        }
    }

    pub fn on_made(mut self, f: impl FnMut(&ProcessTransport) + 'static) -> Self {
        self.on_made = Some(Box::new(f));
        self
    }

    pub fn on_data(mut self, f: impl FnMut(&ProcessTransport, u32, &[u8]) + 'static) -> Self {
        self.on_data = Some(Box::new(f));
        self
    }

    pub fn on_ended(mut self, f: impl FnMut(&ProcessTransport, ExitStatus) + 'static) -> Self {
        self.on_ended = Some(Box::new(f));
        self
    }

    /// Stops `reactor` when the process ends.
    pub fn stop_on_end(self, reactor: &Reactor) -> Self {
        let reactor = reactor.clone();
        self.on_ended(move |_, _| drop(reactor.stop()))
    }
}

impl ProcessProtocol for Recorder {
    fn connection_made(&mut self, process: &ProcessTransport) {
        self.log.push(Event::Made);
        if let Some(f) = self.on_made.as_mut() {
            f(process);
        }
    }

    fn child_data_received(&mut self, process: &ProcessTransport, fd: ChildFd, data: &[u8]) {
        self.log.push(Event::Data(fd.0, data.to_vec()));
        if let Some(f) = self.on_data.as_mut() {
            f(process, fd.0, data);
        }
    }

    fn child_connection_lost(&mut self, _process: &ProcessTransport, fd: ChildFd) {
        self.log.push(Event::Lost(fd.0));
    }

    fn process_exited(&mut self, _process: &ProcessTransport, status: ExitStatus) {
        self.log.push(Event::Exited(status));
    }

    fn process_ended(&mut self, process: &ProcessTransport, status: ExitStatus) {
        self.log.push(Event::Ended(status));
        if let Some(f) = self.on_ended.as_mut() {
            f(process, status);
        }
    }
}

/// `sh -c script`.
pub fn sh(script: &str) -> ProcessOptions {
    ProcessOptions::new("sh").args(["-c", script])
}

/// Spawns `options` with a [`Recorder`] on `log` that stops `reactor` when
/// the child has ended, and lists the child in `reap`.
pub fn spawn_recorded(
    reactor: &Reactor,
    log: &Log,
    reap: &mut Reap,
    options: ProcessOptions,
) -> ProcessTransport {
    let process = reactor
        .spawn_process_with(Recorder::new(log).stop_on_end(reactor), options)
        .unwrap();
    reap.add(&process);
    process
}

/// Runs `reactor` until something stops it, failing the test after `limit`.
pub fn run_bounded(reactor: &Reactor, limit: Duration) {
    within(reactor, limit, Leave::Stop, || {
        reactor.run().expect("the reactor runs")
    });
}

/// Kills, on drop, every listed child that has not been reaped (so a
/// failing test leaves no process behind), and any extra pids.
#[derive(Default)]
pub struct Reap {
    pub processes: Vec<ProcessTransport>,
    pub pids: Rc<RefCell<Vec<u32>>>,
}

impl Reap {
    pub fn add(&mut self, process: &ProcessTransport) {
        self.processes.push(process.clone());
    }
}

impl Drop for Reap {
    fn drop(&mut self) {
        for process in &self.processes {
            if process.exit_status().is_none() {
                drop(process.signal_process(libc::SIGKILL));
            }
        }
        for &pid in self.pids.borrow().iter() {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}
