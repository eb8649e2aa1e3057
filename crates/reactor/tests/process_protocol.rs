//! An ordinary `Protocol` talking to a child over its stdin and stdout
//! (`Reactor::spawn_protocol`, Twisted's `ProcessEndpoint`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::address::{Address, ProcessAddress};
use gyre_core::clock::ClockExt;
use gyre_core::errors::{ProcessDone, ProcessTerminated};
use gyre_core::process::ExitStatus;
use gyre_core::{Failure, Protocol, Transport};
use gyre_reactor::Reactor;
use gyre_reactor::process::{ProcessOptions, StderrMode};

const LIMIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Seen {
    made: bool,
    data: Vec<u8>,
    data_at: Vec<Instant>,
    write_lost: bool,
    lost: Option<Failure>,
}

type Script = Box<dyn FnMut(&Transport, &Seen)>;

/// Records what it hears; `on_data` decides what to do next.
struct Client {
    seen: Rc<RefCell<Seen>>,
    on_made: Option<Script>,
    on_data: Option<Script>,
    reactor: Reactor,
}

impl Protocol for Client {
    fn connection_made(&mut self, transport: &Transport) {
        self.seen.borrow_mut().made = true;
        if let Some(f) = self.on_made.as_mut() {
            f(transport, &self.seen.borrow());
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        {
            let mut seen = self.seen.borrow_mut();
            seen.data.extend_from_slice(data);
            seen.data_at.push(Instant::now());
        }
        if let Some(f) = self.on_data.as_mut() {
            f(transport, &self.seen.borrow());
        }
    }

    fn write_connection_lost(&mut self, _transport: &Transport) {
        self.seen.borrow_mut().write_lost = true;
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        self.seen.borrow_mut().lost = Some(reason);
        drop(self.reactor.stop());
    }
}

fn run(
    options: ProcessOptions,
    stderr: StderrMode,
    on_made: Option<Script>,
    on_data: Option<Script>,
) -> (Rc<RefCell<Seen>>, Transport) {
    let reactor = Reactor::new().unwrap();
    let seen = Rc::new(RefCell::new(Seen::default()));
    let client = Client {
        seen: seen.clone(),
        on_made,
        on_data,
        reactor: reactor.clone(),
    };
    let transport = reactor.spawn_protocol(client, options, stderr).unwrap();
    let Address::Process(ProcessAddress { pid: Some(_) }) = transport.peer() else {
        panic!("peer is the child")
    };
    let (stopper, timed_out) = (reactor.clone(), Rc::new(std::cell::Cell::new(false)));
    let flag = timed_out.clone();
    let guard = reactor.call_later(LIMIT, move || {
        flag.set(true);
        drop(stopper.stop());
    });
    reactor.run().unwrap();
    guard.cancel();
    if timed_out.get() {
        if let Address::Process(ProcessAddress { pid: Some(pid) }) = transport.peer() {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid as i32).unwrap(),
                rustix::process::Signal::KILL,
            );
        }
        panic!("the test did not finish within {LIMIT:?}");
    }
    (seen, transport)
}

#[test]
fn a_protocol_talks_to_cat_like_to_a_network_peer() {
    let on_made: Script = Box::new(|transport, _| transport.write(b"ping\n"));
    let on_data: Script = Box::new(|transport, seen| {
        if seen.data.ends_with(b"\n") {
            transport.lose_connection();
        }
    });
    let (seen, transport) = run(
        ProcessOptions::new("cat"),
        StderrMode::Log,
        Some(on_made),
        Some(on_data),
    );
    let seen = seen.borrow();
    assert!(seen.made);
    assert_eq!(seen.data, b"ping\n");
    let reason = seen.lost.as_ref().expect("connection_lost");
    assert!(reason.is::<ProcessDone>(), "{reason}");
    assert!(transport.is_closed());
    transport.write(b"after the end: dropped");
}

#[test]
fn the_end_of_stdout_closes_and_a_failing_exit_is_reported() {
    let options = ProcessOptions::new("sh").args(["-c", "echo hi; echo oops >&2; exit 2"]);
    let (seen, _) = run(options, StderrMode::Discard, None, None);
    let seen = seen.borrow();
    assert_eq!(seen.data, b"hi\n", "stderr was discarded");
    let reason = seen.lost.as_ref().expect("connection_lost");
    let terminated = reason
        .downcast_ref::<ProcessTerminated>()
        .expect("ProcessTerminated");
    assert_eq!(terminated.status, ExitStatus::Code(2));
}

#[test]
fn stderr_can_be_delivered_with_stdout() {
    let options = ProcessOptions::new("sh").args(["-c", "echo out; sleep 0.05; echo err >&2"]);
    let (seen, _) = run(options, StderrMode::Deliver, None, None);
    assert_eq!(seen.borrow().data, b"out\nerr\n");
}

#[test]
fn half_close_shuts_stdin_and_reading_can_be_paused() {
    let reactor = Reactor::new().unwrap();
    let seen = Rc::new(RefCell::new(Seen::default()));
    let on_made: Script = Box::new(|transport, _| {
        transport.pause_reading();
        transport.write(b"line\n");
        transport.lose_write_connection();
    });
    let client = Client {
        seen: seen.clone(),
        on_made: Some(on_made),
        on_data: None,
        reactor: reactor.clone(),
    };
    let started = Instant::now();
    let transport = reactor
        .spawn_protocol(client, ProcessOptions::new("cat"), StderrMode::Log)
        .unwrap();
    let guard = {
        let stopper = reactor.clone();
        reactor.call_later(LIMIT, move || drop(stopper.stop()))
    };
    // cat echoes at once and exits on end of file, but nothing is delivered
    // until reading resumes 200 ms in.
    let resumer = transport.clone();
    let resume = reactor.call_later(Duration::from_millis(200), move || resumer.resume_reading());
    reactor.run().unwrap();
    assert!(guard.cancel(), "finished in time");
    drop(resume);
    let seen = seen.borrow();
    assert!(seen.write_lost, "write_connection_lost after stdin closed");
    assert_eq!(seen.data, b"line\n");
    assert!(
        seen.data_at[0] - started >= Duration::from_millis(190),
        "no data while paused"
    );
    assert!(seen.lost.as_ref().unwrap().is::<ProcessDone>());
    assert!(transport.is_closed());
}
