//! The server adapter on in-memory transports: pipelining at every chunk
//! size, streamed bodies with backpressure, answers from later callbacks,
//! producers, upgrades, 100-continue, limits, and timeouts on a manual
//! clock (a slowloris peer is cut off).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gyre_core::producer::{Producer, PullProducer};
use gyre_core::{ClockExt, Protocol, Transport};
use gyre_http::server::{BodyEvent, HttpServer, Request, Response, ServerOptions};
use gyre_http::{HeaderMap, ResponseHead, StatusCode};
use gyre_testing::{ManualClock, StringTransportWithDisconnection, feed_chunked};

/// Answers `METHOD PATH len(body)` once the whole body is in.
fn echo_server(clock: &ManualClock) -> HttpServer {
    HttpServer::new(Rc::new(clock.clone()), |request: Request, response: Response| {
        let line = format!("{} {}", request.head().method, request.head().target.path());
        request.body().collect(1 << 20).add_callback(move |body| {
            let text = format!("{line} {}\n", body.len());
            response
                .send(StatusCode::OK, "text/plain", text.as_bytes())
                .unwrap();
            Ok(body)
        });
    })
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn pipelined_requests_are_answered_in_order_at_every_chunk_size() {
    let clock = ManualClock::new();
    let server = echo_server(&clock);
    let input = b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n\
        POST /two HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
        PUT /three HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nwxyz\
        GET /four HTTP/1.0\r\n\r\n";
    let run = feed_chunked(|| server.protocol(), input);
    let answer = text(run.written);
    let bodies: Vec<&str> = answer
        .split("\r\n\r\n")
        .skip(1)
        .map(|part| part.split("HTTP/1.1").next().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["GET /one 0\n", "POST /two 3\n", "PUT /three 4\n", "GET /four 0\n"],
        "{answer}"
    );
    assert!(answer.ends_with("Connection: close\r\n\r\nGET /four 0\n"));
    assert!(run.closed, "HTTP/1.0 without keep-alive closes");
}

#[test]
fn malformed_requests_are_answered_and_closed() {
    let clock = ManualClock::new();
    let server = echo_server(&clock);
    let run = feed_chunked(
        || server.protocol(),
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    );
    assert!(text(run.written).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert!(run.closed);
    let run = feed_chunked(|| server.protocol(), b"GET / HTTP/3.0\r\n\r\n");
    assert!(text(run.written).starts_with("HTTP/1.1 505 "));
}

#[test]
fn a_body_is_streamed_and_pausing_it_pauses_the_transport() {
    let clock = ManualClock::new();
    let received = Rc::new(RefCell::new(Vec::<String>::new()));
    let body_handle = Rc::new(RefCell::new(None));
    let (log, keep) = (received.clone(), body_handle.clone());
    let server = HttpServer::new(
        Rc::new(clock.clone()),
        move |request: Request, response: Response| {
            let (_, body) = request.into_parts();
            let log = log.clone();
            let reader = body.clone();
            body.stream(move |event| match event {
                BodyEvent::Data(data) => {
                    log.borrow_mut().push(String::from_utf8_lossy(data).into_owned());
                    reader.pause();
                }
                BodyEvent::End(_) => {
                    log.borrow_mut().push("end".into());
                    response.send(StatusCode::NO_CONTENT, "text/plain", b"").unwrap();
                }
                BodyEvent::Failed(failure) => log.borrow_mut().push(format!("failed {failure}")),
            });
            *keep.borrow_mut() = Some(body);
        },
    );
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    conn.data_received(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    assert_eq!(*received.borrow(), ["abc"]);
    conn.data_received(b"3\r\ndef\r\n0\r\n\r\n");
    assert_eq!(*received.borrow(), ["abc"], "paused: nothing delivered");
    assert!(
        conn.transport().is_reading_paused(),
        "and the transport stops reading"
    );
    body_handle.borrow().as_ref().unwrap().resume();
    assert_eq!(*received.borrow(), ["abc", "def"]);
    body_handle.borrow().as_ref().unwrap().resume();
    assert_eq!(*received.borrow(), ["abc", "def", "end"]);
    assert!(!conn.transport().is_reading_paused());
    assert!(text(conn.transport().take()).starts_with("HTTP/1.1 204 No Content\r\n"));
}

#[test]
fn an_unread_body_holds_the_client_until_the_handler_answers() {
    let clock = ManualClock::new();
    let pending = Rc::new(RefCell::new(None));
    let keep = pending.clone();
    let server = HttpServer::new(
        Rc::new(clock.clone()),
        move |_request: Request, response: Response| {
            *keep.borrow_mut() = Some(response);
        },
    );
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    conn.data_received(b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n");
    assert!(
        conn.value().is_empty(),
        "no 100 Continue: the handler did not ask for the body"
    );
    conn.data_received(b"abc");
    assert!(conn.transport().is_reading_paused());
    let response = pending.borrow_mut().take().unwrap();
    let mut refused = ResponseHead::new(StatusCode::new(403).unwrap());
    refused.headers.append("Content-Length", "0").unwrap();
    response.send_head(refused).unwrap();
    response.finish().unwrap();
    let answer = text(conn.transport().take());
    assert!(
        answer.contains("Connection: close"),
        "the client may never send the rest: {answer}"
    );
    conn.settle();
    assert!(!conn.is_connected());
}

#[test]
fn continue_is_sent_when_the_handler_reads() {
    let clock = ManualClock::new();
    let server = echo_server(&clock);
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    conn.data_received(b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(conn.transport().take(), b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.data_received(b"abc");
    assert!(text(conn.transport().take()).ends_with("PUT /f 3\n"));
}

#[test]
fn answers_written_later_from_a_timer_with_notify_finish() {
    let clock = ManualClock::new();
    let finished = Rc::new(Cell::new(false));
    let (timer_clock, flag) = (clock.clone(), finished.clone());
    let server = HttpServer::new(
        Rc::new(clock.clone()),
        move |_request: Request, response: Response| {
            let flag = flag.clone();
            response.notify_finish().add_callback(move |()| {
                flag.set(true);
                Ok(())
            });
            response.send_head(ResponseHead::new(StatusCode::OK)).unwrap();
            response.write(b"first ").unwrap();
            timer_clock.call_later(Duration::from_secs(1), move || {
                response.write(b"second").unwrap();
                response.finish().unwrap();
            });
        },
    );
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    conn.data_received(b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /again HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        text(conn.transport().take()),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst \r\n"
    );
    assert!(!finished.get());
    clock.advance(Duration::from_secs(1));
    assert!(finished.get());
    let rest = text(conn.transport().take());
    assert!(
        rest.starts_with("6\r\nsecond\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "then the pipelined request: {rest}"
    );
}

#[test]
fn a_client_that_hangs_up_fails_notify_finish_and_later_writes() {
    let clock = ManualClock::new();
    let kept = Rc::new(RefCell::new(None));
    let keep = kept.clone();
    let server = HttpServer::new(
        Rc::new(clock.clone()),
        move |_request: Request, response: Response| {
            *keep.borrow_mut() = Some((response.notify_finish(), response));
        },
    );
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    conn.data_received(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    conn.peer_closed();
    let (finished, response) = kept.borrow_mut().take().unwrap();
    assert!(gyre_testing::failure_result_of(finished).is::<gyre_core::errors::ConnectionLost>());
    assert_eq!(response.write(b"late"), Err(gyre_http::SendError::Closed));
    assert!(!response.is_connected());
}

/// A pull producer writing a body in 3 chunks, one per request for more.
struct Countdown {
    response: Response,
    left: Cell<u32>,
}

impl PullProducer for Countdown {
    fn resume_producing(&self) {
        let left = self.left.get();
        if left == 0 {
            self.response.finish().unwrap();
            return;
        }
        self.left.set(left - 1);
        self.response.write(format!("{left}.").as_bytes()).unwrap();
    }
    fn stop_producing(&self) {}
}

#[test]
fn a_pull_producer_writes_the_body_as_the_client_reads() {
    let clock = ManualClock::new();
    let server = HttpServer::new(Rc::new(clock.clone()), |_request: Request, response: Response| {
        let mut head = ResponseHead::new(StatusCode::OK);
        head.headers.append("Content-Length", "6").unwrap();
        response.send_head(head).unwrap();
        let producer = Rc::new(Countdown {
            response: response.clone(),
            left: Cell::new(3),
        });
        response.register_producer(Producer::Pull(producer)).unwrap();
    });
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    conn.data_received(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(
        text(conn.transport().take()).ends_with("\r\n\r\n3."),
        "one chunk per drain"
    );
    assert_eq!(conn.transport().take(), b"2.");
    assert_eq!(conn.transport().take(), b"1.");
    conn.transport().clear();
    assert!(
        conn.transport().producer().is_none(),
        "unregistered when finished"
    );
}

/// Echoes in upper case: the protocol a connection is upgraded to.
struct Shout;

impl Protocol for Shout {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(b"[shout]");
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(&data.to_ascii_uppercase());
    }
}

#[test]
fn upgrade_hands_the_connection_and_the_early_bytes_to_another_protocol() {
    let clock = ManualClock::new();
    let server = HttpServer::new(Rc::new(clock.clone()), |request: Request, response: Response| {
        assert!(request.head().headers.has_token("connection", "upgrade"));
        let mut head = ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS);
        head.headers
            .append("Upgrade", "shout")
            .unwrap()
            .append("Connection", "Upgrade")
            .unwrap();
        response.upgrade(head, Shout).unwrap();
    });
    let run = feed_chunked(
        || server.protocol(),
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: shout\r\nConnection: Upgrade\r\n\r\nhello GET / HTTP/1.1\r\n",
    );
    assert_eq!(
        text(run.written),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: shout\r\nConnection: Upgrade\r\n\r\n[shout]HELLO GET / HTTP/1.1\r\n"
    );
}

#[test]
fn the_body_limit_is_answered_with_413() {
    let clock = ManualClock::new();
    let mut options = ServerOptions::default();
    options.connection.body.max_body = Some(10);
    let server = echo_server(&clock).with_options(options);
    let run = feed_chunked(
        || server.protocol(),
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n",
    );
    assert!(text(run.written).starts_with("HTTP/1.1 413 Content Too Large\r\n"));
    let chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n";
    let run = feed_chunked(|| server.protocol(), chunked);
    assert!(text(run.written).starts_with("HTTP/1.1 413 Content Too Large\r\n"));
    assert!(run.closed);
}

#[test]
fn a_slowloris_peer_sending_a_byte_per_interval_is_cut_off_with_408() {
    let clock = ManualClock::new();
    let server = echo_server(&clock);
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    let request = b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut sent = 0;
    for &byte in request.iter() {
        if !conn.is_connected() {
            break;
        }
        conn.data_received(&[byte]);
        sent += 1;
        clock.advance(Duration::from_secs(1));
        conn.settle();
    }
    assert!(!conn.is_connected(), "closed before the head completed");
    assert_eq!(sent, 30, "after the 30 s request-read timeout, not later");
    assert!(text(conn.value()).starts_with("HTTP/1.1 408 Request Timeout\r\n"));
}

#[test]
fn idle_connections_are_closed_quietly_and_progress_is_not_a_timeout() {
    let clock = ManualClock::new();
    let server = echo_server(&clock);
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    conn.data_received(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    conn.transport().clear();
    clock.advance(Duration::from_secs(59));
    conn.settle();
    assert!(conn.is_connected());
    clock.advance(Duration::from_secs(1));
    conn.settle();
    assert!(!conn.is_connected());
    assert!(conn.value().is_empty(), "no answer to nobody");

    // A body that keeps arriving is never timed out; one that stops is.
    let mut conn = StringTransportWithDisconnection::new(server.protocol());
    conn.data_received(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n");
    for _ in 0..5 {
        clock.advance(Duration::from_secs(50));
        conn.data_received(b"x");
        conn.settle();
    }
    assert!(conn.is_connected());
    clock.advance(Duration::from_secs(60));
    conn.settle();
    assert!(!conn.is_connected());
    assert!(text(conn.value()).starts_with("HTTP/1.1 408 "));
}

#[test]
fn trailers_reach_the_reader_and_are_sent() {
    let clock = ManualClock::new();
    let server = HttpServer::new(Rc::new(clock.clone()), |request: Request, response: Response| {
        request.body().stream(move |event| {
            if let BodyEvent::End(trailers) = event {
                response.send_head(ResponseHead::new(StatusCode::OK)).unwrap();
                response.write(b"x").unwrap();
                let mut echoed = HeaderMap::new();
                echoed.append("Echo", trailers.get("Digest").unwrap()).unwrap();
                response.finish_with_trailers(&echoed).unwrap();
            }
        });
    });
    let run = feed_chunked(
        || server.protocol(),
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nDigest: abc\r\n\r\n",
    );
    assert!(text(run.written).ends_with("1\r\nx\r\n0\r\nEcho: abc\r\n\r\n"));
}
