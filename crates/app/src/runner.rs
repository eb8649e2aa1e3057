//! [`run`]: the application server's main thread (Twisted's `twistd`
//! runner): detach if asked, start logging, take the pidfile, start the
//! worker threads, bind, drop privileges, start, announce, then wait for
//! signals and stop gracefully within a deadline.
//!
//! The main thread runs no reactor: it is a small state machine over one
//! channel that carries the workers' reports and the signals (SIGINT,
//! SIGTERM, SIGHUP, caught by `signal-hook` on a thread of its own). Each
//! worker runs its own reactor with signal handling turned off, so only
//! the main thread decides when and how they stop.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use gyre_endpoints::SharedPorts;
use gyre_reactor::ReactorHandle;
use gyre_reactor::daemon::{DaemonReport, DaemonStart, Detach, detach};
use gyre_reactor::privileges::Identity;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::logging::{self, LogOptions, LogOutput};
use crate::pidfile::Pidfile;
use crate::worker::{self, BuildTree, Event};

/// After the shutdown deadline forced the services, how long the workers
/// still get to report (their loops must only run the aborts).
const FORCE_GRACE: Duration = Duration::from_secs(5);

/// How the application server runs (the `gyre` options before the service name).
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Worker threads, each with its own reactor, listening on the same
    /// ports with `SO_REUSEPORT`.
    pub workers: NonZeroUsize,
    /// How long a graceful stop may take before connections are aborted.
    pub shutdown_timeout: Duration,
    /// The user and group to run as once listening.
    pub identity: Option<Identity>,
    /// Where to write the process ID (locked while running).
    pub pidfile: Option<PathBuf>,
    /// Detach from the terminal (see [`gyre_reactor::daemon`]).
    pub daemon: bool,
    /// Logging.
    pub log: LogOptions,
    /// Other log files SIGHUP reopens with the logger's (a service's
    /// access log; see [`LogOutput::open`]).
    pub reopen: Vec<LogOutput>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            workers: NonZeroUsize::MIN,
            shutdown_timeout: Duration::from_secs(10),
            identity: None,
            pidfile: None,
            daemon: false,
            log: LogOptions::default(),
            reopen: Vec::new(),
        }
    }
}

/// Runs the service trees `build` makes until SIGINT or SIGTERM, then
/// stops them gracefully. With `daemon`, the calling process waits until
/// the detached server is ready (or failed) and exits with 0 (or 1): this
/// function returns only in the daemon.
///
/// # Errors
/// Why the server could not start, or why it did not stop cleanly. In a
/// daemon, the error was also reported to the waiting process.
pub fn run(options: &AppOptions, build: BuildTree) -> Result<(), String> {
    let report = if options.daemon {
        match detach().map_err(|error| format!("cannot detach: {error}"))? {
            Detach::Parent(watch) => std::process::exit(match watch.wait() {
                DaemonStart::Ready => 0,
                DaemonStart::Failed => 1,
                DaemonStart::Vanished => {
                    eprintln!("gyre: the daemon exited before it was ready");
                    1
                }
            }),
            Detach::Daemon(report) => Some(report),
        }
    } else {
        None
    };
    let result = serve(options, build, report.as_ref());
    if let (Err(message), Some(report)) = (&result, &report) {
        report.failed(message);
    }
    result
}

fn serve(options: &AppOptions, build: BuildTree, report: Option<&DaemonReport>) -> Result<(), String> {
    let log = logging::init(&options.log)?;
    let pidfile = match &options.pidfile {
        Some(path) => {
            Some(Pidfile::create(path).map_err(|error| format!("pidfile {}: {error}", path.display()))?)
        }
        None => None,
    };
    let (events, inbox) = channel();
    let signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP]).map_err(|error| format!("watching signals: {error}"))?;
    let signals_handle = signals.handle();
    let forward = events.clone();
    let signal_thread = std::thread::Builder::new()
        .name("gyre-signals".into())
        .spawn(move || {
            let mut signals = signals;
            for signal in signals.forever() {
                if forward.send(Event::Signal(signal)).is_err() {
                    break;
                }
            }
        })
        .map_err(|error| format!("starting the signal thread: {error}"))?;
    let count = options.workers.get();
    let ports = SharedPorts::new();
    let mut threads = Vec::new();
    for index in 0..count {
        let (build, ports, events) = (build.clone(), ports.clone(), events.clone());
        let thread = std::thread::Builder::new()
            .name(format!("gyre-worker-{index}"))
            .spawn(move || worker::run(index, count, build, ports, events))
            .map_err(|error| format!("starting worker thread {index}: {error}"))?;
        threads.push(thread);
    }
    drop(events);
    let mut control = Control {
        inbox,
        handles: vec![None; count],
        exited: vec![false; count],
        log,
        reopen: options.reopen.clone(),
    };
    let outcome = control.lifecycle(options, report);
    signals_handle.close();
    let _ = signal_thread.join();
    if control.exited.iter().all(|exited| *exited) {
        for thread in threads {
            let _ = thread.join();
        }
    }
    if let Some(pidfile) = pidfile {
        pidfile.remove();
    }
    outcome
}

/// The main thread's view of the workers.
struct Control {
    inbox: Receiver<Event>,
    handles: Vec<Option<ReactorHandle>>,
    exited: Vec<bool>,
    log: LogOutput,
    reopen: Vec<LogOutput>,
}

/// Why waiting for the workers ended early.
enum Interrupted {
    /// SIGINT or SIGTERM.
    Stop(i32),
    /// A worker failed (or its thread ended) with this message.
    Failed(String),
}

impl Control {
    fn lifecycle(&mut self, options: &AppOptions, report: Option<&DaemonReport>) -> Result<(), String> {
        let mut announcements = Vec::new();
        let bound = self.wait_all(|event| match event {
            Event::Bound(0, Ok(lines)) => {
                announcements = lines;
                Ok(true)
            }
            Event::Bound(_, Ok(_)) => Ok(true),
            Event::Bound(index, Err(error)) => Err(failed(index, error)),
            _ => Ok(false),
        });
        if let Err(interrupted) = bound {
            return self.abort(options, interrupted);
        }
        if let Some(identity) = options.identity {
            if let Err(error) = identity.assume() {
                return self.abort(
                    options,
                    Interrupted::Failed(format!("cannot run as {identity}: {error}")),
                );
            }
            tracing::info!(target: "gyre::app", %identity, "dropped privileges");
        }
        for handle in self.handles.iter().flatten() {
            worker::start(handle);
        }
        let started = self.wait_all(|event| match event {
            Event::Started(_, Ok(())) => Ok(true),
            Event::Started(index, Err(error)) => Err(failed(index, error)),
            _ => Ok(false),
        });
        if let Err(interrupted) = started {
            return self.abort(options, interrupted);
        }
        for line in &announcements {
            match report {
                Some(report) => report.say(line),
                None => println!("{line}"),
            }
        }
        if let Some(report) = report {
            report.ready();
        }
        tracing::info!(target: "gyre::app", workers = self.handles.len(), pid = std::process::id(), "started");
        let reason = self.wait_for_stop();
        let result = self.stop_workers(options, reason.as_ref().err().map(String::as_str));
        match (reason, result) {
            (Ok(()), result) => result,
            (Err(error), _) => Err(error),
        }
    }

    /// Serves until SIGINT/SIGTERM (`Ok`) or a worker fails (`Err`);
    /// SIGHUP reopens the log file.
    fn wait_for_stop(&mut self) -> Result<(), String> {
        loop {
            let Ok(event) = self.inbox.recv() else {
                return Err("every worker is gone".to_owned());
            };
            match event {
                Event::Signal(SIGHUP) => self.reopen_logs(),
                Event::Signal(signal) => {
                    tracing::info!(target: "gyre::app", signal, "stopping");
                    return Ok(());
                }
                Event::Exited(index) => {
                    self.exited[index] = true;
                    return Err(format!("worker {index} stopped unexpectedly"));
                }
                _ => {}
            }
        }
    }

    /// Something went wrong while starting: stop what started, report why.
    fn abort(&mut self, options: &AppOptions, interrupted: Interrupted) -> Result<(), String> {
        let message = match interrupted {
            Interrupted::Stop(signal) => format!("stopped by signal {signal} while starting"),
            Interrupted::Failed(message) => message,
        };
        tracing::error!(target: "gyre::app", %message, "cannot start");
        let _ = self.stop_workers(options, Some(&message));
        Err(message)
    }

    /// Stops every worker gracefully; at the deadline (or a second signal)
    /// forces them. `Ok` once every worker thread has ended.
    fn stop_workers(&mut self, options: &AppOptions, why: Option<&str>) -> Result<(), String> {
        for (index, handle) in self.handles.iter().enumerate() {
            if let (Some(handle), false) = (handle, self.exited[index]) {
                worker::stop(handle);
            }
        }
        let deadline = Instant::now() + options.shutdown_timeout;
        let mut forced = false;
        let mut limit = deadline;
        loop {
            if self.exited.iter().all(|exited| *exited) {
                break;
            }
            let event = match self
                .inbox
                .recv_timeout(limit.saturating_duration_since(Instant::now()))
            {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match event {
                Some(Event::Exited(index)) => self.exited[index] = true,
                // A worker that was still starting when the stop began.
                Some(Event::Spawned(index, handle)) => {
                    worker::stop(&handle);
                    if forced {
                        worker::force_stop(&handle);
                    }
                    self.handles[index] = Some(handle);
                }
                Some(Event::Signal(SIGHUP)) => self.reopen_logs(),
                Some(Event::Signal(signal)) if !forced => {
                    tracing::warn!(target: "gyre::app", signal, "second stop signal: aborting connections");
                    forced = true;
                    limit = Instant::now() + FORCE_GRACE;
                    self.force_all();
                }
                Some(_) => {}
                None if !forced => {
                    tracing::warn!(
                        target: "gyre::app",
                        timeout = ?options.shutdown_timeout,
                        "shutdown deadline passed"
                    );
                    forced = true;
                    limit = Instant::now() + FORCE_GRACE;
                    self.force_all();
                }
                None => {
                    let stuck: Vec<usize> = (0..self.exited.len())
                        .filter(|index| !self.exited[*index])
                        .collect();
                    return Err(format!("workers {stuck:?} did not stop"));
                }
            }
        }
        match why {
            None => {
                tracing::info!(target: "gyre::app", "stopped");
                Ok(())
            }
            Some(why) => Err(why.to_owned()),
        }
    }

    /// SIGHUP: reopen the log file and the services' log files by name.
    fn reopen_logs(&self) {
        for output in std::iter::once(&self.log).chain(&self.reopen) {
            match output.reopen() {
                Ok(()) => tracing::info!(target: "gyre::app", %output, "SIGHUP: log file reopened"),
                Err(error) => {
                    tracing::error!(target: "gyre::app", %output, %error, "SIGHUP: cannot reopen a log file")
                }
            }
        }
    }

    fn force_all(&self) {
        for (index, handle) in self.handles.iter().enumerate() {
            if let (Some(handle), false) = (handle, self.exited[index]) {
                worker::force_stop(handle);
            }
        }
    }

    /// Waits until `accept` said `true` for one event of each worker.
    /// `Spawned` and `Exited` are handled here; SIGINT/SIGTERM interrupt.
    fn wait_all(&mut self, mut accept: impl FnMut(Event) -> Result<bool, String>) -> Result<(), Interrupted> {
        let mut done = vec![false; self.handles.len()];
        while !done.iter().all(|done| *done) {
            let event = self
                .inbox
                .recv()
                .map_err(|_| Interrupted::Failed("the workers stopped answering".to_owned()))?;
            let index = match &event {
                Event::Spawned(index, handle) => {
                    self.handles[*index] = Some(handle.clone());
                    continue;
                }
                Event::Exited(index) => {
                    self.exited[*index] = true;
                    return Err(Interrupted::Failed(format!(
                        "worker {index} stopped while starting"
                    )));
                }
                Event::Signal(SIGHUP) => {
                    self.reopen_logs();
                    continue;
                }
                Event::Signal(signal) => return Err(Interrupted::Stop(*signal)),
                Event::Bound(index, _) | Event::Started(index, _) | Event::Stopped(index) => *index,
            };
            if accept(event).map_err(Interrupted::Failed)? {
                done[index] = true;
            }
        }
        Ok(())
    }
}

fn failed(index: usize, error: String) -> String {
    if index == 0 {
        error
    } else {
        format!("worker {index}: {error}")
    }
}
