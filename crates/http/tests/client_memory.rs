//! The agent on in-memory connections with a manual clock: keep-alive
//! reuse, the per-host limit and its queue, idle expiry, the stale
//! connection retry (idempotent requests only), timeouts, cancellation,
//! backpressure, streamed request bodies and body limits.

mod client_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use client_support::{Act, MemNet, Scripted, ok};
use gyre_http::client::{Agent, ClientError, PoolConfig, RequestBody, RequestUrl, Response, TimeoutPhase};
use gyre_http::server::{HttpServer, Request, Response as ServerResponse};
use gyre_http::{ErrorKind, HeaderMap, Method, StatusCode};
use gyre_testing::{ManualClock, assert_no_result, failure_result_of, success_result_of};

/// Answers `METHOD TARGET BODYLEN`.
fn echo(clock: &ManualClock) -> HttpServer {
    HttpServer::new(
        Rc::new(clock.clone()),
        |request: Request, response: ServerResponse| {
            let line = format!("{} {}", request.head().method, request.head().target.as_str());
            request.body().collect(1 << 20).add_callback(move |body| {
                let text = format!("{line} {}", body.len());
                response
                    .send(StatusCode::OK, "text/plain", text.as_bytes())
                    .unwrap();
                Ok(body)
            });
        },
    )
}

fn echo_net(clock: &ManualClock) -> Rc<MemNet> {
    let server = echo(clock);
    MemNet::new(move |_| Box::new(server.protocol()))
}

fn agent(clock: &ManualClock, net: &Rc<MemNet>, pool: PoolConfig) -> Agent {
    Agent::builder(Rc::new(clock.clone()), net.clone())
        .pool(pool)
        .build()
}

fn get(agent: &Agent, url: &str) -> gyre_core::Deferred<Response> {
    agent.request_str(Method::GET, url, HeaderMap::new(), RequestBody::empty())
}

fn body_text(net: &MemNet, response: gyre_core::Deferred<Response>) -> String {
    net.pump();
    let response = success_result_of(response);
    let body = response.read_body(1 << 20);
    net.pump();
    String::from_utf8(success_result_of(body)).unwrap()
}

fn client_error(failure: &gyre_core::Failure) -> ClientError {
    failure
        .downcast_ref::<ClientError>()
        .cloned()
        .unwrap_or_else(|| panic!("not a ClientError: {failure}"))
}

#[test]
fn sequential_requests_reuse_one_keep_alive_connection() {
    let clock = ManualClock::new();
    let net = echo_net(&clock);
    let agent = agent(&clock, &net, PoolConfig::default());
    assert_eq!(
        body_text(&net, get(&agent, "http://example.com/a?x=1")),
        "GET /a?x=1 0"
    );
    assert_eq!(body_text(&net, get(&agent, "http://example.com/b")), "GET /b 0");
    assert_eq!(net.connections(), 1);
    let key = agent.pool_key(&RequestUrl::parse("http://example.com/").unwrap());
    assert_eq!(
        (agent.idle_connections(&key), agent.open_connections(&key)),
        (1, 1)
    );
    // Another host, another connection.
    assert_eq!(
        body_text(&net, get(&agent, "http://other.example:8080/")),
        "GET / 0"
    );
    assert_eq!(net.connections(), 2);
    assert_eq!(net.attempts.borrow()[1].origin.authority(), "other.example:8080");
}

#[test]
fn requests_over_the_per_host_limit_queue_in_order() {
    let clock = ManualClock::new();
    let net = echo_net(&clock);
    let pool = PoolConfig {
        max_per_host: 2,
        ..PoolConfig::default()
    };
    let agent = agent(&clock, &net, pool);
    let pending: Vec<_> = (0..5).map(|i| get(&agent, &format!("http://h/{i}"))).collect();
    assert_eq!(net.connections(), 2, "two connections, three requests queued");
    let mut answers = Vec::new();
    for response in pending {
        answers.push(body_text(&net, response));
    }
    assert_eq!(
        answers,
        ["GET /0 0", "GET /1 0", "GET /2 0", "GET /3 0", "GET /4 0"]
    );
    assert_eq!(net.connections(), 2);
}

#[test]
fn idle_connections_expire_on_the_clock() {
    let clock = ManualClock::new();
    let net = echo_net(&clock);
    let pool = PoolConfig {
        idle_timeout: Duration::from_secs(10),
        ..PoolConfig::default()
    };
    let agent = agent(&clock, &net, pool);
    body_text(&net, get(&agent, "http://h/"));
    let key = agent.pool_key(&RequestUrl::parse("http://h/").unwrap());
    clock.advance(Duration::from_secs(9));
    assert_eq!(agent.idle_connections(&key), 1);
    clock.advance(Duration::from_secs(1));
    net.pump();
    assert_eq!(
        (agent.idle_connections(&key), agent.open_connections(&key)),
        (0, 0)
    );
    assert!(!net.is_connected(0));
    body_text(&net, get(&agent, "http://h/"));
    assert_eq!(net.connections(), 2);
}

#[test]
fn a_server_closing_an_idle_connection_removes_it_from_the_pool() {
    let clock = ManualClock::new();
    let net = echo_net(&clock);
    let agent = agent(&clock, &net, PoolConfig::default());
    body_text(&net, get(&agent, "http://h/"));
    net.server_transport(0).lose_connection();
    net.pump();
    let key = agent.pool_key(&RequestUrl::parse("http://h/").unwrap());
    assert_eq!(agent.open_connections(&key), 0);
    assert_eq!(body_text(&net, get(&agent, "http://h/")), "GET / 0");
}

/// The first connection answers once and then closes on the next request
/// without a byte of response: a stale pooled connection.
fn stale_net() -> (Rc<MemNet>, Rc<RefCell<Vec<String>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let made = Rc::new(std::cell::Cell::new(0));
    let server_log = log.clone();
    let net = MemNet::new(move |_| {
        made.set(made.get() + 1);
        let acts = if made.get() == 1 {
            vec![ok("first"), Act::Close]
        } else {
            vec![ok("again")]
        };
        Box::new(Scripted::new(acts, server_log.clone()))
    });
    (net, log)
}

#[test]
fn idempotent_requests_are_retried_once_on_a_stale_connection() {
    let clock = ManualClock::new();
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let (net, log) = stale_net();
        let agent = agent(&clock, &net, PoolConfig::default());
        assert_eq!(body_text(&net, get(&agent, "http://h/")), "first");
        let second = agent.request_str(
            method.clone(),
            "http://h/x",
            HeaderMap::new(),
            RequestBody::bytes(&b"data"[..]),
        );
        assert_eq!(body_text(&net, second), "again", "{method}");
        assert_eq!(net.connections(), 2);
        assert_eq!(log.borrow().len(), 3, "the request was sent twice");
    }
}

#[test]
fn non_idempotent_or_unreplayable_requests_are_not_retried() {
    let clock = ManualClock::new();
    let bodies: [(Method, fn() -> RequestBody); 2] = [
        (Method::POST, || RequestBody::bytes(&b"data"[..])),
        (Method::PUT, || {
            RequestBody::stream(Some(4), |writer| {
                writer.write(b"data").unwrap();
                writer.finish().unwrap();
            })
        }),
    ];
    for (method, body) in bodies {
        let (net, log) = stale_net();
        let agent = agent(&clock, &net, PoolConfig::default());
        body_text(&net, get(&agent, "http://h/"));
        let second = agent.request_str(method.clone(), "http://h/x", HeaderMap::new(), body());
        net.pump();
        let failure = failure_result_of(second);
        match client_error(&failure) {
            ClientError::Protocol(error) => assert_eq!(error.kind(), ErrorKind::ClosedBeforeResponse),
            other => panic!("{method}: {other:?}"),
        }
        assert_eq!(net.connections(), 1);
        assert_eq!(log.borrow().len(), 2);
    }
}

#[test]
fn a_fresh_connection_closing_is_not_retried() {
    let clock = ManualClock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let server_log = log.clone();
    let net = MemNet::new(move |_| Box::new(Scripted::new([Act::Close], server_log.clone())));
    let agent = agent(&clock, &net, PoolConfig::default());
    let response = get(&agent, "http://h/");
    net.pump();
    assert!(matches!(
        client_error(&failure_result_of(response)),
        ClientError::Protocol(_)
    ));
    assert_eq!(net.connections(), 1);
}

#[test]
fn response_head_and_body_idle_timeouts() {
    let clock = ManualClock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let server_log = log.clone();
    let partial = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf".to_vec();
    let net = MemNet::new(move |key| {
        let act = if key.origin.host == "slow-head" {
            Act::Hang
        } else {
            Act::Answer(partial.clone())
        };
        Box::new(Scripted::new([act], server_log.clone()))
    });
    let agent = agent(&clock, &net, PoolConfig::default());

    let response = get(&agent, "http://slow-head/");
    net.pump();
    clock.advance(Duration::from_secs(59));
    assert_no_result(&response);
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        client_error(&failure_result_of(response)),
        ClientError::Timeout(TimeoutPhase::ResponseHead)
    );
    net.pump();
    assert!(!net.is_connected(0));

    let response = get(&agent, "http://slow-body/");
    net.pump();
    let body = success_result_of(response).read_body(100);
    net.pump();
    clock.advance(Duration::from_secs(30));
    assert_no_result(&body);
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        client_error(&failure_result_of(body)),
        ClientError::Timeout(TimeoutPhase::BodyIdle)
    );
}

#[test]
fn connect_timeout() {
    let clock = ManualClock::new();
    let net = echo_net(&clock);
    net.hold.set(true);
    let agent = agent(&clock, &net, PoolConfig::default());
    let response = get(&agent, "http://h/");
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        client_error(&failure_result_of(response)),
        ClientError::Timeout(TimeoutPhase::Connect)
    );
    // A connection completing late is closed, and the slot is free again.
    net.release_held();
    net.pump();
    let key = agent.pool_key(&RequestUrl::parse("http://h/").unwrap());
    assert_eq!(agent.open_connections(&key), 0);
}

#[test]
fn cancelling_queued_connecting_and_in_flight_requests() {
    let clock = ManualClock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let server_log = log.clone();
    let made = std::cell::Cell::new(0);
    let net = MemNet::new(move |_| {
        made.set(made.get() + 1);
        let act = if made.get() == 1 { Act::Hang } else { ok("x") };
        Box::new(Scripted::new([act], server_log.clone()))
    });
    let pool = PoolConfig {
        max_per_host: 1,
        ..PoolConfig::default()
    };
    let agent = agent(&clock, &net, pool);
    let in_flight = get(&agent, "http://h/1");
    let queued = get(&agent, "http://h/2");
    let later = get(&agent, "http://h/3");
    net.pump();
    queued.cancel();
    assert!(failure_result_of(queued).is::<gyre_core::errors::Cancelled>());
    in_flight.cancel();
    assert!(failure_result_of(in_flight).is::<gyre_core::errors::Cancelled>());
    net.pump();
    assert!(
        !net.is_connected(0),
        "the connection of a cancelled request is aborted"
    );
    // The queued request behind gets a new connection and its answer.
    assert_eq!(body_text(&net, later), "x");
    assert_eq!(net.connections(), 2);
    assert_eq!(
        log.borrow().len(),
        2,
        "the cancelled queued request was never sent"
    );

    net.hold.set(true);
    let connecting = get(&agent, "http://other/");
    connecting.cancel();
    assert!(failure_result_of(connecting).is::<gyre_core::errors::Cancelled>());
    net.release_held();
    net.pump();
    let key = agent.pool_key(&RequestUrl::parse("http://other/").unwrap());
    assert_eq!(agent.open_connections(&key), 0);
}

#[test]
fn an_unread_body_pauses_the_connection_and_reads_on_demand() {
    let clock = ManualClock::new();
    let big = "y".repeat(300 * 1024);
    let server = HttpServer::new(
        Rc::new(clock.clone()),
        move |_: Request, response: ServerResponse| {
            response
                .send(StatusCode::OK, "text/plain", big.as_bytes())
                .unwrap();
        },
    );
    let net = MemNet::new(move |_| Box::new(server.protocol()));
    let agent = agent(&clock, &net, PoolConfig::default());
    let response = get(&agent, "http://h/");
    net.pump();
    let response = success_result_of(response);
    assert!(
        net.client_reading_paused(0),
        "nobody reads: the socket is not read either"
    );
    let body = response.read_body(1 << 20);
    net.pump();
    assert_eq!(success_result_of(body).len(), 300 * 1024);
    assert!(!net.client_reading_paused(0));
    let key = agent.pool_key(&RequestUrl::parse("http://h/").unwrap());
    assert_eq!(agent.idle_connections(&key), 1);
}

#[test]
fn a_body_over_the_read_limit_fails_and_aborts() {
    let clock = ManualClock::new();
    let net = MemNet::new(|_| Box::new(Scripted::new([ok("0123456789")], Rc::default())));
    let agent = agent(&clock, &net, PoolConfig::default());
    let response = get(&agent, "http://h/");
    net.pump();
    let body = success_result_of(response).read_body(5);
    net.pump();
    assert_eq!(
        client_error(&failure_result_of(body)),
        ClientError::BodyTooLarge { limit: 5 }
    );
}

#[test]
fn dropping_an_unread_body_aborts_its_connection() {
    let clock = ManualClock::new();
    let net = MemNet::new(|_| {
        Box::new(Scripted::new(
            [Act::Answer(
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec(),
            )],
            Rc::default(),
        ))
    });
    let agent = agent(&clock, &net, PoolConfig::default());
    let response = get(&agent, "http://h/");
    net.pump();
    drop(success_result_of(response));
    net.pump();
    assert!(!net.is_connected(0));
}

#[test]
fn request_bodies_bytes_streamed_known_and_chunked() {
    let clock = ManualClock::new();
    let net = echo_net(&clock);
    let agent = agent(&clock, &net, PoolConfig::default());
    let post = |body| agent.request_str(Method::POST, "http://h/up", HeaderMap::new(), body);
    assert_eq!(
        body_text(&net, post(RequestBody::bytes(&b"hello"[..]))),
        "POST /up 5"
    );
    assert_eq!(body_text(&net, post(RequestBody::empty())), "POST /up 0");
    let chunked = RequestBody::stream(None, |writer| {
        writer.write(b"abc").unwrap();
        writer.write(b"").unwrap();
        writer.write(b"defg").unwrap();
        writer.finish().unwrap();
    });
    assert_eq!(body_text(&net, post(chunked)), "POST /up 7");
    let known = RequestBody::stream(Some(3), |writer| {
        writer.write(b"xyz").unwrap();
        assert!(writer.write(b"!").is_err(), "more than announced is refused");
        writer.finish().unwrap();
    });
    assert_eq!(body_text(&net, post(known)), "POST /up 3");
    assert_eq!(net.connections(), 1, "all on one keep-alive connection");
}

#[test]
fn head_requests_and_heads_sent() {
    let clock = ManualClock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let server_log = log.clone();
    let net = MemNet::new(move |_| {
        let head = Act::Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec());
        Box::new(Scripted::new([head, ok("after")], server_log.clone()))
    });
    let agent = Agent::builder(Rc::new(clock.clone()), net.clone())
        .user_agent("gyre-test")
        .build();
    let mut headers = HeaderMap::new();
    headers.append("X-Trace", "1").unwrap();
    let head = agent.request_str(
        Method::HEAD,
        "http://[::1]:8080/p%20q?a=%2F",
        headers,
        RequestBody::empty(),
    );
    assert_eq!(body_text(&net, head), "");
    assert_eq!(body_text(&net, get(&agent, "http://[::1]:8080/")), "after");
    assert_eq!(
        log.borrow()[0],
        "HEAD /p%20q?a=%2F HTTP/1.1\r\nX-Trace: 1\r\nHost: [::1]:8080\r\nUser-Agent: gyre-test\r\n\r\n"
    );
}

#[test]
fn invalid_urls_fail_at_once() {
    let clock = ManualClock::new();
    let net = echo_net(&clock);
    let agent = agent(&clock, &net, PoolConfig::default());
    for url in ["ftp://h/", "not a url", "http:///"] {
        assert!(
            matches!(
                client_error(&failure_result_of(get(&agent, url))),
                ClientError::InvalidUrl(_)
            ),
            "{url}"
        );
    }
    assert_eq!(net.connections(), 0);
}

#[test]
fn responses_split_at_every_chunk_size_give_the_same_result() {
    let bytes: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Kind: split\r\n\r\n\
        5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: yes\r\n\r\n";
    for size in 1..=bytes.len() {
        let clock = ManualClock::new();
        let net = MemNet::new(|_| Box::new(Scripted::new([Act::Hang], Rc::default())));
        let agent = agent(&clock, &net, PoolConfig::default());
        let pending = get(&agent, "http://h/");
        net.pump();
        let server = net.server_transport(0);
        let head_len = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut written = 0;
        for piece in bytes.chunks(size) {
            server.write(piece);
            net.pump();
            written += piece.len();
            assert_eq!(
                pending.has_result(),
                written >= head_len,
                "size {size}, {written} bytes in"
            );
        }
        let response = success_result_of(pending);
        assert_eq!(response.headers.get_str("x-kind"), Some("split"), "size {size}");
        let data = response.read_body(100);
        assert_eq!(success_result_of(data), b"hello world", "size {size}");
        let key = agent.pool_key(&RequestUrl::parse("http://h/").unwrap());
        assert_eq!(agent.idle_connections(&key), 1, "size {size}: reusable");
    }
}

/// Counts pause and resume calls.
#[derive(Default)]
struct Flow {
    paused: std::cell::Cell<bool>,
    pauses: std::cell::Cell<usize>,
    resumes: std::cell::Cell<usize>,
}

impl gyre_core::producer::PushProducer for Flow {
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        self.resumes.set(self.resumes.get() + 1);
    }
    fn stop_producing(&self) {}
}

#[test]
fn a_streamed_upload_producer_is_paused_while_the_socket_is_full() {
    let clock = ManualClock::new();
    let net = echo_net(&clock);
    let agent = agent(&clock, &net, PoolConfig::default());
    let flow = Rc::new(Flow::default());
    let writer_slot = Rc::new(RefCell::new(None));
    let (producer, slot) = (flow.clone(), writer_slot.clone());
    let body = RequestBody::stream(None, move |writer| {
        writer
            .register_producer(gyre_core::producer::Producer::Push(producer))
            .unwrap();
        writer.write(&vec![b'u'; 1 << 20]).unwrap();
        *slot.borrow_mut() = Some(writer);
    });
    let response = agent.request_str(Method::POST, "http://h/up", HeaderMap::new(), body);
    assert!(flow.paused.get(), "a megabyte unsent: the producer is paused");
    net.pump();
    assert!(!flow.paused.get() && flow.resumes.get() >= 1, "drained: resumed");
    let writer = writer_slot.borrow_mut().take().unwrap();
    writer.unregister_producer();
    writer.finish().unwrap();
    assert_eq!(body_text(&net, response), format!("POST /up {}", 1 << 20));
}
