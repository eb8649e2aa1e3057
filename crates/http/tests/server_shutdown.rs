//! Graceful shutdown (`HttpServer::shut_down`, `ServerConnection::handle_shutdown`):
//! a request in progress gets its whole answer and then the connection
//! closes; idle kept-alive connections close at once; nothing is cut short.
//! Checked on the sans-IO machine with the shutdown arriving after every
//! byte of a request, and on in-memory connections.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_http::proto::{ServerConnection, ServerEvent};
use gyre_http::server::{HttpServer, Request, Response};
use gyre_http::{HeaderMap, ResponseHead, StatusCode};
use gyre_testing::{ManualClock, StringTransportWithDisconnection};

const REQUEST: &[u8] = b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";

/// Feeds `REQUEST` split at `split` with a shutdown in between, answers
/// it, and returns what was sent and whether the machine wants to close.
fn shutdown_after(split: usize) -> (String, bool) {
    let mut conn = ServerConnection::default();
    conn.handle_input(&REQUEST[..split]);
    let mut events = Vec::new();
    drain(&mut conn, &mut events);
    conn.handle_shutdown();
    conn.handle_input(&REQUEST[split..]);
    drain(&mut conn, &mut events);
    assert!(
        events.contains(&"request".to_owned()),
        "split {split}: {events:?}"
    );
    assert!(events.contains(&"end".to_owned()), "split {split}: {events:?}");
    assert!(!conn.wants_close(), "split {split}: not before the answer");
    let mut head = ResponseHead::new(StatusCode::OK);
    head.headers.append("Content-Length", "2").unwrap();
    conn.send_response(head).unwrap();
    conn.send_data(b"ok").unwrap();
    conn.send_end(&HeaderMap::new()).unwrap();
    let mut sent = Vec::new();
    conn.take_transmit(&mut sent);
    (String::from_utf8(sent).unwrap(), conn.wants_close())
}

fn drain(conn: &mut ServerConnection, events: &mut Vec<String>) {
    while let Some(event) = conn.poll_event() {
        events.push(
            match event {
                ServerEvent::Request(_) => "request",
                ServerEvent::Data(_) => "data",
                ServerEvent::End(_) => "end",
                ServerEvent::Error(_) => "error",
                ServerEvent::Closed => "closed",
            }
            .to_owned(),
        );
    }
}

#[test]
fn a_request_in_progress_is_answered_then_closed_whatever_byte_the_shutdown_follows() {
    for split in 1..=REQUEST.len() {
        let (sent, wants_close) = shutdown_after(split);
        assert!(sent.ends_with("\r\n\r\nok"), "split {split}: {sent}");
        assert!(
            sent.contains("Connection: close\r\n"),
            "split {split}: the answer says the connection closes: {sent}"
        );
        assert!(wants_close, "split {split}: closes after the answer");
    }
}

#[test]
fn an_idle_connection_closes_at_once_and_a_half_sent_head_does_not() {
    let mut idle = ServerConnection::default();
    idle.handle_shutdown();
    assert!(idle.wants_close());
    let mut idle_after_blank_line = ServerConnection::default();
    idle_after_blank_line.handle_input(b"\r\n");
    idle_after_blank_line.handle_shutdown();
    assert!(idle_after_blank_line.wants_close());
    let mut started = ServerConnection::default();
    started.handle_input(b"GE");
    started.handle_shutdown();
    assert!(!started.wants_close(), "a request is on its way: answer it first");
}

/// A server whose handler keeps each response for the test to finish.
fn holding_server(clock: &ManualClock) -> (HttpServer, Rc<RefCell<Vec<Response>>>) {
    let held: Rc<RefCell<Vec<Response>>> = Rc::default();
    let keep = held.clone();
    let server = HttpServer::new(
        Rc::new(clock.clone()),
        move |_request: Request, response: Response| {
            keep.borrow_mut().push(response);
        },
    );
    (server, held)
}

#[test]
fn shut_down_closes_idle_connections_and_finishes_busy_ones() {
    let clock = ManualClock::new();
    let (server, held) = holding_server(&clock);
    let mut idle = StringTransportWithDisconnection::new(server.protocol());
    let mut kept_alive = StringTransportWithDisconnection::new(server.protocol());
    let mut busy = StringTransportWithDisconnection::new(server.protocol());
    kept_alive.data_received(b"GET /first HTTP/1.1\r\nHost: h\r\n\r\n");
    held.borrow_mut()
        .remove(0)
        .send(StatusCode::OK, "text/plain", b"1")
        .unwrap();
    assert!(!kept_alive.transport().is_disconnecting(), "kept alive");
    busy.data_received(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(server.open_connections(), 3);

    server.shut_down();
    idle.settle();
    kept_alive.settle();
    busy.settle();
    assert!(idle.transport().is_disconnecting(), "idle: closed at once");
    assert!(
        kept_alive.transport().is_disconnecting(),
        "idle after a request: closed at once"
    );
    assert!(!busy.transport().is_disconnecting(), "busy: still answering");
    assert_eq!(server.open_connections(), 1);

    let response = held.borrow_mut().remove(0);
    response
        .send(StatusCode::OK, "text/plain", b"slow answer")
        .unwrap();
    busy.settle();
    let answer = String::from_utf8(busy.value()).unwrap();
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    assert!(answer.ends_with("slow answer"), "the whole answer: {answer}");
    assert!(busy.transport().is_disconnecting(), "then closed");
    assert_eq!(server.open_connections(), 0);

    // A connection accepted after the shutdown began gets one answer.
    let mut late = StringTransportWithDisconnection::new(server.protocol());
    assert!(!late.transport().is_disconnecting());
    late.data_received(b"GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
    held.borrow_mut()
        .remove(0)
        .send(StatusCode::OK, "text/plain", b"late")
        .unwrap();
    late.settle();
    assert!(
        String::from_utf8(late.value())
            .unwrap()
            .contains("Connection: close\r\n")
    );
    assert!(late.transport().is_disconnecting());
}
