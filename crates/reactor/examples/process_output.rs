//! Runs a command and streams its output as it arrives.
//!
//! ```text
//! cargo run -p gyre-reactor --example process_output -- [--pty] [--timeout SECS] COMMAND [ARGS...]
//! cargo run -p gyre-reactor --example process_output -- sh -c 'for i in 1 2 3; do echo $i; sleep 1; done'
//! cargo run -p gyre-reactor --example process_output -- --pty ls --color=auto
//! ```
//!
//! Arguments:
//! - `--pty`: run the command on a pseudo-terminal, so it behaves as in a
//!   terminal (colours, line buffering, `isatty` true); its stdout and stderr
//!   then arrive together.
//! - `--timeout SECS`: send SIGTERM to the command after this many seconds.
//!
//! The command's stdout goes to our stdout and its stderr to our stderr,
//! chunk by chunk as the reactor reads them (not line by line, and not
//! after the command finished). Its stdin is closed at once, so a command
//! that reads stdin sees end of file. When it ends, a summary line
//! (`[exit code 0]`, `[killed by signal 15]`) goes to stderr and this
//! program exits with the command's code, or 128 + the signal number like a
//! shell. Ctrl-C or `kill` stops the reactor (gyre's default SIGINT and
//! SIGTERM handling), and a shutdown trigger sends the command a SIGTERM if
//! it is still running.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::Deferred;
use gyre_core::clock::ClockExt;
use gyre_core::deferred::Resolver;
use gyre_core::process::{ExitStatus, ProcessProtocol, ProcessTransport};
use gyre_reactor::process::ProcessOptions;
use gyre_reactor::{Phase, Reactor, SystemEvent};

/// Copies the child's output to ours and stops the reactor at the end.
struct Stream {
    reactor: Reactor,
    status: Rc<Cell<Option<ExitStatus>>>,
    /// Fired when the command ends, for a shutdown that waits for it.
    ended: Rc<RefCell<Vec<Resolver<()>>>>,
}

impl ProcessProtocol for Stream {
    fn connection_made(&mut self, process: &ProcessTransport) {
        process.close_stdin();
    }

    fn out_received(&mut self, _process: &ProcessTransport, data: &[u8]) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (`| head`) is not this program's problem.
        let _ = out.write_all(data).and_then(|()| out.flush());
    }

    fn err_received(&mut self, _process: &ProcessTransport, data: &[u8]) {
        let _ = std::io::stderr().write_all(data);
    }

    fn process_ended(&mut self, _process: &ProcessTransport, status: ExitStatus) {
        eprintln!("[{status}]");
        self.status.set(Some(status));
        for waiter in self.ended.borrow_mut().drain(..) {
            waiter.callback(());
        }
        let _ = self.reactor.stop();
    }
}

struct Options {
    pty: bool,
    timeout: Option<Duration>,
    command: Vec<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        pty: false,
        timeout: None,
        command: Vec::new(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pty" => options.pty = true,
            "--timeout" => {
                let secs = args.next().ok_or("--timeout needs a number of seconds")?;
                let secs: f64 = secs.parse().map_err(|_| format!("bad --timeout {secs}"))?;
                options.timeout = Some(Duration::from_secs_f64(secs));
            }
            "--" => {
                options.command.extend(args);
                break;
            }
            _ => {
                options.command.push(arg);
                options.command.extend(args);
                break;
            }
        }
    }
    if options.command.is_empty() {
        return Err("usage: process_output [--pty] [--timeout SECS] COMMAND [ARGS...]".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let reactor = Reactor::new().expect("a reactor");
    let status = Rc::new(Cell::new(None));
    let ended = Rc::new(RefCell::new(Vec::new()));
    let protocol = Stream {
        reactor: reactor.clone(),
        status: status.clone(),
        ended: ended.clone(),
    };
    let spawn = ProcessOptions::new(&options.command[0])
        .args(&options.command[1..])
        .pty(options.pty);
    let process = match reactor.spawn_process_with(protocol, spawn) {
        Ok(process) => process,
        Err(failure) => {
            eprintln!("{failure}");
            return ExitCode::from(127);
        }
    };
    if let Some(timeout) = options.timeout {
        let process = process.clone();
        drop(reactor.call_later(timeout, move || {
            let _ = process.signal_process(libc::SIGTERM);
        }));
    }
    // Stopped by a signal (Ctrl-C, `kill`) before the command ended: pass a
    // SIGTERM on, and let the shutdown wait (up to 5 s) until the command
    // ended and was reaped, so it neither outlives us nor stays a zombie.
    let (running, clock) = (process.clone(), reactor.clone());
    reactor.add_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        if running.exit_status().is_some() || running.signal_process(libc::SIGTERM).is_err() {
            return Deferred::succeed(());
        }
        let (done, waiter) = Deferred::new();
        ended.borrow_mut().push(waiter);
        done.add_timeout(&clock, Duration::from_secs(5))
    });
    reactor.run().expect("the reactor runs");
    match status.get() {
        Some(ExitStatus::Code(code)) => ExitCode::from(code as u8),
        Some(ExitStatus::Signal { signal, .. }) => ExitCode::from(128 + signal as u8),
        // Stopped by a signal before the command ended.
        None => ExitCode::from(130),
    }
}
