//! The thread pool: `defer_to_thread`, `call_in_thread`, pool bounds, lazy
//! start, panics, cancellation, and stopping (and joining) at shutdown.

mod bounded;

use std::cell::RefCell;
use std::collections::HashSet;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use bounded::Leave;
use gyre_core::deferred::gather;
use gyre_core::errors::Cancelled;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use gyre_reactor::threads::{DEFAULT_POOL_SIZE, JobPanicked};

/// Runs `reactor` until `deferred` fires, failing the test (after leaving
/// the loop with `crash`) if that takes longer than `limit`.
fn run_guarded<T: 'static>(reactor: &Reactor, limit: Duration, deferred: Deferred<T>) -> Result<T, Failure> {
    bounded::within(reactor, limit, Leave::Crash, || reactor.run_until(deferred))
}

const LIMIT: Duration = Duration::from_secs(20);

/// Fires once `done()` holds, checking every millisecond.
fn poll_until(reactor: &Reactor, done: impl Fn() -> bool + 'static) -> Deferred<()> {
    fn check(reactor: Reactor, done: Rc<dyn Fn() -> bool>, resolver: Resolver<()>) {
        if done() {
            return resolver.callback(());
        }
        let again = reactor.clone();
        reactor.call_later(Duration::from_millis(1), move || check(again, done, resolver));
    }
    let (deferred, resolver) = Deferred::new();
    check(reactor.clone(), Rc::new(done), resolver);
    deferred
}

#[test]
fn results_arrive_on_the_reactor_thread() {
    let reactor = Reactor::new().unwrap();
    let reactor_thread = std::thread::current().id();
    let job = reactor.defer_to_thread(|| {
        let name = std::thread::current().name().unwrap_or_default().to_owned();
        Ok::<_, io::Error>((std::thread::current().id(), name))
    });
    let checked = job.map(move |(worker, name)| {
        assert_eq!(
            std::thread::current().id(),
            reactor_thread,
            "callbacks run on the reactor thread"
        );
        (worker, name)
    });
    let (worker, name) = run_guarded(&reactor, LIMIT, checked).unwrap();
    assert_ne!(worker, reactor_thread);
    assert!(name.starts_with("gyre-pool-"), "worker named {name:?}");
}

#[test]
fn job_errors_become_failures_of_their_type() {
    let reactor = Reactor::new().unwrap();
    let job =
        reactor.defer_to_thread(|| Err::<(), _>(io::Error::new(io::ErrorKind::NotFound, "no such row")));
    let failure = run_guarded(&reactor, LIMIT, job).unwrap_err();
    assert_eq!(
        failure.downcast_ref::<io::Error>().unwrap().kind(),
        io::ErrorKind::NotFound
    );
}

#[test]
fn a_panicking_job_fails_its_deferred_and_the_reactor_goes_on() {
    let reactor = Reactor::new().unwrap();
    let bad = reactor.defer_to_thread(|| -> Result<u8, io::Error> { panic!("the job fell over") });
    let r = reactor.clone();
    let both = bad.then(move |result| {
        let failure = result.unwrap_err();
        assert_eq!(
            failure.downcast_ref::<JobPanicked>().unwrap().message,
            "the job fell over"
        );
        // The pool and the reactor still work.
        r.defer_to_thread(|| Ok::<_, io::Error>(5))
    });
    assert_eq!(run_guarded(&reactor, LIMIT, both).unwrap(), 5);
}

#[test]
fn the_pool_is_bounded_and_starts_threads_lazily() {
    let reactor = Reactor::new().unwrap();
    assert_eq!(
        reactor.thread_pool_stats().workers,
        0,
        "no thread before the first job"
    );
    assert_eq!(reactor.thread_pool_stats().max_threads, DEFAULT_POOL_SIZE);
    reactor.set_thread_pool_size(3);
    assert_eq!(
        reactor.thread_pool_stats().workers,
        0,
        "resizing starts nothing without work"
    );
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<Deferred<()>> = (0..12)
        .map(|_| {
            let (running, most) = (running.clone(), most.clone());
            reactor.defer_to_thread(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(25));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, io::Error>(())
            })
        })
        .collect();
    let stats = reactor.thread_pool_stats();
    assert_eq!(stats.workers, 3, "{stats:?}");
    assert_eq!(stats.outstanding, 12);
    run_guarded(&reactor, LIMIT, gather(jobs)).unwrap();
    assert_eq!(
        most.load(Ordering::SeqCst),
        3,
        "at most (and here exactly) 3 jobs at once"
    );
}

thread_local! {
    static EXIT_SIGNAL: RefCell<Option<ExitSignal>> = const { RefCell::new(None) };
}

/// Counts worker threads that have really exited (thread-local destructors
/// run as the thread ends).
struct ExitSignal(Arc<AtomicUsize>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn stopping_the_reactor_joins_the_workers_and_a_new_run_starts_afresh() {
    let reactor = Reactor::new().unwrap();
    let exited = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(HashSet::<ThreadId>::new()));
    for round in 0..2 {
        let jobs: Vec<Deferred<()>> = (0..4)
            .map(|_| {
                let (exited, threads) = (exited.clone(), threads.clone());
                reactor.defer_to_thread(move || {
                    if threads.lock().unwrap().insert(std::thread::current().id()) {
                        EXIT_SIGNAL.with(|slot| *slot.borrow_mut() = Some(ExitSignal(exited)));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    Ok::<_, io::Error>(())
                })
            })
            .collect();
        run_guarded(&reactor, LIMIT, gather(jobs)).unwrap();
        let started = threads.lock().unwrap().len();
        assert!(started >= 1);
        assert_eq!(
            exited.load(Ordering::SeqCst),
            started,
            "round {round}: every worker exited before run returned"
        );
        assert_eq!(reactor.thread_pool_stats().workers, 0);
    }
}

#[test]
fn shutdown_runs_queued_jobs_and_delivers_their_results_before_run_returns() {
    let reactor = Reactor::new().unwrap();
    reactor.set_thread_pool_size(1);
    let delivered = Rc::new(RefCell::new(Vec::new()));
    for n in 0..5 {
        let delivered = delivered.clone();
        let job = reactor.defer_to_thread(move || {
            std::thread::sleep(Duration::from_millis(10));
            Ok::<_, io::Error>(n)
        });
        job.add_callback(move |n| {
            delivered.borrow_mut().push(n);
            Ok(n)
        });
    }
    let r = reactor.clone();
    reactor.call_when_running(move || r.stop().unwrap());
    let guard = reactor.call_later(LIMIT, || panic!("shutdown did not finish"));
    reactor.run().unwrap();
    guard.cancel();
    assert_eq!(*delivered.borrow(), [0, 1, 2, 3, 4]);
    assert_eq!(reactor.thread_pool_stats().workers, 0);
    assert_eq!(reactor.thread_pool_stats().outstanding, 0);
}

#[test]
fn cancelling_a_queued_job_keeps_it_from_running() {
    let reactor = Reactor::new().unwrap();
    reactor.set_thread_pool_size(1);
    let (release, wait) = crossbeam_channel::bounded::<()>(0);
    let first = reactor.defer_to_thread(move || {
        wait.recv().map_err(|_| io::Error::other("released"))?;
        Ok::<_, io::Error>("first")
    });
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let second = reactor.defer_to_thread(move || {
        flag.store(true, Ordering::SeqCst);
        Ok::<_, io::Error>("second")
    });
    second.cancel();
    let cancelled = second.then(|result| Ok(result.unwrap_err().is::<Cancelled>()));
    release.send(()).unwrap();
    let outcome = gather([first.map(|_| true), cancelled]);
    assert_eq!(run_guarded(&reactor, LIMIT, outcome).unwrap(), [true, true]);
    assert!(!ran.load(Ordering::SeqCst), "a cancelled job does not run");
}

#[test]
fn call_in_thread_runs_and_its_panics_are_contained() {
    let reactor = Reactor::new().unwrap();
    let (done, finished) = crossbeam_channel::unbounded();
    reactor.call_in_thread(|| panic!("ignored, logged"));
    reactor.call_in_thread(move || done.send(std::thread::current().id()).unwrap());
    let handle = reactor.handle();
    let reactor_thread = std::thread::current().id();
    let seen = reactor.defer_to_thread(move || {
        let worker = finished
            .recv_timeout(Duration::from_secs(10))
            .map_err(io::Error::other)?;
        drop(handle);
        Ok::<_, io::Error>(worker)
    });
    assert_ne!(run_guarded(&reactor, LIMIT, seen).unwrap(), reactor_thread);
}

#[test]
fn growing_the_pool_starts_threads_for_queued_work_and_shrinking_retires_them() {
    let reactor = Reactor::new().unwrap();
    reactor.set_thread_pool_size(1);
    let (release, wait) = crossbeam_channel::unbounded::<()>();
    let jobs: Vec<Deferred<()>> = (0..4)
        .map(|_| {
            let wait = wait.clone();
            reactor.defer_to_thread(move || wait.recv().map_err(io::Error::other))
        })
        .collect();
    assert_eq!(reactor.thread_pool_stats().workers, 1);
    reactor.set_thread_pool_size(4);
    assert_eq!(
        reactor.thread_pool_stats().workers,
        4,
        "three more for the three queued jobs"
    );
    reactor.set_thread_pool_size(2);
    for _ in 0..4 {
        release.send(()).unwrap();
    }
    let r = reactor.clone();
    // The two excess workers exit as they finish their jobs.
    let settled =
        gather(jobs).and_then(move |_| poll_until(&r.clone(), move || r.thread_pool_stats().workers <= 2));
    run_guarded(&reactor, LIMIT, settled).unwrap();
    assert_eq!(reactor.thread_pool_stats().max_threads, 2);
}

#[test]
#[should_panic(expected = "at least one thread")]
fn a_pool_of_zero_threads_is_refused() {
    Reactor::new().unwrap().set_thread_pool_size(0);
}

#[test]
fn results_of_jobs_made_before_run_are_delivered_once_it_runs() {
    let reactor = Reactor::new().unwrap();
    let job = reactor.defer_to_thread(|| Ok::<_, io::Error>(11));
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        !job.is_fired(),
        "nothing is delivered while the reactor does not turn"
    );
    assert_eq!(run_guarded(&reactor, LIMIT, job).unwrap(), 11);
}
