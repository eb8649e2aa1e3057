//! The foreign-loop seam: a host loop of our own (poll(2) on the reactor's
//! descriptor, its own timeout from `next_deadline`) drives the reactor with
//! `run_once(Some(Duration::ZERO))` alone, never calling `run`. Timers, TCP
//! echo traffic and calls from another thread all work, and the host sleeps
//! between events instead of spinning.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, ListenOptions, Reactor};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

/// The host loop: waits in poll(2) for the reactor's descriptor, no longer
/// than until its next timer (not at all when it has work queued), then runs
/// one turn without blocking. Returns how many turns it took.
fn host_loop(reactor: &Reactor, done: impl Fn() -> bool, limit: Duration) -> usize {
    let give_up = Instant::now() + limit;
    let mut turns = 0;
    while !done() {
        let now = Instant::now();
        assert!(now < give_up, "the host loop ran past its {limit:?} limit");
        let wait = if reactor.has_pending_work() {
            Duration::ZERO
        } else {
            let until_timer = reactor
                .next_deadline()
                .map(|at| at.saturating_duration_since(now));
            until_timer.unwrap_or(limit).min(give_up - now)
        };
        let mut fds = [PollFd::new(reactor, PollFlags::IN)];
        let timeout = Timespec::try_from(wait).unwrap();
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(error) => panic!("poll failed: {error}"),
        }
        reactor.run_once(Some(Duration::ZERO)).unwrap();
        turns += 1;
    }
    turns
}

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// Sends `ping N` and waits for its echo before sending the next, 100 times,
/// then closes.
struct Pinger {
    sent: u32,
    pending: Vec<u8>,
    echoed: Rc<Cell<u32>>,
    closed: Rc<Cell<bool>>,
}

impl Protocol for Pinger {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(b"ping 0\n");
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.pending.extend_from_slice(data);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            assert_eq!(line, format!("ping {}\n", self.sent).into_bytes());
            self.echoed.set(self.echoed.get() + 1);
            self.sent += 1;
            if self.sent == 100 {
                transport.lose_connection();
            } else {
                transport.write(format!("ping {}\n", self.sent).as_bytes());
            }
        }
    }

    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {
        self.closed.set(true);
    }
}

#[test]
fn a_host_loop_drives_timers_tcp_echo_and_thread_calls_with_run_once() {
    let reactor = Reactor::new().unwrap();
    assert!(
        !reactor.is_running(),
        "driven from outside, the reactor never `run`s"
    );

    // Timers, scheduled out of order.
    let started = Instant::now();
    let fired = Rc::new(RefCell::new(Vec::new()));
    for ms in [30u64, 10, 20] {
        let f = fired.clone();
        reactor.call_later(Duration::from_millis(ms), move || f.borrow_mut().push(ms));
    }

    // TCP echo on 127.0.0.1 with the reactor's own TCP API.
    let port = reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            protocol_factory(|_| Echo),
            ListenOptions::default(),
        )
        .unwrap();
    let (echoed, closed) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let (e, c) = (echoed.clone(), closed.clone());
    reactor.connect_tcp_with(
        port.host().socket_addr().unwrap(),
        protocol_factory(move |_| Pinger {
            sent: 0,
            pending: Vec::new(),
            echoed: e.clone(),
            closed: c.clone(),
        }),
        ConnectOptions::default().timeout(Duration::from_secs(5)),
    );

    // A call from another thread, made while the host is asleep in poll(2):
    // the reactor's waker makes its descriptor readable.
    let handle = reactor.handle();
    let caller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(15));
        handle.call_from_thread(|_| THREAD_CALLS.with(|n| n.set(n.get() + 1)));
    });

    let turns = host_loop(
        &reactor,
        || fired.borrow().len() == 3 && closed.get() && THREAD_CALLS.with(Cell::get) == 1,
        Duration::from_secs(20),
    );
    caller.join().unwrap();
    assert_eq!(*fired.borrow(), [10, 20, 30]);
    assert_eq!(echoed.get(), 100);
    assert!(started.elapsed() >= Duration::from_millis(30));
    // 100 round trips need a few hundred turns at most; a host that spun
    // instead of sleeping in poll(2) for 30 ms would take many thousands.
    assert!(
        turns < 2_000,
        "{turns} turns: the host loop should sleep between events"
    );
    reactor.close();
}

thread_local! {
    static THREAD_CALLS: Cell<u32> = const { Cell::new(0) };
}

#[test]
fn the_seam_reports_queued_work_and_the_next_deadline() {
    let reactor = Reactor::new().unwrap();
    assert!(!reactor.has_pending_work());
    assert_eq!(reactor.next_deadline(), None);
    let call = reactor.call_later(Duration::from_millis(50), || {});
    assert_eq!(reactor.next_deadline(), Some(call.time()));
    call.cancel();
    assert_eq!(reactor.next_deadline(), None, "cancelled calls do not count");

    // A call from this thread needs no wake-up but must show as pending work,
    // or a host loop would sleep on it.
    reactor.handle().call_from_thread(|_| {});
    assert!(reactor.has_pending_work());
    reactor.run_once(Some(Duration::ZERO)).unwrap();
    assert!(!reactor.has_pending_work());

    // With nothing to do, run_once(ZERO) returns at once.
    let started = Instant::now();
    reactor.run_once(Some(Duration::ZERO)).unwrap();
    assert!(started.elapsed() < Duration::from_millis(50));
    // And with a timeout it waits no longer than the next timer.
    reactor.call_later(Duration::from_millis(10), || {});
    let started = Instant::now();
    reactor.run_once(Some(Duration::from_secs(5))).unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(9) && waited < Duration::from_secs(2),
        "waited {waited:?}"
    );
}
