//! The calloop host: a reactor inserted into a calloop `EventLoop` as a
//! `ReactorSource` passes every scenario of `common`.

mod common;

use std::time::Duration;

use calloop::timer::{TimeoutAction, Timer};
use calloop::{EventLoop, LoopSignal};
use common::{Host, LIMIT};
use gyre_loops::calloop::{ReactorSource, Stopped};
use gyre_reactor::Reactor;

struct CalloopHost;

/// What the loop's callbacks record.
#[derive(Default)]
struct State {
    stopped: bool,
    host_timer_fired: bool,
}

fn quit_after(event_loop: &EventLoop<'_, State>, after: Duration) {
    let signal: LoopSignal = event_loop.get_signal();
    event_loop
        .handle()
        .insert_source(Timer::from_duration(after), move |_, _, state: &mut State| {
            state.host_timer_fired = true;
            signal.stop();
            TimeoutAction::Drop
        })
        .unwrap();
}

fn event_loop_with(reactor: &Reactor) -> EventLoop<'static, State> {
    let event_loop = EventLoop::<State>::try_new().unwrap();
    let signal = event_loop.get_signal();
    event_loop
        .handle()
        .insert_source(ReactorSource::new(reactor).unwrap(), move |Stopped, (), state| {
            state.stopped = true;
            signal.stop();
        })
        .unwrap();
    event_loop
}

impl Host for CalloopHost {
    fn run_until_reactor_stops(&self, reactor: &Reactor) {
        let mut event_loop = event_loop_with(reactor);
        quit_after(&event_loop, LIMIT);
        let mut state = State::default();
        event_loop.run(None, &mut state, |_| {}).unwrap();
        assert!(
            !state.host_timer_fired,
            "the reactor did not stop the loop within {LIMIT:?}"
        );
        assert!(state.stopped);
    }

    fn quit_host_after(&self, reactor: &Reactor, after: Duration) {
        let mut event_loop = event_loop_with(reactor);
        quit_after(&event_loop, after);
        let mut state = State::default();
        event_loop.run(None, &mut state, |_| {}).unwrap();
        assert!(state.host_timer_fired && !state.stopped, "the host quit first");
        // Dropping the loop drops the source, which ends the reactor's run.
        drop(event_loop);
    }
}

#[test]
fn echo_round_trip_over_real_sockets() {
    let _serial = common::serial();
    common::echo_round_trip(&CalloopHost);
}

#[test]
fn a_thousand_timers_fire_in_order_and_on_time() {
    let _serial = common::serial();
    common::thousand_timers_in_order(&CalloopHost, "calloop");
}

#[test]
fn calls_from_another_thread_wake_the_loop() {
    let _serial = common::serial();
    common::calls_from_another_thread(&CalloopHost, "calloop");
}

#[test]
fn reactor_stop_quits_the_loop() {
    let _serial = common::serial();
    common::reactor_stop_quits_the_host(&CalloopHost);
}

#[test]
fn dropping_the_loop_stops_the_reactor() {
    let _serial = common::serial();
    common::host_quit_stops_the_reactor(&CalloopHost);
}

#[test]
fn idle_cpu_stays_near_zero() {
    let _serial = common::serial();
    common::idle_cpu_stays_near_zero(&CalloopHost, "calloop");
}

/// Removing the source from a running loop (`LoopHandle::remove`) also
/// ends the reactor's run cleanly, and the loop goes on without it.
#[test]
fn removing_the_source_stops_the_reactor() {
    let _serial = common::serial();
    let reactor = Reactor::new().unwrap();
    let mut event_loop = EventLoop::<State>::try_new().unwrap();
    let token = event_loop
        .handle()
        .insert_source(ReactorSource::new(&reactor).unwrap(), |Stopped, (), state| {
            state.stopped = true
        })
        .unwrap();
    let mut state = State::default();
    event_loop.dispatch(Duration::ZERO, &mut state).unwrap();
    assert!(reactor.is_running());
    event_loop.handle().remove(token);
    assert!(!reactor.is_running());
    event_loop.dispatch(Duration::ZERO, &mut state).unwrap();
    assert!(
        !state.stopped,
        "the Stopped event is for a run that ends by itself"
    );
    reactor.close();
}
