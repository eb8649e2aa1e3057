//! The reverse proxy in memory: a front `HttpServer` (driven through a
//! `StringTransportWithDisconnection`) forwards through an `Agent` over a
//! `MemNet` to an upstream server protocol, on a `ManualClock`.

mod client_support;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use client_support::MemNet;
use gyre_core::{Address, Deferred, Failure, Protocol, SharedFactory, Transport};
use gyre_endpoints::Connection;
use gyre_http::client::{Agent, Connector, HttpClient, PoolKey, Timeouts};
use gyre_http::proxy::{ReverseProxy, strip_hop_by_hop};
use gyre_http::resource::{Node, Site};
use gyre_http::server::{BodyEvent, HttpServer, Request, Response};
use gyre_http::{HeaderMap, RequestHead, StatusCode};
use gyre_testing::{ManualClock, StringTransport, StringTransportWithDisconnection, default_host};

type Seen = Rc<RefCell<Vec<(RequestHead, Vec<u8>)>>>;

/// An upstream gyre server that logs each request (head and body) and
/// answers `upstream saw <target>` with a custom end-to-end header.
fn recording_upstream(clock: &ManualClock, seen: Seen) -> HttpServer {
    HttpServer::new(
        Rc::new(clock.clone()),
        move |request: Request, response: Response| {
            let seen = seen.clone();
            let head = request.head().clone();
            let mut body = Vec::new();
            request.body().stream(move |event| match event {
                BodyEvent::Data(data) => body.extend_from_slice(data),
                BodyEvent::End(_) => {
                    let text = format!("upstream saw {}", head.target.as_str());
                    seen.borrow_mut().push((head.clone(), std::mem::take(&mut body)));
                    let mut answer = gyre_http::ResponseHead::new(StatusCode::CREATED);
                    answer.headers.append("X-Upstream", "yes").unwrap();
                    answer
                        .headers
                        .append("Content-Length", text.len().to_string())
                        .unwrap();
                    response.send_head(answer).unwrap();
                    response.write(text.as_bytes()).unwrap();
                    response.finish().unwrap();
                }
                BodyEvent::Failed(_) => {}
            });
        },
    )
}

fn agent(clock: &ManualClock, net: Rc<dyn Connector>, timeouts: Timeouts) -> Rc<dyn HttpClient> {
    Rc::new(
        Agent::builder(Rc::new(clock.clone()), net)
            .timeouts(timeouts)
            .build(),
    )
}

/// A front server with the proxy mounted at `/api` of a site.
fn front(clock: &ManualClock, proxy: ReverseProxy) -> HttpServer {
    let clock = Rc::new(clock.clone());
    let root = Node::new().with_child("api", Rc::new(proxy));
    HttpServer::new(clock.clone(), Site::new(clock, Rc::new(root)))
}

/// A client connection to `server` from 10.1.2.3.
fn client_of(server: &HttpServer) -> StringTransportWithDisconnection<impl Protocol> {
    let peer = Address::tcp("10.1.2.3:4000".parse::<SocketAddr>().unwrap());
    let transport = StringTransport::with_addresses(default_host(), peer);
    StringTransportWithDisconnection::with_transport(server.protocol(), transport)
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

struct Setup {
    clock: ManualClock,
    net: Rc<MemNet>,
    seen: Seen,
}

fn setup() -> Setup {
    let clock = ManualClock::new();
    let seen: Seen = Rc::default();
    let upstream = recording_upstream(&clock, seen.clone());
    let net = MemNet::new(move |_| Box::new(upstream.protocol()));
    Setup { clock, net, seen }
}

#[test]
fn forwards_the_rest_of_the_path_and_rewrites_headers() {
    let s = setup();
    let proxy = ReverseProxy::new(
        agent(&s.clock, s.net.clone(), Timeouts::default()),
        "http://backend:8081/v1",
    )
    .unwrap();
    let mut client = client_of(&front(&s.clock, proxy));
    client.data_received(
        b"GET /api/a%20b/c?x=1&y HTTP/1.1\r\nHost: public.example\r\nConnection: keep-alive, X-Secret\r\n\
          X-Secret: hop\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers\r\n\
          Upgrade: websocket\r\nX-End-To-End: kept\r\nVia: 1.0 earlier\r\n\r\n",
    );
    s.net.pump();
    let answer = text(client.transport().take());
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    assert!(answer.contains("X-Upstream: yes\r\n"), "{answer}");
    assert!(answer.contains("Via: 1.1 gyre\r\n"), "{answer}");
    assert!(answer.ends_with("upstream saw /v1/a%20b/c?x=1&y"), "{answer}");
    let seen = s.seen.borrow();
    let (head, _) = &seen[0];
    let headers = &head.headers;
    let expected: &[(&str, Option<&str>)] = &[
        ("host", Some("backend:8081")),
        ("x-end-to-end", Some("kept")),
        ("x-forwarded-for", Some("10.1.2.3")),
        ("x-forwarded-proto", Some("http")),
        ("x-forwarded-host", Some("public.example")),
        ("via", Some("1.0 earlier, 1.1 gyre")),
        ("connection", None),
        ("x-secret", None),
        ("keep-alive", None),
        ("proxy-authorization", None),
        ("te", None),
        ("upgrade", None),
    ];
    for (name, value) in expected {
        assert_eq!(headers.get_str(name), *value, "{name} in {headers:?}");
    }
}

#[test]
fn x_forwarded_for_chains_and_host_can_be_preserved() {
    let s = setup();
    let proxy = ReverseProxy::new(
        agent(&s.clock, s.net.clone(), Timeouts::default()),
        "http://backend/",
    )
    .unwrap()
    .preserve_host(true)
    .forwarded_proto("https");
    let mut client = client_of(&front(&s.clock, proxy));
    client.data_received(
        b"GET /api HTTP/1.1\r\nHost: public.example\r\nX-Forwarded-For: 192.0.2.1\r\n\
          X-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n\r\n",
    );
    s.net.pump();
    assert!(text(client.transport().take()).ends_with("upstream saw /"));
    let seen = s.seen.borrow();
    let headers = &seen[0].0.headers;
    assert_eq!(
        headers.get_str("x-forwarded-for"),
        Some("192.0.2.1, 198.51.100.7, 203.0.113.9, 10.1.2.3")
    );
    assert_eq!(headers.get_str("host"), Some("public.example"));
    assert_eq!(headers.get_str("x-forwarded-proto"), Some("https"));
}

#[test]
fn request_bodies_stream_up_with_their_framing() {
    let s = setup();
    let proxy = ReverseProxy::new(
        agent(&s.clock, s.net.clone(), Timeouts::default()),
        "http://backend",
    )
    .unwrap();
    let mut client = client_of(&front(&s.clock, proxy));
    client.data_received(b"POST /api/up HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello");
    s.net.pump();
    client.data_received(b" world");
    s.net.pump();
    client.data_received(
        b"PUT /api/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    );
    s.net.pump();
    client.data_received(b"2\r\nde\r\n0\r\n\r\n");
    s.net.pump();
    let answer = text(client.transport().take());
    assert!(answer.contains("upstream saw /up"), "{answer}");
    assert!(answer.ends_with("upstream saw /chunked"), "{answer}");
    let seen = s.seen.borrow();
    assert_eq!(seen[0].1, b"hello world");
    assert_eq!(seen[0].0.headers.get_str("content-length"), Some("11"));
    assert_eq!(seen[1].1, b"abcde");
    assert_eq!(seen[1].0.headers.get_str("transfer-encoding"), Some("chunked"));
}

#[test]
fn the_handler_form_forwards_the_whole_target() {
    let s = setup();
    let proxy = ReverseProxy::new(
        agent(&s.clock, s.net.clone(), Timeouts::default()),
        "http://backend/base/",
    )
    .unwrap();
    let server = HttpServer::new(Rc::new(s.clock.clone()), proxy);
    let mut client = client_of(&server);
    client.data_received(b"GET /x/y?q=%2F HTTP/1.1\r\nHost: x\r\n\r\n");
    s.net.pump();
    assert!(text(client.transport().take()).ends_with("upstream saw /base/x/y?q=%2F"));
}

/// A connector whose every attempt is refused.
struct Refusing;
impl Connector for Refusing {
    fn connect(&self, _: &PoolKey, _: SharedFactory) -> Deferred<Connection> {
        Deferred::fail(Failure::msg("connection refused"))
    }
}

#[test]
fn an_unreachable_upstream_is_a_502() {
    let clock = ManualClock::new();
    let proxy = ReverseProxy::new(
        agent(&clock, Rc::new(Refusing), Timeouts::default()),
        "http://backend",
    )
    .unwrap();
    let mut client = client_of(&front(&clock, proxy));
    client.data_received(b"GET /api/x HTTP/1.1\r\nHost: x\r\n\r\nGET /api/y HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = text(client.transport().take());
    assert_eq!(
        answer.matches("HTTP/1.1 502 Bad Gateway\r\n").count(),
        2,
        "{answer}"
    );
    assert!(client.is_connected(), "a 502 keeps the client connection");
}

/// An upstream that says nothing, or writes `bytes` and closes.
struct Raw(Option<Vec<u8>>);
impl Protocol for Raw {
    fn data_received(&mut self, transport: &Transport, _: &[u8]) {
        if let Some(bytes) = self.0.take() {
            transport.write(&bytes);
            transport.lose_connection();
        }
    }
}

#[test]
fn an_upstream_timeout_is_a_504_on_the_clock() {
    let clock = ManualClock::new();
    let net = MemNet::new(|_| Box::new(Raw(None)));
    let timeouts = Timeouts {
        response_head: Some(Duration::from_secs(5)),
        ..Timeouts::default()
    };
    let proxy = ReverseProxy::new(agent(&clock, net.clone(), timeouts), "http://backend").unwrap();
    let mut client = client_of(&front(&clock, proxy));
    client.data_received(b"GET /api/slow HTTP/1.1\r\nHost: x\r\n\r\n");
    net.pump();
    clock.advance(Duration::from_secs(4));
    assert!(client.transport().value().is_empty());
    clock.advance(Duration::from_secs(2));
    let answer = text(client.transport().take());
    assert!(answer.starts_with("HTTP/1.1 504 Gateway Timeout\r\n"), "{answer}");
}

#[test]
fn garbage_from_the_upstream_is_a_502() {
    let clock = ManualClock::new();
    let net = MemNet::new(|_| Box::new(Raw(Some(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()))));
    let proxy = ReverseProxy::new(agent(&clock, net.clone(), Timeouts::default()), "http://backend").unwrap();
    let mut client = client_of(&front(&clock, proxy));
    client.data_received(b"GET /api/x HTTP/1.1\r\nHost: x\r\n\r\n");
    net.pump();
    let answer = text(client.transport().take());
    assert!(answer.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{answer}");
}

#[test]
fn an_upstream_dying_mid_body_aborts_the_client() {
    let clock = ManualClock::new();
    let partial =
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: X-Hop\r\nX-Hop: 1\r\n\r\nonly ten..".to_vec();
    let net = MemNet::new(move |_| Box::new(Raw(Some(partial.clone()))));
    let proxy = ReverseProxy::new(agent(&clock, net.clone(), Timeouts::default()), "http://backend").unwrap();
    let mut client = client_of(&front(&clock, proxy));
    client.data_received(b"GET /api/x HTTP/1.1\r\nHost: x\r\n\r\n");
    net.pump();
    let answer = text(client.transport().take());
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Content-Length: 100\r\n"), "{answer}");
    assert!(
        !answer.contains("X-Hop") && !answer.contains("Connection:"),
        "{answer}"
    );
    assert!(answer.ends_with("only ten.."), "{answer}");
    assert!(
        client.transport().is_aborted(),
        "a truncated body must not look complete"
    );
}

/// Writes a body 32 KiB at a time, each time the connection asks (the
/// way a real server's file producer does).
struct Pieces {
    body: Rc<Vec<u8>>,
    at: std::cell::Cell<usize>,
    response: Response,
}

impl gyre_core::producer::PullProducer for Pieces {
    fn resume_producing(&self) {
        let at = self.at.get();
        let end = (at + 32 * 1024).min(self.body.len());
        self.at.set(end);
        if at < end {
            self.response.write(&self.body[at..end]).unwrap();
        }
        if end == self.body.len() {
            self.response.finish().unwrap();
        }
    }
    fn stop_producing(&self) {}
}

/// An upstream that answers every request with `body`, produced in pieces.
fn big_upstream(clock: &ManualClock, body: Rc<Vec<u8>>) -> HttpServer {
    HttpServer::new(
        Rc::new(clock.clone()),
        move |_request: Request, response: Response| {
            let mut head = gyre_http::ResponseHead::new(StatusCode::OK);
            head.headers
                .append("Content-Length", body.len().to_string())
                .unwrap();
            response.send_head(head).unwrap();
            let pieces = Pieces {
                body: body.clone(),
                at: std::cell::Cell::new(0),
                response: response.clone(),
            };
            response
                .register_producer(gyre_core::producer::Producer::Pull(Rc::new(pieces)))
                .unwrap();
        },
    )
}

#[test]
fn a_slow_client_pauses_the_upstream() {
    let clock = ManualClock::new();
    let body: Rc<Vec<u8>> = Rc::new((0..4 << 20).map(|i: u32| (i % 251) as u8).collect());
    let upstream = big_upstream(&clock, body.clone());
    let net = MemNet::new(move |_| Box::new(upstream.protocol()));
    let proxy = ReverseProxy::new(agent(&clock, net.clone(), Timeouts::default()), "http://backend").unwrap();
    let mut client = client_of(&front(&clock, proxy));
    client.data_received(b"GET /api/big HTTP/1.1\r\nHost: x\r\n\r\n");
    net.pump();
    // The client reads nothing: the proxy's upstream connection stops
    // reading, and the proxy holds far less than the body.
    assert!(
        net.client_reading_paused(0),
        "the upstream connection must be paused"
    );
    let held = client.transport().value().len();
    assert!(held < 1 << 20, "the proxy buffered {held} bytes");
    // The client reads: everything arrives, in order.
    let mut received = Vec::new();
    for _ in 0..10_000 {
        received.extend(client.transport().take());
        net.pump();
        if client.transport().value().is_empty()
            && !net.client_reading_paused(0)
            && received.len() > body.len()
        {
            break;
        }
    }
    received.extend(client.transport().take());
    let start = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let payload = &received[start..];
    // HTTP/1.1 with a Content-Length from upstream: copied, not chunked.
    assert_eq!(payload.len(), body.len());
    assert!(payload == body.as_slice());
}

/// An upstream that never reads.
struct Deaf;
impl Protocol for Deaf {
    fn connection_made(&mut self, transport: &Transport) {
        transport.pause_reading();
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

#[test]
fn a_slow_upstream_pauses_the_client_upload() {
    let clock = ManualClock::new();
    let net = MemNet::new(|_| Box::new(Deaf));
    let proxy = ReverseProxy::new(agent(&clock, net.clone(), Timeouts::default()), "http://backend").unwrap();
    let mut client = client_of(&front(&clock, proxy));
    let size = 8 << 20;
    client.data_received(
        format!("POST /api/up HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n").as_bytes(),
    );
    net.pump();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < size && !client.transport().is_reading_paused() {
        client.data_received(&chunk);
        sent += chunk.len();
        net.pump();
    }
    assert!(
        client.transport().is_reading_paused(),
        "the client must be paused, {sent} bytes sent"
    );
    assert!(sent < size / 2, "paused only after {sent} bytes");
}

#[test]
fn hop_by_hop_table() {
    type Case = (&'static [(&'static str, &'static str)], &'static [&'static str]);
    let cases: &[Case] = &[
        (&[("Connection", "close"), ("Host", "h")], &["host"]),
        (
            &[
                ("Connection", "X-A, x-b"),
                ("X-A", "1"),
                ("X-B", "2"),
                ("X-C", "3"),
            ],
            &["x-c"],
        ),
        (
            &[
                ("Proxy-Connection", "keep-alive"),
                ("Proxy-Foo", "1"),
                ("Keep-Alive", "1"),
            ],
            &[],
        ),
        (
            &[
                ("Transfer-Encoding", "chunked"),
                ("Trailer", "X"),
                ("TE", "trailers"),
                ("Upgrade", "h2c"),
            ],
            &[],
        ),
        (
            &[("Content-Type", "text/plain"), ("Connection", "")],
            &["content-type"],
        ),
    ];
    for (input, kept) in cases {
        let mut headers = HeaderMap::new();
        for (name, value) in *input {
            headers.append(name, value).unwrap();
        }
        strip_hop_by_hop(&mut headers);
        let names: Vec<String> = headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect();
        assert_eq!(names, *kept, "for {input:?}");
    }
}

#[test]
fn head_and_bodiless_answers_keep_their_framing() {
    let clock = ManualClock::new();
    let upstream = HttpServer::new(Rc::new(clock.clone()), |request: Request, response: Response| {
        if request.head().target.path() == "/cached" {
            let mut head = gyre_http::ResponseHead::new(StatusCode::NOT_MODIFIED);
            head.headers.append("ETag", "\"v1\"").unwrap();
            response.send_head(head).unwrap();
            response.finish().unwrap();
        } else {
            response
                .send(StatusCode::OK, "text/plain", b"twelve bytes")
                .unwrap();
        }
    });
    let net = MemNet::new(move |_| Box::new(upstream.protocol()));
    let proxy = ReverseProxy::new(agent(&clock, net.clone(), Timeouts::default()), "http://backend").unwrap();
    let mut client = client_of(&front(&clock, proxy));
    client.data_received(b"HEAD /api/x HTTP/1.1\r\nHost: x\r\n\r\n");
    net.pump();
    let answer = text(client.transport().take());
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Content-Length: 12\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "no body after a HEAD: {answer}");
    client.data_received(b"GET /api/cached HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"v1\"\r\n\r\n");
    net.pump();
    let answer = text(client.transport().take());
    assert!(answer.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{answer}");
    assert!(
        answer.contains("ETag: \"v1\"\r\n") && answer.ends_with("\r\n\r\n"),
        "{answer}"
    );
    // The connection is still usable: both answers were framed right.
    client.data_received(b"GET /api/again HTTP/1.1\r\nHost: x\r\n\r\n");
    net.pump();
    assert!(text(client.transport().take()).ends_with("twelve bytes"));
}

#[test]
fn a_client_leaving_early_cancels_the_upstream_request() {
    let clock = ManualClock::new();
    let net = MemNet::new(|_| Box::new(Raw(None)));
    let proxy = ReverseProxy::new(agent(&clock, net.clone(), Timeouts::default()), "http://backend").unwrap();
    let mut client = client_of(&front(&clock, proxy));
    client.data_received(b"GET /api/slow HTTP/1.1\r\nHost: x\r\n\r\n");
    net.pump();
    assert!(net.is_connected(0));
    client.peer_closed();
    net.pump();
    assert!(
        !net.is_connected(0),
        "the upstream connection must be aborted, not left waiting"
    );
}
