//! Signals. The stop-signal tests run a reactor in a child process — this
//! test binary again, filtered to the ignored `signal_child` test with
//! `GYRE_SIGNALS_CHILD` naming a scenario — and signal it by pid, so the
//! signals never reach the other tests of this binary. The child prints
//! markers on stdout; the parent drives it with gyre's own process support.

mod process_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::clock::ClockExt;
use gyre_core::deferred::defer_later;
use gyre_core::process::{ExitStatus, ProcessTransport};
use gyre_reactor::process::ProcessOptions;
use gyre_reactor::signals::UnsupportedSignal;
use gyre_reactor::{Phase, Reactor, SystemEvent};
use process_support::{Log, Reap, Recorder, run_bounded};

const CHILD_ENV: &str = "GYRE_SIGNALS_CHILD";
const LIMIT: Duration = Duration::from_secs(20);

/// What the parent does when the child printed `marker`.
type Step = (&'static str, Box<dyn FnOnce(&ProcessTransport)>);

/// Runs the child scenario `mode`, taking each step once its marker has
/// appeared (in order). Returns the child's output and how it ended.
fn drive_child(mode: &str, steps: Vec<Step>) -> (String, ExitStatus) {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let exe = std::env::current_exe().unwrap();
    let options = ProcessOptions::new(exe)
        .args([
            "--ignored",
            "--exact",
            "signal_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode);
    let steps = Rc::new(RefCell::new(steps.into_iter()));
    let next = Rc::new(RefCell::new(None::<Step>));
    let seen = Rc::new(RefCell::new(String::new()));
    let recorder = Recorder::new(&log)
        .stop_on_end(&reactor)
        .on_data(move |process, fd, data| {
            if fd != 1 {
                return;
            }
            seen.borrow_mut().push_str(&String::from_utf8_lossy(data));
            loop {
                let step = next.borrow_mut().take().or_else(|| steps.borrow_mut().next());
                let Some((marker, action)) = step else { return };
                if !seen.borrow().lines().any(|line| line == marker) {
                    *next.borrow_mut() = Some((marker, action));
                    return;
                }
                action(process);
            }
        });
    let process = reactor.spawn_process_with(recorder, options).unwrap();
    reap.add(&process);
    run_bounded(&reactor, LIMIT);
    let status = log.ended().expect("the child ended");
    (log.text(1), status)
}

fn send(signal: i32) -> Box<dyn FnOnce(&ProcessTransport)> {
    Box::new(move |process| process.signal_process(signal).unwrap())
}

/// Lines of `output` that are scenario markers (upper case), in order.
fn markers(output: &str) -> Vec<&str> {
    let marker =
        |line: &&str| !line.is_empty() && line.chars().all(|c| c.is_ascii_uppercase() || "-=".contains(c));
    output
        .lines()
        .filter(marker)
        .filter(|line| *line != "SIGINT-IGNORED")
        .collect()
}

#[test]
fn sigterm_stops_the_reactor_gracefully() {
    let (output, status) = drive_child("stop", vec![("READY", send(libc::SIGTERM))]);
    assert_eq!(status, ExitStatus::Code(0), "{output}");
    assert_eq!(
        markers(&output),
        [
            "READY",
            "BEFORE-SHUTDOWN",
            "BEFORE-SHUTDOWN-DONE",
            "DURING-SHUTDOWN",
            "AFTER-SHUTDOWN",
            "RUN-RETURNED"
        ],
        "{output}"
    );
}

#[test]
fn sigint_stops_the_reactor_unless_it_was_ignored() {
    let (output, status) = drive_child("stop", vec![("READY", send(libc::SIGINT))]);
    if output.contains("SIGINT-IGNORED") {
        // Started as a background job: SIGINT stays ignored, as in Twisted,
        // and the child runs until its own time limit.
        assert_eq!(status, ExitStatus::Code(3), "{output}");
        return;
    }
    assert_eq!(status, ExitStatus::Code(0), "{output}");
    assert!(output.contains("AFTER-SHUTDOWN\nRUN-RETURNED\n"), "{output}");
}

#[test]
fn after_run_returns_sigterm_has_its_default_action_again() {
    let steps = vec![("READY", send(libc::SIGTERM)), ("WAITING", send(libc::SIGTERM))];
    let (output, status) = drive_child("restore", steps);
    assert_eq!(
        status,
        ExitStatus::Signal {
            signal: libc::SIGTERM,
            core_dumped: false
        },
        "{output}"
    );
    assert!(output.contains("RUN-RETURNED\nWAITING\n"), "{output}");
    assert!(!output.contains("NOT-KILLED"), "{output}");
}

#[test]
fn two_reactors_each_hear_sigterm_and_an_opted_out_one_keeps_running() {
    let steps = vec![
        ("A-READY", Box::new(|_: &ProcessTransport| {}) as _),
        ("B-READY", send(libc::SIGTERM)),
    ];
    let (output, status) = drive_child("two", steps);
    assert_eq!(status, ExitStatus::Code(0), "{output}");
    for marker in [
        "A-SHUTDOWN",
        "A-RETURNED",
        "B-SIGNAL",
        "B-STILL-RUNNING=TRUE",
        "B-RETURNED",
    ] {
        assert!(
            output.lines().any(|line| line == marker),
            "{marker} missing: {output}"
        );
    }
    let position = |marker: &str| output.find(marker).unwrap();
    assert!(position("B-SIGNAL") < position("B-STILL-RUNNING"), "{output}");
}

#[test]
fn on_signal_runs_handlers_on_the_loop() {
    let reactor = Reactor::new().unwrap();
    reactor.set_handle_signals(false);
    assert!(!reactor.handles_signals());
    let heard = Rc::new(RefCell::new(Vec::new()));
    let (record, stopper) = (heard.clone(), reactor.clone());
    let id = reactor
        .on_signal(libc::SIGUSR1, move |signal| {
            record.borrow_mut().push(signal);
            drop(stopper.stop());
        })
        .unwrap();
    let me = rustix::process::getpid();
    reactor.call_when_running(move || {
        rustix::process::kill_process(me, rustix::process::Signal::USR1).unwrap();
    });
    run_bounded(&reactor, LIMIT);
    assert_eq!(*heard.borrow(), [libc::SIGUSR1]);
    assert!(reactor.remove_signal_handler(id));
    assert!(!reactor.remove_signal_handler(id));
}

#[test]
fn uncatchable_signals_are_refused() {
    let reactor = Reactor::new().unwrap();
    for signal in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, -1, 1000] {
        let failure = reactor.on_signal(signal, |_| {}).unwrap_err();
        assert_eq!(
            failure.downcast_ref::<UnsupportedSignal>().unwrap().signal,
            signal
        );
    }
}

/// The child side of the stop-signal tests; does nothing unless run by them.
#[test]
#[ignore = "run in a child process by the other tests of this file"]
fn signal_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        eprintln!("signal_child is a helper: it runs only in a child process the other tests start");
        return;
    };
    // libtest printed "test signal_child ... " without a line break.
    println!();
    // Bound the child: if no signal comes, exit with a code the parent sees.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(10));
        println!("TIMEOUT");
        std::process::exit(3);
    });
    match mode.as_str() {
        "stop" => graceful_run(),
        "restore" => {
            graceful_run();
            println!("WAITING");
            std::thread::sleep(Duration::from_secs(8));
            println!("NOT-KILLED");
            std::process::exit(4);
        }
        "two" => two_reactors(),
        other => panic!("unknown scenario {other}"),
    }
}

fn graceful_run() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let ignored = status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .unwrap()
        .trim();
    if u64::from_str_radix(ignored, 16).unwrap() & (1 << (libc::SIGINT - 1)) != 0 {
        println!("SIGINT-IGNORED");
    }
    let reactor = Reactor::new().unwrap();
    let clock = reactor.clone();
    reactor.add_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        println!("BEFORE-SHUTDOWN");
        // The shutdown waits for this Deferred.
        defer_later(&clock, Duration::from_millis(50), || {
            println!("BEFORE-SHUTDOWN-DONE");
            Ok(())
        })
    });
    reactor.add_trigger(Phase::During, SystemEvent::Shutdown, || {
        println!("DURING-SHUTDOWN")
    });
    reactor.add_trigger(Phase::After, SystemEvent::Shutdown, || println!("AFTER-SHUTDOWN"));
    reactor.call_when_running(|| println!("READY"));
    reactor.run().unwrap();
    println!("RUN-RETURNED");
}

fn two_reactors() {
    let a = std::thread::spawn(|| {
        let reactor = Reactor::new().unwrap();
        reactor.add_trigger(Phase::After, SystemEvent::Shutdown, || println!("A-SHUTDOWN"));
        reactor.call_when_running(|| println!("A-READY"));
        reactor.run().unwrap();
        println!("A-RETURNED");
    });
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let b = std::thread::spawn(move || {
        let reactor = Reactor::new().unwrap();
        reactor.set_handle_signals(false);
        reactor
            .on_signal(libc::SIGTERM, |_| println!("B-SIGNAL"))
            .unwrap();
        let handle = reactor.handle();
        reactor.call_when_running(move || {
            handle_tx.send(handle).unwrap();
            println!("B-READY");
        });
        // Keep a timer pending, as a busy reactor would.
        let _tick = reactor.call_later(Duration::from_secs(60), || {});
        reactor.run().unwrap();
        println!("B-RETURNED");
    });
    let handle = handle_rx.recv().unwrap();
    a.join().unwrap();
    handle.call_from_thread(|reactor| {
        println!(
            "B-STILL-RUNNING={}",
            if reactor.is_running() { "TRUE" } else { "FALSE" }
        );
        drop(reactor.stop());
    });
    b.join().unwrap();
}
