//! A line-based TCP server that does its CPU-heavy work on the reactor's
//! thread pool, so the loop stays responsive while it computes.
//!
//! ```text
//! cargo run -p gyre-reactor --example thread_work -- --listen 127.0.0.1:8007
//! printf '10\n5000000\n' | nc -N 127.0.0.1 8007
//! ```
//!
//! Each request line is a number `N`; the answer is the number of primes
//! below `N`, counted on a pool thread with `defer_to_thread`:
//!
//! ```text
//! 10                       → primes below 10: 4
//! 5000000                  → progress 5000000: 25%, 50%, 75% (streamed while it works)
//!                            primes below 5000000: 348513
//! hello                    → error: not a number: hello
//! ```
//!
//! It shows both directions between threads:
//! - `defer_to_thread` runs the count on a worker and delivers the result as
//!   a Deferred on the reactor thread, which writes the answer;
//! - a long count reports its progress from the worker with
//!   `ReactorHandle::call_from_thread`: the closure must be `Send`, so it
//!   carries a request id, and the reactor thread looks the connection up
//!   in its own table (connections are `!Send` and never leave it);
//! - a monitor thread prints the pool's state to standard error every
//!   `--report` seconds with `blocking_call_from_thread`.
//!
//! Arguments: `--listen ADDR` (default `127.0.0.1:8007`; port 0 picks one),
//! `--threads N` (pool size, default 4), `--report SECS` (default 10; 0 = off).
//! The first line on standard output is `listening on ADDR`. Stop it with
//! Ctrl-C or `kill`: shutdown waits for counts in progress.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::deferred::succeed;
use gyre_core::prelude::*;
use gyre_reactor::threads::blocking_call_from_thread;
use gyre_reactor::{ListenOptions, Reactor, ReactorHandle};

mod support;

// Requests with progress reports, by id: lives on the reactor thread.
thread_local! {
    static WAITING: RefCell<HashMap<u64, Transport>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

/// Counts below this size are answered without progress reports.
const REPORT_ABOVE: u64 = 1_000_000;
/// The largest count accepted (bounds the work one line can ask for).
const LIMIT: u64 = 100_000_000;

/// Counts primes below `n` with a sieve run in four segments, calling
/// `progress` with 25, 50 and 75 (percent) as segments finish.
fn count_primes(n: u64, progress: impl Fn(u32)) -> u64 {
    let root = n.isqrt() + 1;
    let base: Vec<u64> = (2..=root)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .collect();
    let quarter = n.div_ceil(4);
    let mut count = 0;
    for segment in 0..4 {
        let (low, high) = ((segment * quarter).max(2), ((segment + 1) * quarter).min(n));
        if low < high {
            let mut composite = vec![false; (high - low) as usize];
            for &p in &base {
                let first = (p * p).max(low.div_ceil(p) * p);
                for multiple in (first..high).step_by(p as usize) {
                    composite[(multiple - low) as usize] = true;
                }
            }
            count += composite.iter().filter(|&&c| !c).count() as u64;
        }
        if segment < 3 {
            progress((segment as u32 + 1) * 25);
        }
    }
    count
}

/// Splits lines and hands each request to the pool.
struct Requests {
    pending: Vec<u8>,
    reactor: Reactor,
    /// Answers still to come, and whether the client has finished sending:
    /// a client that half-closes (`nc -N`) still gets every answer.
    outstanding: Rc<Cell<usize>>,
    input_ended: Rc<Cell<bool>>,
}

impl Protocol for Requests {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.pending.extend_from_slice(data);
        if self.pending.len() > 64 * 1024 {
            transport.write(b"error: line too long\n");
            return transport.lose_connection();
        }
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line).trim().to_owned();
            match text.parse::<u64>() {
                Ok(n) if n <= LIMIT => self.start(transport, n),
                Ok(_) => transport.write(format!("error: at most {LIMIT}\n").as_bytes()),
                Err(_) => transport.write(format!("error: not a number: {text}\n").as_bytes()),
            }
        }
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.input_ended.set(true);
        if self.outstanding.get() == 0 {
            transport.lose_connection();
        }
    }
}

impl Requests {
    fn start(&self, transport: &Transport, n: u64) {
        let id = NEXT_ID.with(|next| next.replace(next.get() + 1));
        if n > REPORT_ABOVE {
            WAITING.with(|waiting| waiting.borrow_mut().insert(id, transport.clone()));
        }
        let handle = self.reactor.handle();
        let count = self.reactor.defer_to_thread(move || {
            let report = |percent| handle.call_from_thread(move |_reactor| progress(id, n, percent));
            Ok::<_, std::io::Error>(count_primes(n, |percent| {
                if n > REPORT_ABOVE {
                    report(percent)
                }
            }))
        });
        self.outstanding.set(self.outstanding.get() + 1);
        let (transport, outstanding, input_ended) = (
            transport.clone(),
            self.outstanding.clone(),
            self.input_ended.clone(),
        );
        drop(count.then(move |result| {
            WAITING.with(|waiting| waiting.borrow_mut().remove(&id));
            match result {
                Ok(count) => transport.write(format!("primes below {n}: {count}\n").as_bytes()),
                Err(failure) => transport.write(format!("error: {failure}\n").as_bytes()),
            }
            outstanding.set(outstanding.get() - 1);
            if outstanding.get() == 0 && input_ended.get() {
                transport.lose_connection();
            }
        }));
    }
}

/// Runs on the reactor thread, called from a worker.
fn progress(id: u64, n: u64, percent: u32) {
    WAITING.with(|waiting| {
        if let Some(transport) = waiting.borrow().get(&id) {
            transport.write(format!("progress {n}: {percent}%\n").as_bytes());
        }
    });
}

/// Prints the pool's state every `every`, until told to stop.
fn monitor(handle: ReactorHandle, every: Duration, stop: crossbeam_channel::Receiver<()>) {
    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
        match blocking_call_from_thread(&handle, |reactor| succeed(reactor.thread_pool_stats())) {
            Ok(stats) => eprintln!(
                "thread_work: {} of {} pool threads, {} idle, {} queued",
                stats.workers, stats.max_threads, stats.idle, stats.queued
            ),
            Err(_) => return,
        }
    }
}

struct Options {
    listen: SocketAddr,
    threads: usize,
    report: u64,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 8007)),
        threads: 4,
        report: 10,
    };
    let mut args = support::Args::new();
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "--listen" => options.listen = args.parsed("--listen")?,
            "--threads" => options.threads = args.parsed("--threads")?,
            "--report" => options.report = args.parsed("--report")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match support::or_usage(
        "thread_work",
        "thread_work [--listen ADDR] [--threads N] [--report SECS]",
        parse_args(),
    ) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let reactor = Reactor::new().expect("creating the reactor");
    reactor.set_thread_pool_size(options.threads);
    let r = reactor.clone();
    let factory = protocol_factory(move |_peer| Requests {
        pending: Vec::new(),
        reactor: r.clone(),
        outstanding: Rc::default(),
        input_ended: Rc::default(),
    });
    // The port stays open while `_port` lives.
    let _port = match support::announce_tcp(
        "thread_work",
        reactor.listen_tcp_with(options.listen, factory, ListenOptions::default()),
    ) {
        Ok(port) => port,
        Err(code) => return code,
    };
    let (stop_monitor, stop) = crossbeam_channel::bounded(1);
    let monitor = (options.report > 0).then(|| {
        let (handle, every) = (reactor.handle(), Duration::from_secs(options.report));
        std::thread::spawn(move || monitor(handle, every, stop))
    });
    let result = reactor.run();
    drop(stop_monitor);
    // The factory holds a clone of the reactor: close it to release everything.
    reactor.close();
    if let Some(monitor) = monitor {
        let _ = monitor.join();
    }
    support::exit_code("thread_work", result)
}
