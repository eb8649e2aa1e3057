//! Idle timeouts on the manual clock: silence closes, traffic either way
//! resets, the wrapped protocol hears `TimedOut`, a graceful close that
//! stalls is aborted, a hook can replace closing, and nothing is left
//! scheduled once the connection is gone.

mod policies_support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::errors::TimedOut;
use gyre_core::{Address, Protocol};
use gyre_protocols::policies::{IdleTimeout, TimeoutAction, Wrapped, wrap_factory};
use gyre_testing::{StringTransport, StringTransportWithDisconnection, connect_pair};
use policies_support::{Recorder, clock, echo_factory, lost};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn silence_closes_and_the_protocol_hears_timed_out() {
    let (clock, shared) = clock();
    let (recorder, seen) = Recorder::new();
    let timer = IdleTimeout::new(shared, 10 * SECOND).timer();
    let mut conn = StringTransportWithDisconnection::new(Wrapped::new(timer, recorder));
    clock.advance(9 * SECOND);
    assert!(!conn.settle() && conn.is_connected());
    clock.advance(SECOND);
    conn.settle();
    assert!(!conn.is_connected());
    assert!(conn.protocol().policy().timed_out());
    assert_eq!(lost(&seen), "timed out");
    let reason = seen.borrow().lost.clone().unwrap();
    assert!(reason.to_string().contains("idle timeout"), "{reason}");
    assert!(
        clock.calls().is_empty(),
        "no timer left behind: {:?}",
        clock.calls()
    );
}

#[test]
fn reads_and_writes_both_count_as_traffic() {
    let (clock, shared) = clock();
    let (recorder, seen) = Recorder::new();
    let timer = IdleTimeout::new(shared, 10 * SECOND).timer();
    let mut conn = StringTransportWithDisconnection::new(Wrapped::new(timer, recorder));
    // Reads keep it open...
    for _ in 0..5 {
        clock.advance(8 * SECOND);
        conn.data_received(b"x");
    }
    // ...and so do writes by the wrapped protocol.
    let transport = seen.borrow().transport.clone().unwrap();
    for _ in 0..5 {
        clock.advance(8 * SECOND);
        transport.write(b"y");
        conn.settle();
    }
    assert!(conn.is_connected(), "never 10 s without traffic");
    assert_eq!(
        clock.calls().len(),
        1,
        "one timer per connection, whatever the traffic"
    );
    clock.advance(9 * SECOND);
    conn.settle();
    assert!(conn.is_connected());
    clock.advance(SECOND);
    conn.settle();
    assert_eq!(lost(&seen), "timed out");
}

#[test]
fn a_stalled_graceful_close_is_aborted_after_the_grace() {
    let (clock, shared) = clock();
    let string = StringTransport::new();
    let (recorder, seen) = Recorder::new();
    let policy = IdleTimeout::new(shared, 5 * SECOND)
        .action(TimeoutAction::Close { grace: 3 * SECOND })
        .timer();
    let mut protocol = Wrapped::new(policy, recorder);
    protocol.connection_made(&string.handle());
    clock.advance(5 * SECOND);
    assert!(
        string.is_disconnecting() && !string.is_aborted(),
        "closed gracefully first"
    );
    clock.advance(2 * SECOND);
    assert!(!string.is_aborted());
    clock.advance(SECOND);
    assert!(
        string.is_aborted(),
        "the peer never read: aborted after the grace"
    );
    protocol.connection_lost(
        &string.handle(),
        gyre_core::Failure::new(gyre_core::errors::ConnectionAborted::new()),
    );
    assert_eq!(lost(&seen), "timed out");
}

#[test]
fn abort_action_aborts_at_once() {
    let (clock, shared) = clock();
    let string = StringTransport::new();
    let policy = IdleTimeout::new(shared, 5 * SECOND)
        .action(TimeoutAction::Abort)
        .timer();
    let mut protocol = Wrapped::new(policy, Recorder::new().0);
    protocol.connection_made(&string.handle());
    clock.advance(5 * SECOND);
    assert!(string.is_aborted());
}

#[test]
fn a_hook_replaces_closing_and_its_keepalive_write_is_traffic() {
    let (clock, shared) = clock();
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    let timeout = IdleTimeout::new(shared, 10 * SECOND).on_timeout(move |transport| {
        counter.set(counter.get() + 1);
        transport.write(b"PING\r\n");
    });
    let mut conn = StringTransportWithDisconnection::new(Wrapped::new(timeout.timer(), Recorder::new().0));
    clock.advance(10 * SECOND);
    conn.settle();
    assert_eq!(calls.get(), 1);
    assert_eq!(conn.transport().take(), b"PING\r\n");
    clock.advance(5 * SECOND);
    conn.data_received(b"PONG\r\n");
    clock.advance(9 * SECOND);
    assert_eq!(calls.get(), 1, "the reply reset the clock");
    clock.advance(SECOND);
    assert_eq!(calls.get(), 2);
    assert!(conn.is_connected(), "a hook keeps the connection");
    assert!(!conn.protocol().policy().timed_out());
}

#[test]
fn between_two_protocols_over_the_pump() {
    let (clock, shared) = clock();
    let (echo, seen) = echo_factory();
    let factory = wrap_factory(echo, IdleTimeout::new(shared, 30 * SECOND));
    let server = factory.build_protocol(&gyre_testing::default_peer()).unwrap();
    let (mut client, client_seen) = Recorder::new();
    client.greeting = b"hello".to_vec();
    let mut pair = connect_pair(server, client);
    pair.pump();
    assert_eq!(client_seen.borrow().data, b"hello");
    clock.advance(29 * SECOND);
    pair.pump();
    assert!(pair.is_connected());
    clock.advance(SECOND);
    pair.pump();
    assert!(!pair.is_connected());
    assert!(seen.borrow()[0].borrow().lost.as_ref().unwrap().is::<TimedOut>());
    assert_eq!(lost(&client_seen), "done", "the peer sees a clean close");
}

#[test]
fn a_connection_that_ends_first_leaves_no_timer() {
    let (clock, shared) = clock();
    let factory = wrap_factory(echo_factory().0, IdleTimeout::new(shared, 30 * SECOND));
    let protocol = factory
        .build_protocol(&Address::tcp("127.0.0.1:9".parse().unwrap()))
        .unwrap();
    let mut conn = StringTransportWithDisconnection::new(protocol);
    conn.peer_closed();
    assert!(clock.calls().is_empty());
}
