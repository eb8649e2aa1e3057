//! The scenarios every host loop must pass, written once against [`Host`]:
//! each host's test file implements `Host` with its own loop and calls
//! these. Every scenario uses real sockets on 127.0.0.1 (port 0) and
//! bounded waits, and prints what it measured (run with `--nocapture`).

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gyre_core::connector::ListeningPort;
use gyre_core::prelude::*;
use gyre_reactor::{ListenOptions, Phase, Reactor, SystemEvent};

/// How long any scenario may take before it counts as hung.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Lateness allowed for a timer. A timer is late by the host's wake-up
/// latency (well under a millisecond to a few ms, measured and printed),
/// but a loaded 2-core CI machine can leave the process unscheduled for
/// a few hundred milliseconds; a host that missed its timer entirely would
/// be late by seconds (until the next unrelated wake-up, or the limit).
pub const LATE_MARGIN: Duration = Duration::from_millis(750);

/// The tests of one file share the process's CPU-time counter (the idle
/// check reads it), so they run one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One host loop, driving a reactor.
pub trait Host {
    /// Runs the host's loop with `reactor` inside until the reactor stops
    /// (its `stop()` finished) and the host's loop has returned because of
    /// that; fails the test after `LIMIT`.
    fn run_until_reactor_stops(&self, reactor: &Reactor);

    /// Runs the host's loop with `reactor` inside for `after`, then stops
    /// the host's loop (the host quits first) and releases what the module
    /// gave it, which must end the reactor's run cleanly.
    fn quit_host_after(&self, reactor: &Reactor, after: Duration);
}

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

fn listen_echo(reactor: &Reactor) -> ListeningPort {
    reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            protocol_factory(|_| Echo),
            ListenOptions::default(),
        )
        .unwrap()
}

/// A client on another thread (plain blocking std sockets) makes 200 round
/// trips through the reactor's echo server, then stops the reactor with
/// `call_from_thread`; the host loop must then return.
pub fn echo_round_trip(host: &impl Host) {
    let reactor = Reactor::new().unwrap();
    let address = listen_echo(&reactor).host().socket_addr().unwrap();
    let handle = reactor.handle();
    let client = std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(move || {
            let stream = TcpStream::connect(address).unwrap();
            stream.set_read_timeout(Some(LIMIT)).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut echoed = 0;
            for i in 0..200 {
                writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                assert_eq!(line, format!("line {i}\n"));
                echoed += 1;
            }
            echoed
        });
        handle.call_from_thread(|reactor| reactor.stop().unwrap());
        outcome
    });
    host.run_until_reactor_stops(&reactor);
    assert!(!reactor.is_running());
    let echoed = client
        .join()
        .unwrap()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    assert_eq!(echoed, 200);
    reactor.close();
}

/// Sorted lateness figures: (median, 99th percentile, max).
fn summary(mut late: Vec<Duration>) -> (Duration, Duration, Duration) {
    late.sort();
    let at = |q: f64| late[((late.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99), at(1.0))
}

/// 1,000 timers scheduled in a scrambled order over 250 ms fire in
/// deadline order, each on time (within `LATE_MARGIN`); the last stops
/// the reactor. Prints the lateness it measured.
pub fn thousand_timers_in_order(host: &impl Host, name: &str) {
    let reactor = Reactor::new().unwrap();
    let fired: Rc<RefCell<Vec<(usize, Duration)>>> = Rc::default();
    let mut deadlines = Vec::new();
    for i in 0..1000usize {
        // A permutation of 0..1000 (7919 is prime): distinct deadlines
        // 250 µs apart, scheduled out of order.
        let slot = (i * 7919) % 1000;
        let delay = Duration::from_micros(20_000 + 250 * slot as u64);
        let f = fired.clone();
        // Taken just before scheduling, so the lateness measured includes
        // the (tiny) time `call_later` takes: it errs on the late side.
        let due = Instant::now() + delay;
        let call = reactor.call_later(delay, move || {
            f.borrow_mut()
                .push((i, Instant::now().saturating_duration_since(due)));
        });
        deadlines.push(call.time());
    }
    let last = *deadlines.iter().max().unwrap();
    let stopper = reactor.clone();
    reactor.call_later(
        last.saturating_duration_since(Instant::now()) + Duration::from_millis(1),
        move || {
            stopper.stop().unwrap();
        },
    );
    host.run_until_reactor_stops(&reactor);
    let fired = fired.borrow();
    assert_eq!(fired.len(), 1000, "every timer fired before the stop");
    let mut expected: Vec<usize> = (0..1000).collect();
    expected.sort_by_key(|&i| deadlines[i]);
    let order: Vec<usize> = fired.iter().map(|&(i, _)| i).collect();
    assert_eq!(order, expected, "timers fired in deadline order");
    let (median, p99, max) = summary(fired.iter().map(|&(_, late)| late).collect());
    println!("{name}: 1,000 timers: lateness median {median:?}, p99 {p99:?}, max {max:?}");
    assert!(max < LATE_MARGIN, "a timer fired {max:?} late");
    reactor.close();
}

/// Another thread, while the host sleeps, makes 1,000 `call_from_thread`
/// calls; they run on the reactor's thread, in order, and wake the host
/// (which had nothing else to do: no timer is armed until the last call
/// stops the reactor).
pub fn calls_from_another_thread(host: &impl Host, name: &str) {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let sent_at = std::sync::Arc::new(Mutex::new(None::<Instant>));
    let first_sent = sent_at.clone();
    let caller = std::thread::spawn(move || {
        // Long enough for the host to go to sleep.
        std::thread::sleep(Duration::from_millis(100));
        *first_sent.lock().unwrap() = Some(Instant::now());
        for i in 0..1000u32 {
            handle.call_from_thread(move |reactor| {
                CALLS.with(|calls| calls.borrow_mut().push((i, Instant::now())));
                assert!(gyre_reactor::ReactorHandle::is_reactor_thread(&reactor.handle()));
                if i == 999 {
                    reactor.stop().unwrap();
                }
            });
        }
    });
    host.run_until_reactor_stops(&reactor);
    caller.join().unwrap();
    let calls = CALLS.with(|calls| std::mem::take(&mut *calls.borrow_mut()));
    let order: Vec<u32> = calls.iter().map(|&(i, _)| i).collect();
    assert_eq!(order, (0..1000).collect::<Vec<_>>());
    let sent = sent_at.lock().unwrap().expect("the caller ran");
    let woke = calls[0].1.saturating_duration_since(sent);
    println!("{name}: call_from_thread: first call ran {woke:?} after it was made (host asleep)");
    assert!(woke < LATE_MARGIN, "the host woke {woke:?} after the call");
    reactor.close();
}

thread_local! {
    static CALLS: RefCell<Vec<(u32, Instant)>> = const { RefCell::new(Vec::new()) };
}

/// What a clean shutdown leaves behind: the "before shutdown" trigger ran
/// and the open connection heard `connection_lost`.
struct ShutdownWitness {
    trigger_ran: Rc<Cell<bool>>,
    lost: Rc<Cell<bool>>,
    _client: TcpStream,
}

struct Recorder(Rc<Cell<bool>>);

impl Protocol for Recorder {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }

    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {
        self.0.set(true);
    }
}

fn shutdown_witness(reactor: &Reactor) -> ShutdownWitness {
    let trigger_ran = Rc::new(Cell::new(false));
    let t = trigger_ran.clone();
    reactor.add_trigger(Phase::Before, SystemEvent::Shutdown, move || t.set(true));
    let lost = Rc::new(Cell::new(false));
    let l = lost.clone();
    let port = reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            protocol_factory(move |_| Recorder(l.clone())),
            ListenOptions::default(),
        )
        .unwrap();
    let client = TcpStream::connect(port.host().socket_addr().unwrap()).unwrap();
    ShutdownWitness {
        trigger_ran,
        lost,
        _client: client,
    }
}

/// `reactor.stop()` (from a timer) ends the host's loop, after a graceful
/// shutdown: the trigger ran, the connection was closed.
pub fn reactor_stop_quits_the_host(host: &impl Host) {
    let reactor = Reactor::new().unwrap();
    let witness = shutdown_witness(&reactor);
    let stopper = reactor.clone();
    reactor.call_later(Duration::from_millis(100), move || stopper.stop().unwrap());
    host.run_until_reactor_stops(&reactor);
    assert!(!reactor.is_running());
    assert!(witness.trigger_ran.get(), "shutdown trigger ran");
    assert!(witness.lost.get(), "the connection was closed");
    reactor.close();
}

/// The host quits first: the reactor's run ends cleanly all the same.
pub fn host_quit_stops_the_reactor(host: &impl Host) {
    let reactor = Reactor::new().unwrap();
    let witness = shutdown_witness(&reactor);
    host.quit_host_after(&reactor, Duration::from_millis(200));
    assert!(!reactor.is_running(), "the reactor's run ended with the host");
    assert!(witness.trigger_ran.get(), "shutdown trigger ran");
    assert!(witness.lost.get(), "the connection was closed");
    reactor.close();
}

/// The process's CPU time (user + system, every thread) from
/// `/proc/self/stat`, in clock ticks converted to a `Duration`.
pub fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which is in parentheses and may hold
    // spaces); utime and stime are fields 14 and 15 of the whole line.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second = rustix::param::clock_ticks_per_second();
    Duration::from_nanos(ticks * 1_000_000_000 / per_second)
}

/// An idle reactor under the host for about 2 s: a listening port, an open
/// idle connection, and a timer every 250 ms (lateness recorded). The
/// process must use far less CPU than a busy loop (100 % of a core): at
/// most 10 %. Idle, the hosts measure 0–1 %; the margin covers the
/// timer wake-ups, the runtime's own threads, the 10 ms granularity of
/// the kernel's CPU accounting and noise on a loaded machine, while any
/// spinning (a level-triggered descriptor never cleared, a zero timeout
/// re-armed forever) shows as 50–100 %.
pub fn idle_cpu_stays_near_zero(host: &impl Host, name: &str) {
    let reactor = Reactor::new().unwrap();
    let _witness = shutdown_witness(&reactor);
    let late: Rc<RefCell<Vec<Duration>>> = Rc::default();
    for n in 1..=8u32 {
        let delay = Duration::from_millis(250) * n;
        let due = Instant::now() + delay;
        let l = late.clone();
        reactor.call_later(delay, move || {
            l.borrow_mut().push(Instant::now().saturating_duration_since(due))
        });
    }
    let stopper = reactor.clone();
    reactor.call_later(Duration::from_millis(2_100), move || stopper.stop().unwrap());
    let (cpu_before, started) = (process_cpu_time(), Instant::now());
    host.run_until_reactor_stops(&reactor);
    let (cpu, wall) = (process_cpu_time() - cpu_before, started.elapsed());
    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    let (median, _, max) = summary(late.borrow().clone());
    println!(
        "{name}: idle {wall:.2?}: CPU {cpu:?} ({:.1} % of one core); idle timers late by median {median:?}, max {max:?}",
        share * 100.0
    );
    assert_eq!(late.borrow().len(), 8);
    assert!(
        share < 0.10,
        "{name} used {:.1} % of a core while idle",
        share * 100.0
    );
    assert!(max < LATE_MARGIN, "an idle timer fired {max:?} late");
    reactor.close();
}
