//! Descriptor wiring beyond the three standard pipes: extra child
//! descriptors read and written by the reactor (Twisted's `childFDs`), `2>&1`,
//! passing our own descriptor, `/dev/null`, and PTY mode.

mod process_support;

use std::io::Read;
use std::time::Duration;

use gyre_core::process::{ChildFd, ExitStatus};
use gyre_reactor::Reactor;
use gyre_reactor::process::{ChildFdMode, ProcessOptions};
use process_support::{Event, Log, Reap, Recorder, run_bounded, sh};

const LIMIT: Duration = Duration::from_secs(10);

fn run(options: ProcessOptions, script: impl FnOnce(Recorder) -> Recorder) -> Log {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let recorder = script(Recorder::new(&log).stop_on_end(&reactor));
    let process = reactor.spawn_process_with(recorder, options).unwrap();
    reap.add(&process);
    run_bounded(&reactor, LIMIT);
    log
}

#[test]
fn the_child_writes_to_an_extra_descriptor_we_read() {
    let options = sh("echo on three >&3; echo on out").child_fd(ChildFd(3), ChildFdMode::FromChild);
    let log = run(options, |r| r);
    assert_eq!(log.text(3), "on three\n");
    assert_eq!(log.text(1), "on out\n");
    assert_eq!(log.count(|e| *e == Event::Lost(3)), 1);
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
}

#[test]
fn we_write_to_an_extra_descriptor_the_child_reads() {
    let options = sh("cat <&4").child_fd(ChildFd(4), ChildFdMode::ToChild);
    let log = run(options, |r| {
        r.on_made(|process| {
            process.write_to_child(ChildFd(4), b"via four\n");
            process.close_child_fd(ChildFd(4));
        })
    });
    assert_eq!(log.text(1), "via four\n");
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
}

#[test]
fn several_extra_descriptors_land_at_their_numbers() {
    // Numbers that clash with where the pipes were made in this process.
    let options = sh("echo a >&3; echo b >&5; echo c >&7")
        .child_fd(ChildFd(7), ChildFdMode::FromChild)
        .child_fd(ChildFd(5), ChildFdMode::FromChild)
        .child_fd(ChildFd(3), ChildFdMode::FromChild);
    let log = run(options, |r| r);
    assert_eq!(
        (log.text(3), log.text(5), log.text(7)),
        ("a\n".into(), "b\n".into(), "c\n".into())
    );
}

#[test]
fn stderr_can_share_stdout_and_stdin_can_be_null() {
    let options = sh("echo one; echo two >&2; cat; echo three")
        .child_fd(ChildFd::STDERR, ChildFdMode::SameAs(ChildFd::STDOUT))
        .child_fd(ChildFd::STDIN, ChildFdMode::Null);
    let log = run(options, |r| r);
    assert_eq!(log.text(1), "one\ntwo\nthree\n");
    assert!(log.data(2).is_empty());
    assert_eq!(
        log.count(|e| matches!(e, Event::Lost(_))),
        1,
        "only stdout was a pipe: {:?}",
        log.events()
    );
}

#[test]
fn closed_standard_descriptors_are_dev_null_and_extra_ones_absent() {
    let script =
        "test -e /dev/fd/3 || echo no three >&2; echo hidden; x=$(readlink /proc/$$/fd/1); echo $x >&2";
    let options = sh(script)
        .child_fd(ChildFd(3), ChildFdMode::FromChild)
        .close_child_fd(ChildFd(3))
        .close_child_fd(ChildFd::STDOUT);
    let log = run(options, |r| r);
    assert_eq!(log.text(2), "no three\n/dev/null\n");
    assert!(log.data(1).is_empty() && log.data(3).is_empty());
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
}

#[test]
fn a_descriptor_of_ours_can_be_handed_to_the_child() {
    let (read, write) = rustix::pipe::pipe().unwrap();
    let options = sh("echo through our pipe >&6").child_fd(ChildFd(6), ChildFdMode::Fd(write));
    let log = run(options, |r| r);
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
    let mut text = String::new();
    std::fs::File::from(read).read_to_string(&mut text).unwrap();
    assert_eq!(
        text, "through our pipe\n",
        "our write end was closed after the spawn, so this ends"
    );
}

#[test]
fn a_pty_child_sees_a_terminal() {
    let options = sh("test -t 0 && test -t 1 && test -t 2 && echo tty; stty size")
        .pty_size(24, 100)
        .pty(true);
    let log = run(options, |r| r);
    let text = log.text(1);
    assert!(text.contains("tty\r\n"), "{text:?}");
    assert!(text.contains("24 100"), "the size was set: {text:?}");
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)));
    for fd in 0..3 {
        assert_eq!(log.count(|e| *e == Event::Lost(fd)), 1, "{:?}", log.events());
    }
}

#[test]
fn a_pty_child_reads_lines_and_end_of_file() {
    let options = ProcessOptions::new("cat").pty(true);
    let log = run(options, |r| {
        r.on_made(|process| {
            process.write(b"typed\n");
            // A terminal has no stdin of its own to close: this sends ^D.
            process.close_stdin();
        })
    });
    let text = log.text(1);
    // The terminal echoes the line, then cat prints it.
    assert_eq!(text.matches("typed\r\n").count(), 2, "{text:?}");
    assert_eq!(log.ended(), Some(ExitStatus::Code(0)), "{:?}", log.events());
}

#[test]
fn a_pty_child_is_a_session_leader_with_a_controlling_terminal() {
    // `ps -o sid=,tpgid=` would need procps; /proc answers directly.
    let options = sh("cat /proc/$$/stat").pty(true);
    let log = run(options, |r| r);
    let text = log.text(1);
    let fields: Vec<&str> = text.rsplit(')').next().unwrap().split_whitespace().collect();
    // After the command name: state ppid pgrp session tty_nr tpgid ...
    let (pgrp, session, tty_nr) = (fields[2], fields[3], fields[4]);
    let pid = text.split_whitespace().next().unwrap();
    assert_eq!(session, pid, "setsid made the shell a session leader: {text}");
    assert_eq!(pgrp, pid);
    assert_ne!(tty_nr, "0", "it has a controlling terminal: {text}");
}
