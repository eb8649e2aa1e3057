//! The forward proxy in memory: absolute-form forwarding over a `MemNet`,
//! `CONNECT` tunnels to in-memory endpoints, the access policy, and proxy
//! authentication.

mod client_support;

use std::cell::RefCell;
use std::rc::Rc;

use client_support::MemNet;
use gyre_core::{Deferred, Failure, Protocol, SharedFactory, Transport};
use gyre_endpoints::{ClientEndpoint, Connection};
use gyre_http::StatusCode;
use gyre_http::client::{Agent, HttpClient};
use gyre_http::proxy::{DefaultPolicy, ForwardProxy, ProxyAuth};
use gyre_http::resource::InMemoryChecker;
use gyre_http::server::{HttpServer, Request, Response};
use gyre_testing::{ManualClock, Pump, StringTransportWithDisconnection, connect_pair};

/// Answers every line it receives in upper case (a stand-in TCP service).
struct Shout;
impl Protocol for Shout {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(&data.to_ascii_uppercase());
    }
}

type Pairs = Rc<RefCell<Vec<Pump<Shout, Box<dyn Protocol>>>>>;

/// An endpoint that connects to a `Shout`, or fails.
struct MemEndpoint {
    pairs: Pairs,
    reachable: bool,
}

impl ClientEndpoint for MemEndpoint {
    fn connect(&self, factory: SharedFactory) -> Deferred<Connection> {
        if !self.reachable {
            return Deferred::fail(Failure::msg("connection refused"));
        }
        let client = factory.build_protocol(&gyre_testing::default_host()).unwrap();
        let pair = connect_pair(Shout, client);
        let connection = Connection::new(pair.client_transport());
        self.pairs.borrow_mut().push(pair);
        Deferred::succeed(connection)
    }
}

struct World {
    net: Rc<MemNet>,
    pairs: Pairs,
    dialed: Rc<RefCell<Vec<String>>>,
    clock: ManualClock,
}

fn world() -> World {
    let clock = ManualClock::new();
    let upstream = HttpServer::new(Rc::new(clock.clone()), |request: Request, response: Response| {
        let head = request.head();
        let text = format!(
            "{} {} host={:?}",
            head.method,
            head.target.as_str(),
            head.headers.get_str("host")
        );
        response
            .send(StatusCode::OK, "text/plain", text.as_bytes())
            .unwrap();
    });
    let net = MemNet::new(move |_| Box::new(upstream.protocol()));
    World {
        net,
        pairs: Rc::default(),
        dialed: Rc::default(),
        clock,
    }
}

impl World {
    fn proxy(&self) -> ForwardProxy {
        let agent: Rc<dyn HttpClient> =
            Rc::new(Agent::builder(Rc::new(self.clock.clone()), self.net.clone()).build());
        let (pairs, dialed) = (self.pairs.clone(), self.dialed.clone());
        let dialer = move |host: &str, port: u16| -> Rc<dyn ClientEndpoint> {
            dialed.borrow_mut().push(format!("{host}:{port}"));
            Rc::new(MemEndpoint {
                pairs: pairs.clone(),
                reachable: host != "unreachable.test",
            })
        };
        ForwardProxy::new(agent, Rc::new(dialer))
    }

    fn client(&self, proxy: ForwardProxy) -> StringTransportWithDisconnection<impl Protocol> {
        StringTransportWithDisconnection::new(HttpServer::new(Rc::new(self.clock.clone()), proxy).protocol())
    }

    fn pump(&self) {
        self.net.pump();
        for pair in self.pairs.borrow_mut().iter_mut() {
            pair.pump();
        }
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn absolute_form_requests_are_forwarded_with_the_target_host() {
    let w = world();
    let mut client = w.client(w.proxy());
    client.data_received(
        b"GET http://origin.test:8080/a/b?c HTTP/1.1\r\nHost: origin.test:8080\r\nProxy-Connection: keep-alive\r\n\r\n",
    );
    w.pump();
    let answer = text(client.transport().take());
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with("GET /a/b?c host=Some(\"origin.test:8080\")"),
        "{answer}"
    );
    assert_eq!(w.net.attempts.borrow()[0].origin.host, "origin.test");
    // Origin-form requests are not proxy requests.
    client.data_received(b"GET /local HTTP/1.1\r\nHost: proxy\r\n\r\n");
    assert!(text(client.transport().take()).starts_with("HTTP/1.1 400 "));
}

#[test]
fn connect_to_443_opens_a_tunnel_with_bytes_both_ways() {
    let w = world();
    let mut client = w.client(w.proxy());
    // The first tunnel bytes follow the request at once (an eager client).
    client.data_received(b"CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\nhello ");
    w.pump();
    let answer = text(client.transport().take());
    assert!(
        answer.starts_with("HTTP/1.1 200 Connection Established\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\nHELLO "), "{answer}");
    client.data_received(b"tunnel");
    w.pump();
    assert_eq!(text(client.transport().take()), "TUNNEL");
    assert_eq!(*w.dialed.borrow(), ["secure.test:443"]);
    // Closing the client closes the far side.
    client.peer_closed();
    w.pump();
    assert!(!w.pairs.borrow()[0].is_connected());
}

#[test]
fn the_default_policy_refuses_connect_to_other_ports() {
    let w = world();
    let mut client = w.client(w.proxy());
    client.data_received(b"CONNECT mail.test:25 HTTP/1.1\r\nHost: mail.test:25\r\n\r\n");
    w.pump();
    assert!(text(client.transport().take()).starts_with("HTTP/1.1 403 Forbidden\r\n"));
    assert!(w.dialed.borrow().is_empty(), "nothing dialled");
    // Configured: allowed.
    let policy = DefaultPolicy::default()
        .allow_connect_port(25)
        .deny_host("evil.test");
    let mut client = w.client(w.proxy().policy(Rc::new(policy)));
    client.data_received(b"CONNECT mail.test:25 HTTP/1.1\r\nHost: mail.test:25\r\n\r\n");
    w.pump();
    assert!(text(client.transport().take()).starts_with("HTTP/1.1 200 Connection Established\r\n"));
    let mut client = w.client(
        w.proxy()
            .policy(Rc::new(DefaultPolicy::default().deny_host("evil.test"))),
    );
    client.data_received(b"GET http://EVIL.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n");
    assert!(text(client.transport().take()).starts_with("HTTP/1.1 403 Forbidden\r\n"));
    // A closure is a policy too.
    let only_example = |host: &str, _port: u16, _tunnel: bool| host == "example.test";
    let mut client = w.client(w.proxy().policy(Rc::new(only_example)));
    client.data_received(b"GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n");
    assert!(text(client.transport().take()).starts_with("HTTP/1.1 403 Forbidden\r\n"));
}

#[test]
fn an_unreachable_tunnel_target_is_a_502_and_the_connection_goes_on() {
    let w = world();
    let mut client = w.client(w.proxy());
    client.data_received(b"CONNECT unreachable.test:443 HTTP/1.1\r\nHost: unreachable.test:443\r\n\r\n");
    w.pump();
    let answer = text(client.transport().take());
    assert!(answer.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{answer}");
    client.data_received(b"GET http://origin.test/after HTTP/1.1\r\nHost: origin.test\r\n\r\n");
    w.pump();
    let answer = text(client.transport().take());
    assert!(
        answer.ends_with("GET /after host=Some(\"origin.test\")"),
        "{answer}"
    );
}

#[test]
fn proxy_authentication_answers_407_until_the_credentials_are_right() {
    let w = world();
    let checker = InMemoryChecker::new().with_user("alice", "s3cret");
    let proxy = w.proxy().auth(ProxyAuth::basic("corp", Rc::new(checker)));
    let mut client = w.client(proxy);
    client.data_received(b"GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
    let answer = text(client.transport().take());
    assert!(
        answer.starts_with("HTTP/1.1 407 Proxy Authentication Required\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("Proxy-Authenticate: Basic realm=\"corp\"\r\n"),
        "{answer}"
    );
    // alice:wrong
    client.data_received(
        b"CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test\r\nProxy-Authorization: Basic YWxpY2U6d3Jvbmc=\r\n\r\n",
    );
    w.pump();
    assert!(text(client.transport().take()).starts_with("HTTP/1.1 407 "));
    assert!(w.dialed.borrow().is_empty());
    // alice:s3cret
    client.data_received(
        b"CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test\r\nProxy-Authorization: basic YWxpY2U6czNjcmV0\r\n\r\n",
    );
    w.pump();
    assert!(text(client.transport().take()).starts_with("HTTP/1.1 200 Connection Established\r\n"));
}
