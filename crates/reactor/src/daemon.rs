//! Detaching a server from the terminal that started it, as a Unix daemon
//! does (`gyre --daemon`): fork, `setsid` (a new session, so no terminal
//! can send it SIGHUP or stop it), fork again (so it is not a session
//! leader and can never acquire a terminal), and standard input, output
//! and error pointed at `/dev/null`.
//!
//! Unlike a bare double fork, the original process waits: the daemon
//! reports through a pipe what it would have printed (the addresses it
//! listens on) and then either "ready" or why it failed, and the
//! original process prints that and exits 0 or 1. So `gyre --daemon web`
//! returns once the server listens, and a bad option or a port in use is
//! an error at the shell prompt rather than a line in a log nobody reads.
//!
//! Detach before anything starts a thread (the reactor's resolver or
//! thread pool, a logging thread): [`detach`] refuses to fork a process
//! that has more than one thread.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::sync::{Mutex, PoisonError};

use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{Pid, WaitOptions, setsid, waitpid};

use crate::sys::fork::{Forked, exit_immediately, fork_single_threaded};

/// The two processes [`detach`] returns in.
pub enum Detach {
    /// The original process: wait for the daemon's report, then exit.
    Parent(DaemonWatch),
    /// The daemon: run the server, then report through this.
    Daemon(DaemonReport),
}

/// How the daemon's start ended, as the original process saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonStart {
    /// It reported that it is ready.
    Ready,
    /// It reported a failure (already printed on standard error).
    Failed,
    /// It exited or closed the pipe without reporting.
    Vanished,
}

/// Detaches; see the module documentation.
///
/// # Errors
/// When the process has more than one thread, or a system call fails
/// (in the original process; the daemon's own failures are reported to it).
pub fn detach() -> io::Result<Detach> {
    let (read, write) = pipe_with(PipeFlags::CLOEXEC)?;
    match fork_single_threaded()? {
        Forked::Parent(child) => {
            drop(write);
            // The first child exits as soon as it has forked the daemon.
            if let Some(pid) = Pid::from_raw(child) {
                waitpid(Some(pid), WaitOptions::empty())?;
            }
            Ok(Detach::Parent(DaemonWatch {
                pipe: File::from(read),
            }))
        }
        Forked::Child => {
            drop(read);
            let report = DaemonReport {
                pipe: Mutex::new(File::from(write)),
            };
            if let Err(error) = setsid() {
                report.failed(&format!("setsid: {error}"));
                exit_immediately(1);
            }
            match fork_single_threaded() {
                Ok(Forked::Parent(_)) => exit_immediately(0),
                Ok(Forked::Child) => {}
                Err(error) => {
                    report.failed(&format!("second fork: {error}"));
                    exit_immediately(1);
                }
            }
            if let Err(error) = to_dev_null() {
                report.failed(&format!("redirecting standard streams to /dev/null: {error}"));
                exit_immediately(1);
            }
            Ok(Detach::Daemon(report))
        }
    }
}

fn to_dev_null() -> io::Result<()> {
    let null = OpenOptions::new().read(true).write(true).open("/dev/null")?;
    rustix::stdio::dup2_stdin(&null)?;
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stderr(&null)?;
    Ok(())
}

/// The original process's end of the report pipe.
#[derive(Debug)]
pub struct DaemonWatch {
    pipe: File,
}

impl DaemonWatch {
    /// Prints what the daemon says (its lines for standard output there,
    /// its failure on standard error) until it reports ready or failed or
    /// goes away. (The daemon keeps its end open while it runs, so this
    /// returns on the report, not at end of file.)
    pub fn wait(self) -> DaemonStart {
        let mut failed = false;
        for line in BufReader::new(self.pipe).lines() {
            let Ok(line) = line else { break };
            match line.split_once(' ').unwrap_or((line.as_str(), "")) {
                ("out", text) => println!("{text}"),
                ("ready", _) => return DaemonStart::Ready,
                ("failed", text) => {
                    // A message may span several lines: print them all.
                    eprintln!("{text}");
                    failed = true;
                }
                _ => {}
            }
        }
        if failed {
            DaemonStart::Failed
        } else {
            DaemonStart::Vanished
        }
    }
}

/// The daemon's end of the report pipe. It is `Sync`, so the thread that
/// learns the server is ready can report it.
#[derive(Debug)]
pub struct DaemonReport {
    pipe: Mutex<File>,
}

impl DaemonReport {
    /// A line for the original process's standard output.
    pub fn say(&self, text: &str) {
        self.send("out", text);
    }

    /// The server is running: the original process exits 0. Later
    /// reports are ignored by it.
    pub fn ready(&self) {
        self.send("ready", "");
    }

    /// The server could not start: the original process prints `message`
    /// and exits 1.
    pub fn failed(&self, message: &str) {
        self.send("failed", message);
    }

    fn send(&self, kind: &str, text: &str) {
        let mut pipe = self.pipe.lock().unwrap_or_else(PoisonError::into_inner);
        for line in text.split('\n') {
            // The original process may be gone (killed): nothing to tell then.
            let _ = writeln!(pipe, "{kind} {line}");
        }
    }
}
