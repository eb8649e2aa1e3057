//! Calls from other threads wake the loop once, not once per call: the
//! eventfd is written only when no wake-up is already pending, and no call
//! is ever left waiting for a wake-up that did not come.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gyre_core::clock::ClockExt;
use gyre_reactor::Reactor;

/// `write(2)` calls made by the current thread so far (`syscw` in
/// `/proc/thread-self/io`; an eventfd wake-up is one).
fn writes_by_this_thread() -> u64 {
    let io = std::fs::read_to_string("/proc/thread-self/io").expect("/proc/thread-self/io");
    io.lines()
        .find_map(|line| line.strip_prefix("syscw: "))
        .expect("a syscw line")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn a_burst_of_calls_from_a_thread_writes_the_eventfd_once() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    // The loop is not turning, so the first call's wake-up stays pending
    // while the rest are queued.
    let writes = std::thread::spawn(move || {
        let before = writes_by_this_thread();
        for _ in 0..10_000 {
            let counter = counter.clone();
            handle.call_from_thread(move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
            });
        }
        writes_by_this_thread() - before
    })
    .join()
    .unwrap();
    assert!(writes <= 2, "{writes} eventfd writes for 10,000 calls");
    reactor.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(ran.load(Ordering::Relaxed), 10_000, "every call ran");
}

#[test]
fn calls_after_the_loop_drained_wake_it_again() {
    // Ping-pong: each call is sent only after the previous one ran, so
    // every one of them needs its own wake-up of a waiting loop. A lost
    // wake-up would leave the loop waiting until the guard timer.
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let rounds = 2_000;
    let sender = std::thread::spawn(move || {
        for _ in 0..rounds {
            let done_tx = done_tx.clone();
            handle.call_from_thread(move |_| {
                let _ = done_tx.send(());
            });
            done_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the call ran");
        }
        handle.call_from_thread(|reactor| drop(reactor.stop()));
    });
    let stopper = reactor.clone();
    let guard = reactor.call_later(Duration::from_secs(30), move || drop(stopper.stop()));
    let started = Instant::now();
    reactor.run().unwrap();
    sender.join().unwrap();
    assert!(guard.cancel(), "stopped by the sender, not the guard");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// The cost of `call_from_thread` with 8 threads × 100,000 calls, from the
/// first call until the loop ran them all. Run with
/// `cargo test --release -p gyre-reactor --test remote_wake -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a test"]
fn measure_call_from_thread_cost() {
    const THREADS: usize = 8;
    const CALLS: usize = 100_000;
    let reactor = Reactor::new().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let handle = reactor.handle();
            let ran = ran.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..CALLS {
                    let ran = ran.clone();
                    handle.call_from_thread(move |reactor| {
                        if ran.fetch_add(1, Ordering::Relaxed) + 1 == THREADS * CALLS {
                            drop(reactor.stop());
                        }
                    });
                }
            })
        })
        .collect();
    start.wait();
    let started = Instant::now();
    reactor.run().unwrap();
    let elapsed = started.elapsed();
    for thread in threads {
        thread.join().unwrap();
    }
    let per_call = elapsed.as_nanos() as f64 / (THREADS * CALLS) as f64;
    println!("call_from_thread: {THREADS} threads x {CALLS} calls in {elapsed:?}: {per_call:.0} ns/call");
}
