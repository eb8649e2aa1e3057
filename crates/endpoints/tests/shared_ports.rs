//! Ports shared by worker threads (`EndpointRegistry::shared_ports`): two
//! reactors on two threads listen on the same `tcp:0` description, get the
//! same port, and both accept connections on it; descriptions that cannot
//! be shared are refused up front.

use std::io::Read;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gyre_core::{Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::{EndpointRegistry, ParseErrorKind, SharedPorts};
use gyre_reactor::Reactor;
use gyre_testing::MemoryReactor;
use gyre_testing::success_result_of;

const LIMIT: Duration = Duration::from_secs(20);

/// Answers each connection with the number of the worker that accepted it.
struct Tell(u8);
impl Protocol for Tell {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(&[self.0]);
        transport.lose_connection();
    }
    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

/// Runs a worker reactor on its own thread: listens on `tcp:0` through a
/// shared registry, reports the port, and stops when `stop` says so.
fn worker(
    number: u8,
    ports: SharedPorts,
    bound: mpsc::Sender<u16>,
    stop: mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let reactor = Reactor::new().unwrap();
        reactor.set_handle_signals(false);
        let registry = EndpointRegistry::default().shared_ports(ports);
        let endpoint = registry
            .server_from_string(&reactor, "tcp:0:interface=127.0.0.1")
            .unwrap();
        let factory = SharedFactory::new(protocol_factory(move |_| Tell(number)));
        // Not run_until: a reactor that stops closes its ports.
        let _listening = endpoint.listen(factory).map(move |port| {
            bound.send(port.host().socket_addr().unwrap().port()).unwrap();
            port
        });
        let handle = reactor.handle();
        std::thread::spawn(move || {
            let _ = stop.recv_timeout(LIMIT);
            handle.call_from_thread(|reactor| drop(reactor.stop()));
        });
        reactor.run().unwrap();
    })
}

#[test]
fn two_workers_listen_on_one_port_and_both_accept() {
    let ports = SharedPorts::new();
    let (bound_tx, bound_rx) = mpsc::channel();
    let mut stops = Vec::new();
    let mut threads = Vec::new();
    for number in [1, 2] {
        let (stop_tx, stop_rx) = mpsc::channel();
        stops.push(stop_tx);
        threads.push(worker(number, ports.clone(), bound_tx.clone(), stop_rx));
    }
    let first = bound_rx.recv_timeout(LIMIT).unwrap();
    let second = bound_rx.recv_timeout(LIMIT).unwrap();
    assert_eq!(first, second, "both workers listen on the port the first one got");
    // The kernel spreads connections by a hash of the 4-tuple: with fresh
    // client ports, 200 connections all landing on one socket has a
    // probability of 2^-199.
    let mut seen = [0usize; 3];
    let deadline = Instant::now() + LIMIT;
    for _ in 0..200 {
        let mut stream = TcpStream::connect(("127.0.0.1", first)).unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        assert_eq!(answer.len(), 1, "one byte naming the worker");
        seen[usize::from(answer[0])] += 1;
        if seen[1] > 0 && seen[2] > 0 {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    for stop in stops {
        stop.send(()).unwrap();
    }
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(seen[1] > 0 && seen[2] > 0, "both workers accepted: {seen:?}");
}

#[test]
fn ports_that_cannot_be_shared_are_refused_with_the_reason() {
    let reactor = Reactor::new().unwrap();
    let registry = EndpointRegistry::default().shared_ports(SharedPorts::new());
    for description in [
        "unix:/tmp/gyre-shared.sock",
        "stdio:",
        "systemd:domain=INET:index=0",
    ] {
        let error = registry
            .server_from_string(&reactor, description)
            .err()
            .unwrap_or_else(|| panic!("{description} was accepted"));
        assert!(
            matches!(error.kind(), ParseErrorKind::Unsupported(what) if what.contains("several workers")),
            "{description}: {error}"
        );
    }
    // Unshared, the same registry type accepts them.
    assert!(
        EndpointRegistry::default()
            .server_from_string(&reactor, "stdio:")
            .is_ok()
    );
}

#[test]
fn a_shared_tcp_endpoint_asks_the_reactor_for_reuse_port() {
    let reactor = MemoryReactor::new();
    let ports = SharedPorts::new();
    let endpoint = gyre_endpoints::TcpServerEndpoint::new(reactor.clone(), "127.0.0.1:0".parse().unwrap())
        .shared(ports.clone());
    let factory = SharedFactory::new(protocol_factory(|_| Tell(0)));
    let first = success_result_of(gyre_endpoints::ServerEndpoint::listen(&endpoint, factory.clone()));
    let second = success_result_of(gyre_endpoints::ServerEndpoint::listen(&endpoint, factory));
    let servers = reactor.tcp_servers();
    assert!(servers.iter().all(|server| server.reuse_port));
    assert_eq!(servers[0].addr.port(), 0, "the first asks for any port");
    assert_eq!(
        Some(servers[1].addr),
        first.host().socket_addr(),
        "the second asks for the port the first got"
    );
    assert_eq!(first.host(), second.host());
}
