//! The service tree and the ready-made services with the in-memory
//! doubles: start order, reverse stop order with each stop waited for,
//! failures named, deadlines forced; the stream server's drain policies
//! on MemoryReactor connections; the timer service on a manual clock.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_app::{Drain, MultiService, Service, StreamServerService, TimerService};
use gyre_core::{Address, Deferred, Failure, Protocol, Resolver, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::TcpServerEndpoint;
use gyre_testing::{ManualClock, MemoryReactor, assert_no_result, failure_result_of, success_result_of};

type Log = Rc<RefCell<Vec<String>>>;

/// Records its calls; its stop waits for the test when `hold_stop`.
struct Recorder {
    name: &'static str,
    log: Log,
    hold_stop: bool,
    fail_start: bool,
    pending: Rc<RefCell<Option<Resolver<()>>>>,
}

impl Recorder {
    fn new(name: &'static str, log: &Log) -> Recorder {
        Recorder {
            name,
            log: log.clone(),
            hold_stop: false,
            fail_start: false,
            pending: Rc::default(),
        }
    }
}

impl Service for Recorder {
    fn privileged_start(&self) -> Deferred<()> {
        self.log.borrow_mut().push(format!("bind {}", self.name));
        Deferred::succeed(())
    }
    fn start(&self) -> Deferred<()> {
        self.log.borrow_mut().push(format!("start {}", self.name));
        if self.fail_start {
            return Deferred::fail(Failure::msg("no database"));
        }
        Deferred::succeed(())
    }
    fn stop(&self) -> Deferred<()> {
        self.log.borrow_mut().push(format!("stop {}", self.name));
        if !self.hold_stop {
            return Deferred::succeed(());
        }
        let (deferred, resolver) = Deferred::new();
        *self.pending.borrow_mut() = Some(resolver);
        deferred
    }
    fn force_stop(&self) {
        self.log.borrow_mut().push(format!("force {}", self.name));
        if let Some(resolver) = self.pending.borrow_mut().take() {
            resolver.callback(());
        }
    }
}

#[test]
fn children_start_in_order_and_stop_in_reverse_each_waited_for() {
    let log = Log::default();
    let tree = MultiService::new();
    let mut database = Recorder::new("database", &log);
    database.hold_stop = true;
    let db_pending = database.pending.clone();
    let mut web = Recorder::new("web", &log);
    web.hold_stop = true;
    let web_pending = web.pending.clone();
    tree.add("database", database).unwrap();
    tree.add("web", web).unwrap();
    assert_eq!(tree.names(), ["database", "web"]);
    assert!(tree.service("web").is_some() && tree.service("mail").is_none());

    success_result_of(tree.privileged_start());
    success_result_of(tree.start());
    let stopped = tree.stop();
    assert_no_result(&stopped);
    assert_eq!(
        *log.borrow(),
        [
            "bind database",
            "bind web",
            "start database",
            "start web",
            "stop web"
        ],
        "the database is not asked to stop while the web server is still stopping"
    );
    web_pending.borrow_mut().take().unwrap().callback(());
    assert_eq!(log.borrow().last().unwrap(), "stop database");
    assert_no_result(&stopped);
    db_pending.borrow_mut().take().unwrap().callback(());
    success_result_of(stopped);
}

#[test]
fn a_failed_start_names_the_service_and_later_ones_do_not_start() {
    let log = Log::default();
    let tree = MultiService::new();
    let mut database = Recorder::new("database", &log);
    database.fail_start = true;
    tree.add("database", database).unwrap();
    tree.add("web", Recorder::new("web", &log)).unwrap();
    let failure = failure_result_of(tree.start());
    assert!(
        failure.to_string().contains("database") && failure.to_string().contains("no database"),
        "{failure}"
    );
    assert_eq!(*log.borrow(), ["start database"]);
}

#[test]
fn force_stop_reaches_the_service_being_waited_for() {
    let log = Log::default();
    let tree = MultiService::new();
    let mut slow = Recorder::new("slow", &log);
    slow.hold_stop = true;
    tree.add("first", Recorder::new("first", &log)).unwrap();
    tree.add("slow", slow).unwrap();
    let stopped = tree.stop();
    assert_no_result(&stopped);
    tree.force_stop();
    success_result_of(stopped);
    let log = log.borrow();
    assert_eq!(log[0], "stop slow");
    assert!(
        log.contains(&"force slow".to_owned()) && log.contains(&"stop first".to_owned()),
        "{log:?}"
    );
}

struct Quiet;
impl Protocol for Quiet {
    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

fn server(reactor: &MemoryReactor, drain: Drain) -> StreamServerService {
    let endpoint = Rc::new(TcpServerEndpoint::new(
        reactor.clone(),
        "127.0.0.1:0".parse().unwrap(),
    ));
    let factory = SharedFactory::new(protocol_factory(|_| Quiet));
    StreamServerService::new(endpoint, factory, "test", "quiet").drain(drain)
}

fn peer() -> Address {
    Address::tcp("127.0.0.1:40000".parse().unwrap())
}

#[test]
fn the_stream_server_listens_at_privileged_start_and_announces_once() {
    let reactor = MemoryReactor::new();
    let announced: Rc<RefCell<Vec<Address>>> = Rc::default();
    let record = announced.clone();
    let service =
        server(&reactor, Drain::Close).on_listening(move |address| record.borrow_mut().push(address.clone()));
    success_result_of(service.privileged_start());
    success_result_of(service.start());
    assert_eq!(reactor.tcp_servers().len(), 1, "start does not listen twice");
    assert_eq!(announced.borrow().len(), 1);
    assert_eq!(service.address(), Some(announced.borrow()[0].clone()));
}

#[test]
fn drain_close_closes_connections_and_the_stop_waits_for_them() {
    let reactor = MemoryReactor::new();
    let service = server(&reactor, Drain::Close);
    success_result_of(service.start());
    let port = reactor.tcp_servers()[0].port.clone();
    let mut one = port.accept(peer()).unwrap();
    let mut two = port.accept(peer()).unwrap();
    assert_eq!(service.open_connections(), 2);
    let stopped = service.stop();
    assert!(!port.is_listening(), "stopped listening first");
    assert!(one.transport().is_disconnecting() && !one.transport().is_aborted());
    assert_no_result(&stopped);
    one.settle();
    assert_no_result(&stopped);
    two.settle();
    success_result_of(stopped);
    assert_eq!(service.open_connections(), 0);
}

#[test]
fn drain_wait_leaves_connections_alone_until_forced() {
    let reactor = MemoryReactor::new();
    let service = server(&reactor, Drain::Wait);
    success_result_of(service.start());
    let mut transfer = reactor.tcp_servers()[0].port.accept(peer()).unwrap();
    let stopped = service.stop();
    transfer.settle();
    assert!(
        !transfer.transport().is_disconnecting(),
        "a relay finishes its transfer"
    );
    assert_no_result(&stopped);
    service.force_stop();
    assert!(transfer.transport().is_aborted(), "the deadline aborts it");
    transfer.settle();
    success_result_of(stopped);
}

#[test]
fn drain_with_asks_the_protocol_to_shut_down() {
    let reactor = MemoryReactor::new();
    let asked = Rc::new(RefCell::new(0));
    let count = asked.clone();
    let service = server(&reactor, Drain::With(Rc::new(move || *count.borrow_mut() += 1)));
    success_result_of(service.start());
    let mut busy = reactor.tcp_servers()[0].port.accept(peer()).unwrap();
    let stopped = service.stop();
    assert_eq!(*asked.borrow(), 1);
    assert!(
        !busy.transport().is_disconnecting(),
        "closing is the protocol's business"
    );
    assert_no_result(&stopped);
    busy.transport().handle().lose_connection();
    busy.settle();
    success_result_of(stopped);
}

#[test]
fn a_failed_listen_fails_the_start() {
    let reactor = MemoryReactor::new();
    reactor.fail_next_listen(std::io::Error::from(std::io::ErrorKind::AddrInUse));
    let service = server(&reactor, Drain::Close);
    let failure = failure_result_of(service.privileged_start());
    assert!(failure.to_string().contains("cannot listen"), "{failure}");
}

#[test]
fn the_timer_service_ticks_and_its_stop_waits_for_the_call_in_progress() {
    let clock = ManualClock::new();
    let ticks = Rc::new(RefCell::new(0));
    let pending: Rc<RefCell<Option<Resolver<()>>>> = Rc::default();
    let (count, hold) = (ticks.clone(), pending.clone());
    let timer = TimerService::new(Rc::new(clock.clone()), Duration::from_secs(5), move || {
        *count.borrow_mut() += 1;
        let (deferred, resolver) = Deferred::new();
        *hold.borrow_mut() = Some(resolver);
        deferred
    });
    success_result_of(timer.start());
    assert_eq!(*ticks.borrow(), 1, "the first call is at start");
    pending.borrow_mut().take().unwrap().callback(());
    clock.advance(Duration::from_secs(5));
    assert_eq!(*ticks.borrow(), 2);
    let stopped = timer.stop();
    assert_no_result(&stopped);
    pending.borrow_mut().take().unwrap().callback(());
    success_result_of(stopped);
    clock.advance(Duration::from_secs(60));
    assert_eq!(*ticks.borrow(), 2, "no call after the stop");
}

#[test]
fn a_client_service_in_the_tree_connects_on_start_and_disconnects_on_stop() {
    use gyre_core::Clock;
    use gyre_endpoints::{ClientService, Jitter, TcpClientEndpoint};
    let reactor = MemoryReactor::new();
    let endpoint = TcpClientEndpoint::new(reactor.clone(), "127.0.0.1:7".parse().unwrap());
    let clock: Rc<dyn Clock> = Rc::new(reactor.clone());
    let factory = SharedFactory::new(protocol_factory(|_| Quiet));
    let client = ClientService::new(Rc::new(endpoint), factory, clock, Jitter::none());
    let tree = MultiService::new();
    tree.add("upstream", client.clone()).unwrap();
    assert!(reactor.tcp_clients().is_empty(), "nothing before start");
    success_result_of(tree.start());
    assert_eq!(reactor.tcp_clients().len(), 1, "start connects");
    let mut connection = reactor.connect_tcp_client(0).expect("a protocol");
    success_result_of(client.when_connected());
    let stopped = tree.stop();
    assert_no_result(&stopped);
    assert!(connection.settle(), "stop closes the connection");
    success_result_of(stopped);
}

/// Listens the test has yet to complete: the factory and the resolver.
type PendingListens = Rc<RefCell<Vec<(SharedFactory, Resolver<gyre_core::connector::ListeningPort>)>>>;

/// An endpoint whose listen completes when the test says.
struct SlowEndpoint {
    pending: PendingListens,
}

impl gyre_endpoints::ServerEndpoint for SlowEndpoint {
    fn listen(&self, factory: SharedFactory) -> Deferred<gyre_core::connector::ListeningPort> {
        let (deferred, resolver) = Deferred::new();
        self.pending.borrow_mut().push((factory, resolver));
        deferred
    }
}

#[test]
fn a_stop_during_a_listen_under_way_stops_listening_once_it_is_done() {
    use gyre_core::interfaces::ReactorTcp;
    let reactor = MemoryReactor::new();
    let pending = PendingListens::default();
    let endpoint = SlowEndpoint {
        pending: pending.clone(),
    };
    let factory = SharedFactory::new(protocol_factory(|_| Quiet));
    let service = StreamServerService::new(Rc::new(endpoint), factory, "test", "quiet");
    let started = service.start();
    let stopped = service.stop();
    assert_no_result(&started);
    assert_no_result(&stopped);
    let (factory, resolver) = pending.borrow_mut().pop().unwrap();
    let port = reactor
        .listen_tcp("127.0.0.1:0".parse().unwrap(), factory, 50)
        .unwrap();
    resolver.callback(port);
    success_result_of(started);
    success_result_of(stopped);
    assert!(
        !reactor.tcp_servers()[0].port.is_listening(),
        "the late port was closed"
    );
}
