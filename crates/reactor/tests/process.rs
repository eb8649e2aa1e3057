//! Child processes against real programs (`sh`, `cat`, `printf`, `false`,
//! `sleep` from coreutils/dash): output per descriptor, stdin, exit codes,
//! signals, environment and working directory, spawn failures, and many
//! children at once.

mod process_support;

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use gyre_core::capability::ProcessId;
use gyre_core::errors::{ProcessDone, ProcessTerminated};
use gyre_core::process::ExitStatus;
use gyre_reactor::Reactor;
use gyre_reactor::process::ProcessExitedAlready;
use process_support::{Event, Log, Reap, Recorder, run_bounded, sh, spawn_recorded};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn stdout_and_stderr_arrive_per_descriptor() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let process = spawn_recorded(&reactor, &log, &mut reap, sh("printf out; printf err >&2"));
    run_bounded(&reactor, LIMIT);
    assert_eq!(log.text(1), "out");
    assert_eq!(log.text(2), "err");
    let events = log.events();
    assert_eq!(events.first(), Some(&Event::Made));
    assert_eq!(events.last(), Some(&Event::Ended(ExitStatus::Code(0))));
    for fd in 0..3 {
        assert_eq!(
            log.count(|e| *e == Event::Lost(fd)),
            1,
            "pipe {fd} reported closed once: {events:?}"
        );
    }
    assert_eq!(log.count(|e| *e == Event::Exited(ExitStatus::Code(0))), 1);
    assert_eq!(log.ended_count(), 1);
    assert_eq!(process.exit_status(), Some(ExitStatus::Code(0)));
    assert!(ExitStatus::Code(0).into_failure().is::<ProcessDone>());
    assert_eq!(reactor.child_count(), 0);
}

#[test]
fn cat_echoes_stdin_and_exits_when_it_is_closed() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let process = reactor
        .spawn_process(
            Recorder::new(&log).stop_on_end(&reactor),
            "cat",
            [""; 0],
            None,
            None,
        )
        .unwrap();
    reap.add(&process);
    // Written before `connection_made`: buffered and flushed at the end of the turn.
    process.write(b"hello ");
    process.write(b"world\n");
    process.close_stdin();
    process.write(b"sent: the close waits for the flush\n");
    run_bounded(&reactor, LIMIT);
    assert_eq!(log.text(1), "hello world\nsent: the close waits for the flush\n");
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
    let closed_stdin = log.position(&Event::Lost(0)).unwrap();
    let exited = log.position(&Event::Exited(ExitStatus::Code(0))).unwrap();
    assert!(
        closed_stdin < exited,
        "stdin closed before cat exited: {:?}",
        log.events()
    );
}

#[test]
fn a_megabyte_round_trips_through_cat() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let payload: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let process = reactor
        .spawn_process(
            Recorder::new(&log).stop_on_end(&reactor),
            "cat",
            [""; 0],
            None,
            None,
        )
        .unwrap();
    reap.add(&process);
    process.write(&payload);
    process.close_stdin();
    run_bounded(&reactor, LIMIT);
    assert_eq!(log.data(1).len(), payload.len());
    assert!(log.data(1) == payload, "the data came back unchanged");
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
}

#[test]
fn non_zero_exit_is_process_terminated_with_the_code() {
    let reactor = Reactor::new().unwrap();
    let (three, one) = (Log::default(), Log::default());
    let mut reap = Reap::default();
    let stop_after_both = {
        let reactor = reactor.clone();
        let ended = std::rc::Rc::new(std::cell::Cell::new(0));
        move |_: &_, _| {
            ended.set(ended.get() + 1);
            if ended.get() == 2 {
                drop(reactor.stop());
            }
        }
    };
    let first = reactor.spawn_process_with(
        Recorder::new(&three).on_ended(stop_after_both.clone()),
        sh("exit 3"),
    );
    reap.add(&first.unwrap());
    let second = reactor.spawn_process(
        Recorder::new(&one).on_ended(stop_after_both),
        "false",
        [""; 0],
        None,
        None,
    );
    reap.add(&second.unwrap());
    run_bounded(&reactor, LIMIT);
    assert_eq!(three.ended(), Some(ExitStatus::Code(3)));
    assert_eq!(one.ended(), Some(ExitStatus::Code(1)));
    let failure = ExitStatus::Code(3).into_failure();
    assert_eq!(
        failure.downcast_ref::<ProcessTerminated>().unwrap().status,
        ExitStatus::Code(3)
    );
}

fn killed_by(signal: i32) -> (Log, gyre_core::process::ProcessTransport) {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let recorder = Recorder::new(&log)
        .on_made(move |process| process.signal_process(signal).unwrap())
        .stop_on_end(&reactor);
    let process = reactor
        .spawn_process(recorder, "sleep", ["30"], None, None)
        .unwrap();
    reap.add(&process);
    run_bounded(&reactor, LIMIT);
    (log, process)
}

#[test]
fn a_child_killed_by_a_signal_reports_the_signal() {
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let (log, process) = killed_by(signal);
        let status = ExitStatus::Signal {
            signal,
            core_dumped: false,
        };
        assert_eq!(log.ended(), Some(status));
        assert_eq!(log.ended_count(), 1);
        let failure = status.into_failure();
        assert_eq!(
            failure.downcast_ref::<ProcessTerminated>().unwrap().status,
            status
        );
        // Reaped: the pid is gone and may be someone else's now.
        assert_eq!(process.pid(), None);
        let refused = process.signal_process(libc::SIGTERM).unwrap_err();
        assert!(refused.is::<ProcessExitedAlready>(), "{refused}");
    }
}

#[test]
fn pid_is_reported_while_the_child_runs() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let seen = std::rc::Rc::new(std::cell::Cell::new(None));
    let record = seen.clone();
    let recorder = Recorder::new(&log).stop_on_end(&reactor).on_made(move |process| {
        record.set(process.capability::<ProcessId>().ok());
        process.close_stdin();
    });
    let process = reactor
        .spawn_process_with(recorder, sh("echo $$; read line"))
        .unwrap();
    reap.add(&process);
    let pid = process.pid().expect("running");
    run_bounded(&reactor, LIMIT);
    assert_eq!(seen.get(), Some(pid));
    assert_eq!(log.text(1).trim(), pid.to_string(), "the child's own $$");
    assert!(process.capability::<ProcessId>().is_err(), "no pid after reaping");
}

#[test]
fn env_and_cwd_are_honoured() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let dir = std::env::temp_dir().canonicalize().unwrap();
    let env: Vec<(OsString, OsString)> = vec![("GYRE_TEST".into(), "from the parent".into())];
    let script = "echo \"$GYRE_TEST\"; echo \"${HOME-no home}\"; pwd";
    let process = reactor
        .spawn_process(
            Recorder::new(&log).stop_on_end(&reactor),
            "/bin/sh",
            ["-c", script],
            Some(env),
            Some(&dir),
        )
        .unwrap();
    reap.add(&process);
    run_bounded(&reactor, LIMIT);
    let expected = format!("from the parent\nno home\n{}\n", dir.display());
    assert_eq!(
        log.text(1),
        expected,
        "exactly the given environment, in the given directory"
    );
}

#[test]
fn environment_is_inherited_and_edited_by_default() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let options = sh("echo \"${PATH:+has path} $GYRE_ADDED\"").env("GYRE_ADDED", "added");
    spawn_recorded(&reactor, &log, &mut reap, options);
    run_bounded(&reactor, LIMIT);
    assert_eq!(log.text(1), "has path added\n");
}

#[test]
fn spawning_a_missing_program_or_directory_fails_cleanly() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let sources = reactor.source_count();
    let missing = reactor.spawn_process(
        Recorder::new(&log),
        "/nonexistent/gyre-no-such-program",
        [""; 0],
        None,
        None,
    );
    let failure = missing.unwrap_err();
    let io = failure.downcast_ref::<std::io::Error>().expect("an I/O error");
    assert_eq!(io.kind(), ErrorKind::NotFound);
    assert!(failure.to_string().contains("gyre-no-such-program"), "{failure}");
    let bad_dir = reactor.spawn_process(
        Recorder::new(&log),
        "true",
        [""; 0],
        None,
        Some(Path::new("/nonexistent/dir")),
    );
    assert!(bad_dir.is_err());
    assert_eq!(reactor.child_count(), 0);
    assert_eq!(reactor.source_count(), sources, "nothing left registered");
    // No callback ever runs for a child that did not start.
    let stopper = reactor.clone();
    reactor.call_when_running(move || drop(stopper.stop()));
    run_bounded(&reactor, LIMIT);
    assert!(log.events().is_empty(), "{:?}", log.events());
}

#[test]
fn a_hundred_children_in_parallel() {
    const N: usize = 100;
    let reactor = Reactor::new().unwrap();
    let mut reap = Reap::default();
    let ended = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut logs = Vec::new();
    for i in 0..N {
        let log = Log::default();
        let (reactor2, ended) = (reactor.clone(), ended.clone());
        let recorder = Recorder::new(&log).on_ended(move |_, _| {
            ended.set(ended.get() + 1);
            if ended.get() == N {
                drop(reactor2.stop());
            }
        });
        let process = reactor
            .spawn_process(recorder, "printf", [format!("child {i}")], None, None)
            .unwrap();
        reap.add(&process);
        logs.push(log);
    }
    assert_eq!(reactor.child_count(), N);
    run_bounded(&reactor, Duration::from_secs(30));
    for (i, log) in logs.iter().enumerate() {
        assert_eq!(log.text(1), format!("child {i}"));
        assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
        assert_eq!(log.ended_count(), 1);
    }
    assert_eq!(reactor.child_count(), 0);
}
