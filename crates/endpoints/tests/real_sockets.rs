//! Endpoints over real sockets on 127.0.0.1, ::1 and Unix sockets, every
//! run bounded by a reactor timeout.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::connector::ListeningPort;
use gyre_core::errors::ConnectionRefused;
use gyre_core::{Address, Deferred, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::{
    ClientEndpoint, EndpointRegistry, HostnameEndpoint, ServerEndpoint, StaticResolver, ThreadedResolver,
    connect_protocol,
};
use gyre_reactor::Reactor;
use gyre_testing::success_result_of;

const LIMIT: Duration = Duration::from_secs(10);

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// Sends a greeting and records the echo; `done` fires with it.
struct Greeter {
    heard: Vec<u8>,
    done: Option<gyre_core::Resolver<Vec<u8>>>,
}

impl Greeter {
    fn new() -> (Greeter, Deferred<Vec<u8>>) {
        let (d, r) = Deferred::new();
        (
            Greeter {
                heard: Vec::new(),
                done: Some(r),
            },
            d,
        )
    }
}

impl Protocol for Greeter {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(b"hello endpoints");
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.heard.extend_from_slice(data);
        if self.heard.len() >= 15 {
            if let Some(done) = self.done.take() {
                done.callback(self.heard.clone());
            }
            transport.lose_connection();
        }
    }
}

fn echo() -> SharedFactory {
    SharedFactory::new(protocol_factory(|_: &Address| Echo))
}

/// Connects, sends, waits for the echo: one `run_until`, because stopping
/// the reactor (as `run_until` does at its end) closes every port.
fn round_trip(reactor: &Reactor, client: &dyn ClientEndpoint) -> Vec<u8> {
    let (greeter, heard) = Greeter::new();
    let scenario = connect_protocol(client, greeter).and_then(move |_| heard);
    reactor
        .run_until(scenario.add_timeout(reactor, LIMIT))
        .expect("echoed")
}

/// Listening needs no turn of the loop: the Deferred has fired on return.
fn listen(server: &dyn ServerEndpoint) -> ListeningPort {
    success_result_of(server.listen(echo()))
}

#[test]
fn tcp_server_and_client_from_strings() {
    let reactor = Reactor::new().unwrap();
    let registry = EndpointRegistry::default();
    let server = registry
        .server_from_string(&reactor, "tcp:0:interface=127.0.0.1")
        .unwrap();
    let port = listen(&*server);
    let number = port.host().port().unwrap();
    let client = registry
        .client_from_string(&reactor, &format!("tcp:host=127.0.0.1:port={number}:timeout=5"))
        .unwrap();
    assert_eq!(round_trip(&reactor, &*client), b"hello endpoints");
    reactor.close();
}

#[test]
fn localhost_by_name_through_getaddrinfo_and_happy_eyeballs() {
    let reactor = Reactor::new().unwrap();
    let registry = EndpointRegistry::default();
    let server = registry
        .server_from_string(&reactor, "tcp:0:interface=127.0.0.1")
        .unwrap();
    let port = listen(&*server);
    let number = port.host().port().unwrap();
    // The system resolver (on the thread pool) finds 127.0.0.1 for "localhost".
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let client = HostnameEndpoint::new(reactor.clone(), resolver, "localhost", number);
    assert_eq!(round_trip(&reactor, &client), b"hello endpoints");
    // Stopping the reactor closed the port: listen again. ::1 first (nobody
    // listens there on this port: refused), then 127.0.0.1 wins.
    let number = listen(&*server).host().port().unwrap();
    let both = StaticResolver::new().with(
        "localhost",
        &["::1".parse().unwrap(), "127.0.0.1".parse().unwrap()],
    );
    let client = HostnameEndpoint::new(reactor.clone(), Rc::new(both), "localhost", number);
    let (greeter, heard) = Greeter::new();
    let scenario = connect_protocol(&client, greeter)
        .and_then(move |connected| heard.map(move |echo| (connected.transport.peer(), echo)));
    let (peer, echo) = reactor.run_until(scenario.add_timeout(&reactor, LIMIT)).unwrap();
    assert_eq!(echo, b"hello endpoints");
    assert_eq!(peer, Address::tcp(format!("127.0.0.1:{number}").parse().unwrap()));
    reactor.close();
}

#[test]
fn unix_server_and_client_from_strings_and_refusal_is_typed() {
    let reactor = Reactor::new().unwrap();
    let dir = std::env::temp_dir().join(format!("gyre-endpoints-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let registry = EndpointRegistry::default();
    let server = registry
        .server_from_string(&reactor, &format!("unix:{}:mode=600:lockfile=1", path.display()))
        .unwrap();
    let _port = listen(&*server);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let client = registry
        .client_from_string(&reactor, &format!("unix:path={}:timeout=5", path.display()))
        .unwrap();
    assert_eq!(round_trip(&reactor, &*client), b"hello endpoints");

    // Nobody listens on a fresh TCP port now: the failure says so.
    let refused = registry
        .client_from_string(&reactor, "tcp:127.0.0.1:1:timeout=5")
        .unwrap();
    let built = Rc::new(RefCell::new(0));
    let counter = built.clone();
    let factory = SharedFactory::new(protocol_factory(move |_: &Address| {
        *counter.borrow_mut() += 1;
        Echo
    }));
    let failure = reactor
        .run_until(refused.connect(factory).add_timeout(&reactor, LIMIT))
        .unwrap_err();
    assert!(failure.is::<ConnectionRefused>(), "{failure:?}");
    assert_eq!(*built.borrow(), 0);
    reactor.close();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_prefixes_and_missing_tls_are_parse_errors() {
    let reactor = Reactor::new().unwrap();
    let registry = EndpointRegistry::default();
    let error = registry.server_from_string(&reactor, "sctp:80").err().unwrap();
    assert_eq!(
        error.kind(),
        &gyre_endpoints::ParseErrorKind::UnknownPrefix("sctp".into())
    );
    let mut custom = EndpointRegistry::empty();
    custom.register_server("echo-tcp", |reactor, description| {
        EndpointRegistry::default().server_from_string(reactor, &format!("tcp:{}", description.args[0].value))
    });
    assert!(custom.server_from_string(&reactor, "echo-tcp:0").is_ok());
    assert!(custom.server_from_string(&reactor, "tcp:0").is_err());
    reactor.close();
}

#[test]
fn listen_all_and_run_announces_each_endpoint_and_names_the_one_that_failed() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = format!("tcp:{}:interface=127.0.0.1", taken.local_addr().unwrap().port());
    let reactor = Reactor::new().unwrap();
    let registry = EndpointRegistry::default();
    let free = registry
        .server_from_string(&reactor, "tcp:0:interface=127.0.0.1")
        .unwrap();
    let blocked = registry.server_from_string(&reactor, &busy).unwrap();
    let announced = Rc::new(RefCell::new(Vec::new()));
    let record = announced.clone();
    let factory = SharedFactory::new(protocol_factory(|_: &Address| Echo));
    let failure = gyre_endpoints::listen_all_and_run(
        &reactor,
        &[("free", &*free), ("busy", &*blocked)],
        factory,
        move |label, address| {
            record
                .borrow_mut()
                .push((label.to_owned(), address.port().is_some()))
        },
    )
    .expect_err("the busy endpoint cannot listen");
    assert!(failure.to_string().contains("cannot listen on busy"), "{failure}");
    assert_eq!(*announced.borrow(), [("free".to_owned(), true)]);
    reactor.close();
}
