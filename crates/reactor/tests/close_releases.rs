//! `Reactor::close` releases what user code handed to the reactor beyond
//! sources, timers and queues: the protocols of children not yet reaped and
//! `on_signal` handlers. Each of those may hold a `Reactor` clone, a
//! reference cycle only `close` can break. The children themselves are not
//! left as zombies, although the closed reactor never reaps them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gyre_core::process::{ProcessProtocol, ProcessTransport};
use gyre_reactor::Reactor;
use gyre_reactor::process::ProcessOptions;

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A process protocol holding its reactor, as protocols that stop the loop
/// or schedule work do.
struct HoldsReactor {
    _reactor: Reactor,
    _flag: DropFlag,
}

impl ProcessProtocol for HoldsReactor {
    fn connection_made(&mut self, _: &ProcessTransport) {}
}

/// The state letter of `/proc/PID/stat`, or `None` once the pid is gone.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Waits (bounded) until `pid` is reaped; panics if it stays a zombie or
/// keeps running.
fn assert_reaped(pid: u32) {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let now = state(pid);
        if now.is_none() {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "child {pid} was never reaped (state {now:?})"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn close_drops_the_protocol_of_a_live_child_and_the_child_is_reaped() {
    let reactor = Reactor::new().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let protocol = HoldsReactor {
        _reactor: reactor.clone(),
        _flag: DropFlag(dropped.clone()),
    };
    // Waits for its stdin to close, which close() does.
    let options = ProcessOptions::new("sh").args(["-c", "read line; exit 3"]);
    let process = reactor.spawn_process_with(protocol, options).unwrap();
    let pid = process.pid().expect("a running child has a pid");
    reactor.run_once(Some(Duration::ZERO)).unwrap();
    assert!(!dropped.load(Ordering::SeqCst));
    reactor.close();
    drop(reactor);
    assert!(
        dropped.load(Ordering::SeqCst),
        "close() kept the process protocol"
    );
    assert_eq!(process.pid(), None, "a forgotten child's pid may be reused");
    assert_reaped(pid);
}

#[test]
fn close_forgets_a_child_that_outlives_it_and_reaps_it_when_it_exits() {
    let reactor = Reactor::new().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let protocol = HoldsReactor {
        _reactor: reactor.clone(),
        _flag: DropFlag(dropped.clone()),
    };
    // Ignores its closed stdin; runs until we signal it by pid.
    let options = ProcessOptions::new("sleep").args(["30"]);
    let process = reactor.spawn_process_with(protocol, options).unwrap();
    let pid = process.pid().unwrap();
    reactor.close();
    drop(reactor);
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(
        state(pid).map(|s| s != 'Z'),
        Some(true),
        "close() does not kill children"
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert_reaped(pid);
}

#[test]
fn close_drops_signal_handlers() {
    let reactor = Reactor::new().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let held = reactor.clone();
    reactor
        .on_signal(libc::SIGUSR2, move |_| {
            let _ = (&flag, held.stop());
        })
        .unwrap();
    reactor.close();
    drop(reactor);
    assert!(
        dropped.load(Ordering::SeqCst),
        "close() kept the on_signal handler"
    );
}

#[test]
fn a_closed_reactor_refuses_children_and_signal_handlers() {
    let reactor = Reactor::new().unwrap();
    reactor.close();
    let dropped = Arc::new(AtomicBool::new(false));
    let protocol = HoldsReactor {
        _reactor: reactor.clone(),
        _flag: DropFlag(dropped.clone()),
    };
    let spawned = reactor.spawn_process_with(protocol, ProcessOptions::new("true"));
    assert!(spawned.is_err(), "spawned a child on a closed reactor");
    assert!(dropped.load(Ordering::SeqCst), "the refused protocol is dropped");
    assert_eq!(reactor.child_count(), 0);

    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let held = reactor.clone();
    let added = reactor.on_signal(libc::SIGUSR2, move |_| {
        let _ = (&flag, held.stop());
    });
    assert!(added.is_err(), "added a signal handler to a closed reactor");
    assert!(dropped.load(Ordering::SeqCst), "the refused handler is dropped");
}
