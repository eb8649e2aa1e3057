//! `blocking_call_from_thread`: worker threads asking the reactor thread for
//! something and waiting for the Deferred it returns, failures crossing the
//! thread boundary with their type, and the cases where nobody can answer.

mod bounded;

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bounded::Leave;
use gyre_core::deferred::{defer_later, fail, succeed};
use gyre_core::errors::{ConnectionRefused, TimedOut};
use gyre_core::prelude::*;
use gyre_reactor::threads::{CalledOnReactorThread, NoAnswer, RemoteFailure, blocking_call_from_thread};
use gyre_reactor::{Phase, Reactor, SystemEvent, async_io};

const LIMIT: Duration = Duration::from_secs(20);

fn run_guarded<T: 'static>(reactor: &Reactor, deferred: Deferred<T>) -> Result<T, Failure> {
    bounded::within(reactor, LIMIT, Leave::Crash, || reactor.run_until(deferred))
}

#[test]
fn a_worker_waits_for_a_deferred_that_fires_on_a_later_turn() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let job = reactor.defer_to_thread(move || {
        let reactor_thread = blocking_call_from_thread(&handle, |reactor| {
            let here = std::thread::current().id();
            async_io::sleep(reactor, Duration::from_millis(20)).map(move |()| here)
        })?;
        Ok::<_, RemoteFailure>((reactor_thread, std::thread::current().id()))
    });
    let (on_reactor, on_worker) = run_guarded(&reactor, job).unwrap();
    assert_eq!(on_reactor, std::thread::current().id());
    assert_ne!(on_worker, on_reactor);
}

#[test]
fn standard_failures_keep_their_type_across_the_boundary_and_back() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let job = reactor.defer_to_thread(move || {
        let remote = blocking_call_from_thread(&handle, |_| {
            fail::<()>(Failure::new(TimedOut::new()).context("waiting for the mail relay"))
        })
        .unwrap_err();
        // On the worker: matchable without converting.
        assert!(remote.is::<TimedOut>());
        assert_eq!(
            remote.message(),
            "waiting for the mail relay: operation timed out"
        );
        // A failure built on the worker thread works the same.
        assert!(remote.into_failure().is::<TimedOut>());
        let remote = blocking_call_from_thread(&handle, |_| {
            fail::<()>(io::Error::new(io::ErrorKind::PermissionDenied, "no entry"))
        })
        .unwrap_err();
        // Passed on as the job's own error.
        Err::<(), _>(remote)
    });
    let failure = run_guarded(&reactor, job).unwrap_err();
    let io_error = failure
        .downcast_ref::<io::Error>()
        .expect("the io::Error crossed twice");
    assert_eq!(io_error.kind(), io::ErrorKind::PermissionDenied);
    assert!(failure.to_string().contains("no entry"));
}

#[test]
fn other_errors_cross_as_their_message() {
    #[derive(Debug)]
    struct Custom;
    impl std::fmt::Display for Custom {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the custom thing broke")
        }
    }
    impl std::error::Error for Custom {}

    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let job = reactor.defer_to_thread(move || {
        let remote = blocking_call_from_thread(&handle, |_| fail::<()>(Custom)).unwrap_err();
        Ok::<_, io::Error>((remote.message().to_owned(), remote.is::<ConnectionRefused>()))
    });
    let (message, refused) = run_guarded(&reactor, job).unwrap();
    assert_eq!(message, "the custom thing broke");
    assert!(!refused);
}

#[test]
fn calling_it_on_the_reactor_thread_is_refused_instead_of_hanging() {
    let reactor = Reactor::new().unwrap();
    let error = blocking_call_from_thread(&reactor.handle(), |_| succeed(1)).unwrap_err();
    assert!(error.is::<CalledOnReactorThread>());
    assert!(error.into_failure().is::<CalledOnReactorThread>());
}

#[test]
fn a_reactor_dropped_before_answering_releases_the_waiting_thread() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let (asked, was_asked) = crossbeam_channel::bounded(1);
    let worker = std::thread::spawn(move || {
        asked.send(()).unwrap();
        blocking_call_from_thread(&handle, |_| succeed(1))
    });
    was_asked.recv_timeout(LIMIT).unwrap();
    // Give the call a moment to be queued (either order must work).
    std::thread::sleep(Duration::from_millis(10));
    drop(reactor);
    let error = worker.join().unwrap().unwrap_err();
    assert!(error.is::<NoAnswer>(), "{error}");
}

#[test]
fn a_closed_reactor_refuses_calls_at_once() {
    let reactor = Reactor::new().unwrap();
    reactor.close();
    let handle = reactor.handle();
    let error = std::thread::spawn(move || blocking_call_from_thread(&handle, |_| succeed(1)))
        .join()
        .unwrap()
        .unwrap_err();
    assert!(error.is::<NoAnswer>());
}

#[test]
fn a_deferred_that_never_fires_and_is_dropped_releases_the_waiting_thread() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let job = reactor.defer_to_thread(move || {
        // The Deferred is dropped unfired on the reactor thread (its resolver too).
        let error = blocking_call_from_thread(&handle, |_| Deferred::<u8>::new().0).unwrap_err();
        Ok::<_, io::Error>(error.is::<NoAnswer>())
    });
    assert!(run_guarded(&reactor, job).unwrap());
}

/// Twisted deadlocks here: its pool is joined in a "during shutdown" trigger
/// while a worker waits for the reactor. gyre keeps turning until the
/// workers are done.
#[test]
fn a_worker_calling_back_during_shutdown_is_served_before_run_returns() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let (shutting_down, wait_for_shutdown) = crossbeam_channel::bounded::<()>(1);
    let answer = Rc::new(Cell::new(0));
    let job = reactor.defer_to_thread(move || {
        wait_for_shutdown.recv().map_err(io::Error::other)?;
        // The pool has been told to stop; the reactor must still answer,
        // and even run a timer for us.
        blocking_call_from_thread(&handle, |reactor| {
            defer_later(reactor, Duration::from_millis(20), || Ok(42))
        })
        .map_err(io::Error::other)
    });
    let got = answer.clone();
    job.add_callback(move |n| {
        got.set(n);
        Ok(n)
    });
    reactor.add_trigger(Phase::After, SystemEvent::Shutdown, move || {
        shutting_down.send(()).unwrap();
    });
    let r = reactor.clone();
    reactor.call_when_running(move || r.stop().unwrap());
    let guard = reactor.call_later(LIMIT, || panic!("shutdown deadlocked"));
    reactor.run().unwrap();
    guard.cancel();
    assert_eq!(answer.get(), 42);
}
