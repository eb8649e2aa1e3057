//! Review fixes: an aborted process connection discards unsent stdin; a
//! crash abandons a shutdown still waiting for its "before" triggers; many
//! triggers of one phase are taken in one pass.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::address::Address;
use gyre_core::clock::ClockExt;
use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::interfaces::ReactorUdp;
use gyre_core::{Deferred, Failure, Protocol, Transport};
use gyre_reactor::process::{ProcessOptions, StderrMode};
use gyre_reactor::{Phase, Reactor, SystemEvent};

const LIMIT: Duration = Duration::from_secs(10);

/// Writes to the child once it said it is ready, then aborts.
struct WriteThenAbort {
    reactor: Reactor,
    lost: Rc<Cell<bool>>,
}

impl Protocol for WriteThenAbort {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if data.starts_with(b"ready") {
            transport.write(b"secret\n");
            transport.abort_connection();
        }
    }

    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {
        self.lost.set(true);
        drop(self.reactor.stop());
    }
}

#[test]
fn aborting_a_process_connection_discards_unsent_stdin() {
    let dir = std::env::temp_dir().join(format!("gyre-review-low-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("stdin-seen");
    // A background reader that survives the SIGKILL of the shell keeps the
    // child's stdin open and copies whatever reaches it into a file, then
    // "end" once stdin is closed.
    // (An asynchronous list's stdin is /dev/null, so it reads a copy of
    // the shell's stdin made before.)
    let script = r#"exec 3<&0; (cat <&3; echo end) >"$1" & exec 3<&-; echo ready; exec sleep 30"#;
    let options = ProcessOptions::new("sh").args(["-c", script, "sh", out.to_str().unwrap()]);
    let reactor = Reactor::new().unwrap();
    let lost = Rc::new(Cell::new(false));
    let protocol = WriteThenAbort {
        reactor: reactor.clone(),
        lost: lost.clone(),
    };
    reactor
        .spawn_protocol(protocol, options, StderrMode::Discard)
        .unwrap();
    let stopper = reactor.clone();
    let guard = reactor.call_later(LIMIT, move || drop(stopper.stop()));
    reactor.run().unwrap();
    assert!(guard.cancel(), "the aborted connection was lost in time");
    assert!(lost.get());
    let deadline = Instant::now() + LIMIT;
    let seen = loop {
        let seen = std::fs::read_to_string(&out).unwrap_or_default();
        if seen.ends_with("end\n") || Instant::now() > deadline {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(seen, "end\n", "the child's stdin got nothing after the abort");
}

struct Ignore;

impl DatagramProtocol for Ignore {
    fn datagram_received(&mut self, _transport: &DatagramTransport, _data: &[u8], _from: &Address) {}
}

#[test]
fn a_crash_abandons_a_shutdown_waiting_for_its_before_triggers() {
    let reactor = Reactor::new().unwrap();
    // A "before shutdown" trigger whose Deferred fires only when told.
    let (waiting, resolver) = Deferred::<()>::new();
    let waiting = RefCell::new(Some(waiting));
    reactor.add_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        waiting.borrow_mut().take().expect("runs once")
    });
    let r = reactor.clone();
    reactor.call_when_running(move || {
        r.stop().unwrap();
        let again = r.clone();
        drop(r.call_later(Duration::from_millis(20), move || again.crash()));
    });
    reactor.run().unwrap();
    assert!(!reactor.is_running());

    // The next run has a port open; the old shutdown's trigger fires
    // during it, and must not close the port or end the run.
    let port = reactor
        .listen_udp("127.0.0.1:0".parse().unwrap(), Box::new(Ignore))
        .unwrap();
    drop(reactor.call_later(Duration::from_millis(10), move || resolver.callback(())));
    let checked = Rc::new(Cell::new(None));
    let (r, seen, open) = (reactor.clone(), checked.clone(), port.clone());
    drop(reactor.call_later(Duration::from_millis(150), move || {
        seen.set(Some(open.write_to(b"still open?", &open.host()).is_ok()));
        r.crash();
    }));
    let stopper = reactor.clone();
    let guard = reactor.call_later(LIMIT, move || stopper.crash());
    reactor.run().unwrap();
    guard.cancel();
    assert_eq!(
        checked.get(),
        Some(true),
        "the second run went on, with its port open, until its own crash"
    );
    drop(port.stop_listening());
}

#[test]
fn many_triggers_of_one_phase_run_in_one_pass() {
    let reactor = Reactor::new().unwrap();
    let ran = Rc::new(Cell::new(0usize));
    let count = 300_000;
    for _ in 0..count {
        let ran = ran.clone();
        reactor.add_trigger(Phase::During, SystemEvent::Startup, move || {
            ran.set(ran.get() + 1)
        });
    }
    let r = reactor.clone();
    reactor.call_when_running(move || drop(r.stop()));
    let started = Instant::now();
    reactor.run().unwrap();
    let took = started.elapsed();
    assert_eq!(ran.get(), count);
    // Taking them one `Vec::remove` at a time moved the rest of the list
    // for each: over 20 s for this many (debug build). In one pass it is
    // a fraction of a second.
    assert!(took < Duration::from_secs(5), "{count} triggers took {took:?}");
}
