//! Tests of [`MemoryReactor`]: records, fake ports, factory start/stop
//! counting, listen failures, client driving and the clock.

use std::cell::{Cell, RefCell};

use gyre_core::connector::ConnectorState;
use gyre_core::datagram::DatagramProtocol;
use gyre_core::errors::{CannotListen, ConnectionRefused};
use gyre_core::transport::Transport;
use gyre_core::{ClientFactory, ClockExt, Factory, Protocol, protocol_factory};

use super::*;

/// Counts start_factory and stop_factory calls; builds echo protocols.
#[derive(Clone, Default)]
struct Counting {
    starts: Rc<Cell<usize>>,
    stops: Rc<Cell<usize>>,
}

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

impl Factory for Counting {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Echo))
    }
    fn start_factory(&mut self) {
        self.starts.set(self.starts.get() + 1);
    }
    fn stop_factory(&mut self) {
        self.stops.set(self.stops.get() + 1);
    }
}

impl ClientFactory for Counting {}

fn sock(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn listen_tcp_records_arguments_and_assigns_fake_ports_for_port_zero() {
    let reactor = MemoryReactor::new();
    let factory = SharedFactory::new(Counting::default());
    let first = reactor.listen_tcp(sock("0.0.0.0:0"), factory.clone(), 5).unwrap();
    let fixed = reactor
        .listen_tcp(sock("127.0.0.1:8080"), factory.clone(), 50)
        .unwrap();
    let second = reactor.listen_tcp(sock("[::1]:0"), factory.clone(), 7).unwrap();
    assert_eq!(first.host(), Address::tcp(sock("0.0.0.0:40000")));
    assert_eq!(fixed.host(), Address::tcp(sock("127.0.0.1:8080")));
    assert_eq!(second.host(), Address::tcp(sock("[::1]:40001")));
    let servers = reactor.tcp_servers();
    assert_eq!(servers.len(), 3);
    assert_eq!((servers[0].addr, servers[0].backlog), (sock("0.0.0.0:0"), 5));
    assert_eq!(
        (servers[1].addr, servers[1].backlog),
        (sock("127.0.0.1:8080"), 50)
    );
    assert!(servers[2].factory.ptr_eq(&factory));
    assert_eq!(servers[2].port.host(), second.host());
}

#[test]
fn the_factory_is_started_by_the_first_port_and_stopped_by_the_last() {
    let counting = Counting::default();
    let reactor = MemoryReactor::new();
    let factory = SharedFactory::new(counting.clone());
    let a = reactor
        .listen_tcp(sock("127.0.0.1:0"), factory.clone(), 5)
        .unwrap();
    let b = reactor
        .listen_unix(
            UnixAddress::Path("/tmp/s".into()),
            factory.clone(),
            5,
            Some(0o600),
        )
        .unwrap();
    assert_eq!((counting.starts.get(), counting.stops.get()), (1, 0));
    crate::success_result_of(a.stop_listening());
    crate::success_result_of(a.stop_listening());
    assert_eq!(counting.stops.get(), 0, "the Unix port still uses it");
    assert!(!reactor.tcp_servers()[0].port.is_listening());
    crate::success_result_of(b.stop_listening());
    assert_eq!((counting.starts.get(), counting.stops.get()), (1, 1));
    assert_eq!(reactor.unix_servers()[0].mode, Some(0o600));
}

#[test]
fn fail_next_listen_fails_one_listen_with_cannot_listen() {
    let reactor = MemoryReactor::new();
    let factory = SharedFactory::new(Counting::default());
    reactor.fail_next_listen(io::Error::from(io::ErrorKind::AddrInUse));
    let failure = reactor
        .listen_tcp(sock("127.0.0.1:25"), factory.clone(), 5)
        .unwrap_err();
    let cannot = failure.downcast_ref::<CannotListen>().expect("a CannotListen");
    assert_eq!(cannot.address, Address::tcp(sock("127.0.0.1:25")));
    assert_eq!(cannot.source.kind(), io::ErrorKind::AddrInUse);
    assert!(reactor.tcp_servers().is_empty());
    assert_eq!(factory.ports(), 0, "a failed listen does not start the factory");
    assert!(reactor.listen_tcp(sock("127.0.0.1:25"), factory, 5).is_ok());
}

#[test]
fn connect_tcp_records_the_call_and_the_test_completes_it() {
    let reactor = MemoryReactor::new();
    let counting = Counting::default();
    let factory = SharedClientFactory::new(counting.clone());
    let connector = reactor.connect_tcp(sock("192.0.2.5:143"), factory, Duration::from_secs(30), None);
    assert_eq!(connector.state(), ConnectorState::Connecting);
    assert_eq!(counting.starts.get(), 1);
    let record = &reactor.tcp_clients()[0];
    assert_eq!(record.addr, sock("192.0.2.5:143"));
    assert_eq!(record.timeout, Duration::from_secs(30));
    assert_eq!(record.bind_address, None);
    assert_eq!(
        record.connector.local_address(),
        Address::tcp(sock("127.0.0.1:40000"))
    );

    let mut conn = reactor.connect_tcp_client(0).expect("a protocol");
    assert_eq!(connector.state(), ConnectorState::Connected);
    assert_eq!(conn.handle().peer(), Address::tcp(sock("192.0.2.5:143")));
    conn.data_received(b"* OK");
    assert_eq!(conn.value(), b"* OK");
    conn.peer_closed();
    assert_eq!(connector.state(), ConnectorState::Disconnected);
    assert_eq!(counting.stops.get(), 1);
}

#[test]
fn a_bind_address_becomes_the_client_host() {
    let reactor = MemoryReactor::new();
    let factory = SharedClientFactory::new(Counting::default());
    reactor.connect_tcp(
        sock("[2001:db8::1]:80"),
        factory.clone(),
        Duration::from_secs(1),
        Some(sock("[::]:0")),
    );
    reactor.connect_tcp(sock("[2001:db8::1]:80"), factory, Duration::from_secs(1), None);
    let clients = reactor.tcp_clients();
    assert_eq!(
        clients[0].connector.local_address(),
        Address::tcp(sock("[::]:40000"))
    );
    assert_eq!(
        clients[1].connector.local_address(),
        Address::tcp(sock("[::1]:40001"))
    );
    assert_eq!(clients[0].bind_address, Some(sock("[::]:0")));
}

#[test]
fn recorded_attempts_can_be_failed_by_the_test() {
    let reactor = MemoryReactor::new();
    let counting = Counting::default();
    let connector = reactor.connect_unix(
        UnixAddress::Path("/run/app.sock".into()),
        SharedClientFactory::new(counting.clone()),
        Duration::from_secs(5),
    );
    let record = &reactor.unix_clients()[0];
    assert_eq!(record.address, UnixAddress::Path("/run/app.sock".into()));
    record.connector.fail(Failure::new(ConnectionRefused::new()));
    assert_eq!(connector.state(), ConnectorState::Disconnected);
    assert_eq!(counting.stops.get(), 1);
    connector.connect();
    let conn = reactor.connect_unix_client(0).expect("a protocol");
    assert_eq!(conn.handle().host(), Address::Unix(UnixAddress::Unnamed));
    assert_eq!(record.connector.attempts(), 2);
}

#[test]
#[should_panic(expected = "there is no connect_tcp call #0; 0 were made")]
fn driving_a_client_that_was_never_recorded_is_a_test_bug() {
    MemoryReactor::new().connect_tcp_client(0);
}

/// Remembers every datagram it hears.
struct Listener {
    heard: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl DatagramProtocol for Listener {
    fn datagram_received(&mut self, _: &DatagramTransport, data: &[u8], _from: &Address) {
        self.heard.borrow_mut().push(data.to_vec());
    }
}

#[test]
fn listen_udp_records_the_port_and_the_test_delivers_datagrams() {
    let reactor = MemoryReactor::new();
    let heard = Rc::new(RefCell::new(Vec::new()));
    let transport = reactor
        .listen_udp(sock("0.0.0.0:0"), Box::new(Listener { heard: heard.clone() }))
        .unwrap();
    assert_eq!(transport.host(), Address::udp(sock("0.0.0.0:40000")));
    let record = &reactor.udp_ports()[0];
    assert_eq!(record.addr, sock("0.0.0.0:0"));
    record
        .port
        .deliver(b"datagram", &Address::udp(sock("192.0.2.1:9")));
    assert_eq!(*heard.borrow(), [b"datagram".to_vec()]);
}

#[test]
fn the_reactor_is_a_clock_shared_by_its_clones() {
    let reactor = MemoryReactor::new();
    let fired = Rc::new(Cell::new(false));
    let flag = fired.clone();
    reactor
        .clone()
        .call_later(Duration::from_secs(10), move || flag.set(true));
    assert_eq!(reactor.clock().calls().len(), 1);
    reactor.clock().advance(Duration::from_secs(10));
    assert!(fired.get());
    assert_eq!(reactor.now(), reactor.clock().now());
}

#[test]
fn closure_factories_work_with_the_reactor() {
    let reactor = MemoryReactor::new();
    let factory = SharedFactory::new(protocol_factory(|_: &Address| Echo));
    reactor.listen_tcp(sock("127.0.0.1:7"), factory, 1).unwrap();
    let mut conn = reactor.tcp_servers()[0]
        .port
        .accept(Address::tcp(sock("127.0.0.1:9")))
        .unwrap();
    conn.data_received(b"echo");
    assert_eq!(conn.value(), b"echo");
}
