//! ClientService and ReconnectingClientFactory on MemoryReactor + ManualClock.

use std::rc::Rc;
use std::time::Duration;

use gyre_core::errors::{ConnectionLost, ConnectionRefused};
use gyre_core::interfaces::ReactorTcp;
use gyre_core::{
    Address, Clock, Failure, Protocol, SharedClientFactory, SharedFactory, Transport, protocol_factory,
};
use gyre_endpoints::errors::ServiceStopped;
use gyre_endpoints::{Backoff, ClientService, Jitter, ReconnectingClientFactory, TcpClientEndpoint};
use gyre_testing::{MemoryReactor, assert_no_result, failure_result_of, success_result_of};

struct Quiet;
impl Protocol for Quiet {
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

fn quiet() -> SharedFactory {
    SharedFactory::new(protocol_factory(|_: &Address| Quiet))
}

const NO_JITTER: Backoff = Backoff {
    initial: Duration::from_secs(1),
    factor: 2.0,
    max: Duration::from_secs(5),
    jitter: 0.0,
};

#[test]
fn backoff_grows_caps_and_jitters_deterministically() {
    let delays: Vec<u64> = (1..=5)
        .map(|n| NO_JITTER.delay(n, 0.9).as_millis() as u64)
        .collect();
    assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
    let jittered = Backoff {
        jitter: 0.5,
        ..NO_JITTER
    };
    assert_eq!(jittered.delay(1, 0.5), Duration::from_millis(1250));
    assert_eq!(
        Backoff {
            factor: f64::INFINITY,
            ..NO_JITTER
        }
        .delay(9, 0.0),
        Duration::from_secs(5)
    );
    let (mut a, mut b) = (Jitter::seeded(7), Jitter::seeded(7));
    let first: Vec<f64> = (0..5).map(|_| a.sample()).collect();
    assert_eq!(first, (0..5).map(|_| b.sample()).collect::<Vec<_>>());
    assert!(first.iter().all(|x| (0.0..1.0).contains(x)));
}

#[test]
fn client_service_backs_off_reconnects_after_loss_and_stops() {
    let reactor = MemoryReactor::new();
    let endpoint = TcpClientEndpoint::new(reactor.clone(), "127.0.0.1:7".parse().unwrap());
    let clock: Rc<dyn Clock> = Rc::new(reactor.clone());
    let service = ClientService::new(Rc::new(endpoint), quiet(), clock, Jitter::none()).backoff(NO_JITTER);
    let waiting = service.when_connected();
    service.start();
    assert_eq!(reactor.tcp_clients().len(), 1);
    // Two failures: retries after 1 s, then 2 s.
    reactor.tcp_clients()[0]
        .connector
        .fail(Failure::new(ConnectionRefused::new()));
    reactor.clock().advance(Duration::from_millis(999));
    assert_eq!(reactor.tcp_clients().len(), 1);
    reactor.clock().advance(Duration::from_millis(1));
    assert_eq!(reactor.tcp_clients().len(), 2);
    reactor.tcp_clients()[1]
        .connector
        .fail(Failure::new(ConnectionRefused::new()));
    assert_eq!(service.failures(), 2);
    reactor.clock().advance(Duration::from_millis(1999));
    assert_eq!(reactor.tcp_clients().len(), 2);
    reactor.clock().advance(Duration::from_millis(1));
    assert_no_result(&waiting);
    let mut connection = reactor.connect_tcp_client(2).expect("a protocol");
    let connected = success_result_of(waiting);
    assert_eq!(service.failures(), 0);
    assert!(
        success_result_of(service.when_connected())
            .transport()
            .ptr_eq(&connected.transport().clone())
    );
    // A lost connection is retried after the first delay.
    connection.close_with(Failure::new(ConnectionLost::new()));
    let next = service.when_connected();
    assert_no_result(&next);
    reactor.clock().advance(Duration::from_secs(1));
    assert_eq!(reactor.tcp_clients().len(), 4);
    let mut second_connection = reactor.connect_tcp_client(3).expect("a protocol");
    let second = success_result_of(next);
    // stop() closes the connection and fires once it is gone.
    let stopped = service.stop();
    assert_no_result(&stopped);
    assert!(second_connection.settle(), "connection_lost delivered");
    assert!(second.transport().is_closed());
    success_result_of(stopped);
    assert!(failure_result_of(service.when_connected()).is::<ServiceStopped>());
    reactor.clock().advance(Duration::from_secs(60));
    assert_eq!(reactor.tcp_clients().len(), 4, "no reconnect after stop");
}

#[test]
fn stopping_while_waiting_cancels_the_retry_and_fails_waiters() {
    let reactor = MemoryReactor::new();
    let endpoint = TcpClientEndpoint::new(reactor.clone(), "127.0.0.1:7".parse().unwrap());
    let service = ClientService::new(
        Rc::new(endpoint),
        quiet(),
        Rc::new(reactor.clone()),
        Jitter::seeded(1),
    );
    service.start();
    let waiting = service.when_connected();
    reactor.tcp_clients()[0]
        .connector
        .fail(Failure::new(ConnectionRefused::new()));
    success_result_of(service.stop());
    assert!(failure_result_of(waiting).is::<ServiceStopped>());
    reactor.clock().advance(Duration::from_secs(120));
    assert_eq!(reactor.tcp_clients().len(), 1);
}

#[test]
fn reconnecting_factory_retries_with_backoff_resets_and_gives_up() {
    let reactor = MemoryReactor::new();
    let factory = ReconnectingClientFactory::new(quiet(), Rc::new(reactor.clone()), Jitter::none())
        .backoff(NO_JITTER)
        .max_retries(3);
    let shared = SharedClientFactory::new(factory.clone());
    reactor.connect_tcp(
        "127.0.0.1:7".parse().unwrap(),
        shared,
        Duration::from_secs(30),
        None,
    );
    let connector = reactor.tcp_clients()[0].connector.clone();
    connector.fail(Failure::new(ConnectionRefused::new()));
    reactor.clock().advance(Duration::from_millis(999));
    assert_eq!(connector.attempts(), 1);
    reactor.clock().advance(Duration::from_millis(1));
    assert_eq!(connector.attempts(), 2);
    // A connection resets the delay; its loss retries after 1 s again.
    let mut connection = connector.complete().expect("a protocol");
    assert_eq!(factory.retries(), 0);
    connection.close_with(Failure::new(ConnectionLost::new()));
    reactor.clock().advance(Duration::from_secs(1));
    assert_eq!(connector.attempts(), 3);
    // Three failures more: delays 2 s, 4 s, then it gives up.
    connector.fail(Failure::new(ConnectionRefused::new()));
    reactor.clock().advance(Duration::from_secs(2));
    connector.fail(Failure::new(ConnectionRefused::new()));
    reactor.clock().advance(Duration::from_secs(4));
    assert_eq!(connector.attempts(), 5);
    connector.fail(Failure::new(ConnectionRefused::new()));
    reactor.clock().advance(Duration::from_secs(3600));
    assert_eq!(connector.attempts(), 5, "gave up after max_retries");
}

#[test]
fn stop_trying_cancels_the_scheduled_retry() {
    let reactor = MemoryReactor::new();
    let factory =
        ReconnectingClientFactory::new(quiet(), Rc::new(reactor.clone()), Jitter::none()).backoff(NO_JITTER);
    reactor.connect_tcp(
        "127.0.0.1:7".parse().unwrap(),
        SharedClientFactory::new(factory.clone()),
        Duration::from_secs(30),
        None,
    );
    let connector = reactor.tcp_clients()[0].connector.clone();
    connector.fail(Failure::new(ConnectionRefused::new()));
    factory.stop_trying();
    reactor.clock().advance(Duration::from_secs(60));
    assert_eq!(connector.attempts(), 1);
}
