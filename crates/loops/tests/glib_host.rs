//! The GLib host: a reactor inside a GLib `MainLoop` (its own
//! `MainContext` per test, iterated on the test thread) passes every
//! scenario of `common`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Host, LIMIT};
use glib::{ControlFlow, MainContext, MainLoop, Priority};
use gyre_core::prelude::*;
use gyre_reactor::Reactor;

struct GlibHost;

/// A watchdog on `main_loop`: quits it after `after`, raising the flag.
fn quit_after(main_loop: &MainLoop, after: Duration) -> Arc<AtomicBool> {
    let fired = Arc::new(AtomicBool::new(false));
    let (flag, quit) = (fired.clone(), main_loop.clone());
    let source = glib::timeout_source_new(after, None, Priority::DEFAULT, move || {
        flag.store(true, Ordering::SeqCst);
        quit.quit();
        ControlFlow::Break
    });
    source.attach(Some(&main_loop.context()));
    fired
}

impl Host for GlibHost {
    fn run_until_reactor_stops(&self, reactor: &Reactor) {
        let main_loop = MainLoop::new(Some(&MainContext::new()), false);
        let watchdog = quit_after(&main_loop, LIMIT);
        gyre_loops::glib::run(reactor, &main_loop).unwrap();
        assert!(
            !watchdog.load(Ordering::SeqCst),
            "the reactor did not stop the main loop within {LIMIT:?}"
        );
    }

    fn quit_host_after(&self, reactor: &Reactor, after: Duration) {
        let main_loop = MainLoop::new(Some(&MainContext::new()), false);
        let quit = quit_after(&main_loop, after);
        // `run` returns once the loop quit and the reactor's run was ended.
        gyre_loops::glib::run(reactor, &main_loop).unwrap();
        assert!(quit.load(Ordering::SeqCst), "the host quit first");
    }
}

#[test]
fn echo_round_trip_over_real_sockets() {
    let _serial = common::serial();
    common::echo_round_trip(&GlibHost);
}

#[test]
fn a_thousand_timers_fire_in_order_and_on_time() {
    let _serial = common::serial();
    common::thousand_timers_in_order(&GlibHost, "glib");
}

#[test]
fn calls_from_another_thread_wake_the_main_loop() {
    let _serial = common::serial();
    common::calls_from_another_thread(&GlibHost, "glib");
}

#[test]
fn reactor_stop_quits_the_main_loop() {
    let _serial = common::serial();
    common::reactor_stop_quits_the_host(&GlibHost);
}

#[test]
fn quitting_the_main_loop_stops_the_reactor() {
    let _serial = common::serial();
    common::host_quit_stops_the_reactor(&GlibHost);
}

#[test]
fn idle_cpu_stays_near_zero() {
    let _serial = common::serial();
    common::idle_cpu_stays_near_zero(&GlibHost, "glib");
}

/// The guard API without `run`: attach to a context, iterate it by hand,
/// and see `on_stopped` called when the reactor stops; dropping the guard
/// of a running reactor ends its run.
#[test]
fn attach_iterate_and_detach_by_hand() {
    let _serial = common::serial();
    let reactor = Reactor::new().unwrap();
    let context = MainContext::new();
    let attached = gyre_loops::glib::attach(&reactor, &context).unwrap();
    assert!(reactor.is_running() && attached.is_attached());
    let stopped = std::rc::Rc::new(std::cell::Cell::new(false));
    let s = stopped.clone();
    attached.on_stopped(move || s.set(true));
    let stopper = reactor.clone();
    reactor.call_later(Duration::from_millis(10), move || stopper.stop().unwrap());
    let give_up = std::time::Instant::now() + LIMIT;
    while !stopped.get() {
        assert!(std::time::Instant::now() < give_up, "on_stopped was not called");
        context.iteration(true);
    }
    assert!(!reactor.is_running() && !attached.is_attached());
    attached.detach().unwrap();

    // Attached again, then dropped while running: the run ends cleanly.
    let attached = gyre_loops::glib::attach(&reactor, &context).unwrap();
    assert!(reactor.is_running());
    drop(attached);
    assert!(!reactor.is_running());
    reactor.close();
}
