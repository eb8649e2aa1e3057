//! `Reactor::close` racing a pool worker that calls back into the reactor
//! with `blocking_call_from_thread`. A call is either refused by the closed
//! reactor or queued before `close` drops what is queued; one queued after
//! would never be answered, and `close`, which joins the pool's workers,
//! would wait for that worker forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gyre_core::deferred::succeed;
use gyre_reactor::Reactor;
use gyre_reactor::threads::blocking_call_from_thread;

/// Rounds of the race; each closes a reactor just as its workers call in.
const ROUNDS: usize = 3000;
/// Workers per round.
const WORKERS: usize = 4;
/// How long the whole stress may take before it counts as a hang.
const LIMIT: Duration = Duration::from_secs(30);

/// One round: workers about to call into the reactor, and `close` as soon
/// as the first of them is about to. Returns how many calls were answered.
fn round(spin: usize) -> usize {
    let reactor = Reactor::new().unwrap();
    reactor.set_thread_pool_size(WORKERS);
    let about_to_call = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    for _ in 0..WORKERS {
        let handle = reactor.handle();
        let about_to_call = about_to_call.clone();
        let answered = answered.clone();
        reactor.call_in_thread(move || {
            about_to_call.fetch_add(1, Ordering::SeqCst);
            // The reactor never runs, so no call can succeed: each must be
            // refused or dropped by close, answering `NoAnswer`.
            if blocking_call_from_thread(&handle, |_| succeed(())).is_ok() {
                answered.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    while about_to_call.load(Ordering::SeqCst) == 0 {
        std::hint::spin_loop();
    }
    for _ in 0..spin {
        std::hint::spin_loop();
    }
    // Joins every worker: returns only once each call was answered.
    reactor.close();
    answered.load(Ordering::SeqCst)
}

#[test]
fn close_never_waits_forever_for_a_worker_calling_in() {
    let (done, finished) = mpsc::channel();
    let gave_up = Arc::new(AtomicBool::new(false));
    let stop = gave_up.clone();
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut answered = 0;
        for index in 0..ROUNDS {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            answered += round(index % 64 * 16);
        }
        let _ = done.send((answered, started.elapsed()));
    });
    match finished.recv_timeout(LIMIT) {
        Ok((answered, _elapsed)) => assert_eq!(answered, 0, "a closed, never-run reactor answered a call"),
        Err(_) => {
            gave_up.store(true, Ordering::SeqCst);
            panic!("close() hung waiting for a worker blocked in blocking_call_from_thread");
        }
    }
}
