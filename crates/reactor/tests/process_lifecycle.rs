//! When a child's events arrive: `process_ended` exactly once, only after the
//! child exited *and* every pipe closed — including a child that closes its
//! stdout early and keeps running, and a grandchild that keeps the pipe open
//! after the child exited — and what closing pipes ourselves, losing the
//! connection and stopping the reactor do.

mod process_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::clock::ClockExt;
use gyre_core::process::ExitStatus;
use gyre_reactor::Reactor;
use process_support::{Event, Log, Reap, Recorder, run_bounded, sh, spawn_recorded};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn a_child_that_closes_stdout_early_ends_only_when_it_exits() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    // Closes stdout and stderr, then lives on for a while.
    let script = "echo bye; exec >&- 2>&-; sleep 0.3; exit 4";
    spawn_recorded(&reactor, &log, &mut reap, sh(script));
    run_bounded(&reactor, LIMIT);
    let events = log.events();
    assert_eq!(log.text(1), "bye\n");
    let stdout_closed = log.position(&Event::Lost(1)).unwrap();
    let exited = log.position(&Event::Exited(ExitStatus::Code(4))).unwrap();
    assert!(
        stdout_closed < exited,
        "stdout closed while the child still ran: {events:?}"
    );
    let gap = log.when(&Event::Exited(ExitStatus::Code(4))).unwrap() - log.when(&Event::Lost(1)).unwrap();
    assert!(
        gap >= Duration::from_millis(200),
        "the child ran on after closing stdout ({gap:?})"
    );
    assert_eq!(events.last(), Some(&Event::Ended(ExitStatus::Code(4))));
    assert_eq!(log.ended_count(), 1);
}

#[test]
fn a_grandchild_holding_the_pipe_delays_process_ended() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let grandchildren = reap.pids.clone();
    // The shell exits at once; its background `sleep` inherited stdout.
    let script = "sleep 0.5 & echo $!";
    let recorder = Recorder::new(&log)
        .stop_on_end(&reactor)
        .on_data(move |_, fd, data| {
            if fd == 1 {
                let pid = String::from_utf8_lossy(data)
                    .trim()
                    .parse()
                    .expect("the grandchild's pid");
                grandchildren.borrow_mut().push(pid);
            }
        });
    let process = reactor.spawn_process_with(recorder, sh(script)).unwrap();
    reap.add(&process);
    run_bounded(&reactor, LIMIT);
    let events = log.events();
    let exited = log
        .position(&Event::Exited(ExitStatus::Code(0)))
        .expect("the shell exited");
    let stdout_closed = log.position(&Event::Lost(1)).unwrap();
    assert!(
        exited < stdout_closed,
        "stdout stayed open after the exit: {events:?}"
    );
    let wait = log.when(&Event::Ended(ExitStatus::Code(0))).unwrap()
        - log.when(&Event::Exited(ExitStatus::Code(0))).unwrap();
    assert!(
        wait >= Duration::from_millis(300),
        "ended waited for the grandchild ({wait:?})"
    );
    assert_eq!(events.last(), Some(&Event::Ended(ExitStatus::Code(0))));
    assert_eq!(log.ended_count(), 1);
    assert_eq!(reap.pids.borrow().len(), 1);
}

#[test]
fn closing_our_end_of_stdout_is_reported_once_and_the_child_sees_a_broken_pipe() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let recorder = Recorder::new(&log)
        .stop_on_end(&reactor)
        .on_data(|process, fd, _| {
            if fd == 1 {
                process.close_stdout();
                process.close_stdout();
            }
        });
    // Keeps writing until a write fails (SIGPIPE is reset to default by std).
    let script = "while echo tick; do sleep 0.01; done";
    let process = reactor.spawn_process_with(recorder, sh(script)).unwrap();
    reap.add(&process);
    run_bounded(&reactor, LIMIT);
    assert_eq!(log.count(|e| *e == Event::Lost(1)), 1);
    match log.ended() {
        Some(ExitStatus::Signal { signal, .. }) => assert_eq!(signal, libc::SIGPIPE),
        Some(ExitStatus::Code(code)) => assert_ne!(code, 0, "echo failed"),
        None => panic!("no end: {:?}", log.events()),
    }
}

#[test]
fn lose_connection_flushes_stdin_then_closes_every_pipe() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    // `cat` copies stdin into a file, so what reached it can be checked.
    let file = std::env::temp_dir().join(format!("gyre-lose-connection-{}", std::process::id()));
    let recorder = Recorder::new(&log).stop_on_end(&reactor).on_made(|process| {
        process.write(b"last words\n");
        process.lose_connection();
        process.write(b"still sent, as in Twisted\n");
    });
    let script = format!("cat > '{}'", file.display());
    let process = reactor.spawn_process_with(recorder, sh(&script)).unwrap();
    reap.add(&process);
    run_bounded(&reactor, LIMIT);
    for fd in 0..3 {
        assert_eq!(log.count(|e| *e == Event::Lost(fd)), 1, "{:?}", log.events());
    }
    assert_eq!(
        log.ended(),
        Some(ExitStatus::Code(0)),
        "cat saw end of file and exited"
    );
    let written = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(written, "last words\nstill sent, as in Twisted\n");
}

#[test]
fn writes_after_the_child_closed_stdin_are_dropped() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let process = spawn_recorded(&reactor, &log, &mut reap, sh("exec 0<&-; sleep 0.2"));
    let writer = process.clone();
    let (log2, keep) = (log.clone(), Rc::new(RefCell::new(None)));
    let keep2 = keep.clone();
    // Keep writing until the reactor noticed the child closed its stdin.
    fn write_until_closed(
        reactor: &Reactor,
        process: gyre_core::process::ProcessTransport,
        log: Log,
        keep: Rc<RefCell<Option<gyre_core::clock::DelayedCall>>>,
    ) {
        if log.position(&Event::Lost(0)).is_some() {
            return;
        }
        process.write(b"into the void\n");
        let (r, k) = (reactor.clone(), keep.clone());
        *keep.borrow_mut() = Some(reactor.call_later(Duration::from_millis(5), move || {
            write_until_closed(&r, process, log, k)
        }));
    }
    write_until_closed(&reactor, writer, log2, keep2);
    run_bounded(&reactor, LIMIT);
    assert_eq!(log.count(|e| *e == Event::Lost(0)), 1);
    process.write(b"after the end: dropped, no panic");
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
    drop(keep);
}

#[test]
fn stopping_the_reactor_closes_pipes_and_the_next_run_reaps_the_child() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let stopper = reactor.clone();
    let recorder = Recorder::new(&log).on_made(move |_| drop(stopper.stop()));
    let process = reactor.spawn_process_with(recorder, sh("sleep 0.2")).unwrap();
    reap.add(&process);
    run_bounded(&reactor, LIMIT);
    for fd in 0..3 {
        assert_eq!(log.count(|e| *e == Event::Lost(fd)), 1, "{:?}", log.events());
    }
    assert_eq!(log.ended(), None, "still running: no end yet");
    assert_eq!(reactor.child_count(), 1);
    // Run again: the exit is noticed and the process ends.
    let watcher = reactor.clone();
    let poll = Rc::new(RefCell::new(None));
    let slot = poll.clone();
    let log2 = log.clone();
    fn wait_for_end(reactor: Reactor, log: Log, slot: Rc<RefCell<Option<gyre_core::clock::DelayedCall>>>) {
        if log.ended().is_some() {
            drop(reactor.stop());
            return;
        }
        let (r, s) = (reactor.clone(), slot.clone());
        *slot.borrow_mut() =
            Some(reactor.call_later(Duration::from_millis(10), move || wait_for_end(r, log, s)));
    }
    wait_for_end(watcher, log2, slot);
    run_bounded(&reactor, LIMIT);
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
    assert_eq!(log.ended_count(), 1);
    assert_eq!(reactor.child_count(), 0);
    drop(poll);
}
