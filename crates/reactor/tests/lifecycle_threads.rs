//! Reactors and threads: several reactors on several threads at once, and
//! `call_from_thread` under load from many threads.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use gyre_core::prelude::*;
use gyre_reactor::{Reactor, ReactorHandle};

const LIMIT: Duration = Duration::from_secs(20);

/// Installs a guard that panics out of `run` if the test hangs.
fn guard(reactor: &Reactor) -> DelayedCall {
    reactor.call_later(LIMIT, || panic!("the test ran past its {LIMIT:?} limit"))
}

/// One reactor on its own thread: 50 timers at 1 ms steps (scheduled in
/// reverse), and 100 pings to the other reactor, each answered with a pong
/// that runs on this thread. Returns the timer order and the pong count.
fn reactor_thread(
    mine: crossbeam_channel::Sender<ReactorHandle>,
    theirs: crossbeam_channel::Receiver<ReactorHandle>,
    both_running: Arc<Barrier>,
) -> (Vec<u32>, u32) {
    let reactor = Reactor::new().unwrap();
    mine.send(reactor.handle()).unwrap();
    let other = theirs.recv_timeout(LIMIT).unwrap();
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut due = Vec::new();
    for n in (0..50u32).rev() {
        let f = fired.clone();
        let call = reactor.call_later(Duration::from_millis(u64::from(n)), move || {
            f.borrow_mut().push(n)
        });
        due.push((call.time(), n));
    }
    // Deadline order (n order, unless this thread was preempted while scheduling).
    due.sort_by_key(|&(time, _)| time);
    let expected: Vec<u32> = due.into_iter().map(|(_, n)| n).collect();
    let me = reactor.handle();
    reactor.call_when_running(move || {
        // Both loops are running from here on.
        both_running.wait();
        for _ in 0..100 {
            let me = me.clone();
            other.call_from_thread(move |_their_reactor| me.call_from_thread(pong));
        }
    });
    let g = guard(&reactor);
    reactor.run().unwrap();
    g.cancel();
    let order = fired.borrow().clone();
    assert_eq!(
        order, expected,
        "each reactor fires its own timers, in deadline order"
    );
    (order, PONGS.with(|p| *p.borrow()))
}

thread_local! {
    static PONGS: RefCell<u32> = const { RefCell::new(0) };
}

/// Counts a pong; once all are in, stops after the timers had their time.
fn pong(reactor: &Reactor) {
    let pongs = PONGS.with(|p| {
        *p.borrow_mut() += 1;
        *p.borrow()
    });
    if pongs == 100 {
        let r = reactor.clone();
        reactor.call_later(Duration::from_millis(60), move || r.stop().unwrap());
    }
}

#[test]
fn two_reactors_on_two_threads_run_at_once_with_their_own_timers() {
    let (a_tx, a_rx) = crossbeam_channel::bounded(1);
    let (b_tx, b_rx) = crossbeam_channel::bounded(1);
    let both_running = Arc::new(Barrier::new(2));
    let barrier = both_running.clone();
    let a = std::thread::spawn(move || reactor_thread(a_tx, b_rx, barrier));
    let b = std::thread::spawn(move || reactor_thread(b_tx, a_rx, both_running));
    for (order, pongs) in [a.join().unwrap(), b.join().unwrap()] {
        assert_eq!(order.len(), 50, "each reactor fired all its timers");
        assert_eq!(pongs, 100, "each reactor answered the other's pings");
    }
}

#[test]
fn call_from_thread_from_8_threads_delivers_every_call_in_per_thread_order() {
    const THREADS: usize = 8;
    const CALLS: usize = 1000;
    let reactor = Reactor::new().unwrap();
    let start = Arc::new(Barrier::new(THREADS + 1));
    let senders: Vec<_> = (0..THREADS)
        .map(|thread| {
            let handle = reactor.handle();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                for seq in 0..CALLS {
                    handle.call_from_thread(move |reactor| record(reactor, thread, seq));
                }
            })
        })
        .collect();
    // Release the senders once the loop is running, so calls arrive while it
    // waits in poll as well as while it is busy.
    reactor.call_when_running(move || {
        start.wait();
    });
    let g = guard(&reactor);
    reactor.run().unwrap();
    g.cancel();
    for sender in senders {
        sender.join().unwrap();
    }
    let received = RECEIVED.with(|r| r.take());
    assert_eq!(received.len(), THREADS);
    for (thread, seqs) in received.iter().enumerate() {
        assert_eq!(seqs.len(), CALLS, "thread {thread}: every call arrived");
        assert!(
            seqs.iter().copied().eq(0..CALLS),
            "thread {thread}: calls arrived in the order made"
        );
    }
}

thread_local! {
    static RECEIVED: RefCell<Vec<Vec<usize>>> = const { RefCell::new(Vec::new()) };
}

fn record(reactor: &Reactor, thread: usize, seq: usize) {
    let total = RECEIVED.with(|received| {
        let mut received = received.borrow_mut();
        if received.len() <= thread {
            received.resize(thread + 1, Vec::new());
        }
        received[thread].push(seq);
        received.iter().map(Vec::len).sum::<usize>()
    });
    if total == 8 * 1000 {
        reactor.stop().unwrap();
    }
}
