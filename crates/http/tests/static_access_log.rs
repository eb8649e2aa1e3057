//! `AccessLog` on in-memory transports: the combined-log line, written
//! when the response finishes (late answers, clients leaving, refused
//! bodies), with hostile header text escaped.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use gyre_http::server::{AccessLog, HttpServer, Request, Response, SharedBuffer, escape_log_field};
use gyre_http::{ResponseHead, StatusCode};
use gyre_testing::{ManualClock, StringTransportWithDisconnection};

fn logged(handler: impl gyre_http::server::Handler, lines: &SharedBuffer) -> HttpServer {
    let log = AccessLog::new(handler)
        .to_writer(lines.clone())
        .with_clock(|| UNIX_EPOCH + Duration::from_secs(971_186_136));
    HttpServer::new(Rc::new(ManualClock::new()), log)
}

#[test]
fn one_combined_format_line_per_request_in_order() {
    let lines = SharedBuffer::default();
    let server = logged(
        |request: Request, response: Response| {
            let body = format!("{}\n", request.head().target.path());
            response
                .send(StatusCode::OK, "text/plain", body.as_bytes())
                .unwrap();
        },
        &lines,
    );
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(
        b"GET /a?q=1 HTTP/1.1\r\nHost: h\r\nReferer: http://r/\r\nUser-Agent: ua/1\r\n\r\n\
          HEAD /bb HTTP/1.0\r\n\r\n",
    );
    assert_eq!(
        lines.text(),
        "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /a?q=1 HTTP/1.1\" 200 3 \"http://r/\" \"ua/1\"\n\
         127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"HEAD /bb HTTP/1.0\" 200 - \"-\" \"-\"\n"
    );
}

#[test]
fn the_line_waits_for_the_finish_and_counts_streamed_bytes() {
    let lines = SharedBuffer::default();
    let kept: Rc<RefCell<Option<Response>>> = Rc::default();
    let keep = kept.clone();
    let server = logged(
        move |_: Request, response: Response| {
            response
                .send_head(ResponseHead::new(StatusCode::CREATED))
                .unwrap();
            response.write(b"part one,").unwrap();
            *keep.borrow_mut() = Some(response);
        },
        &lines,
    );
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(lines.text(), "", "nothing before the response finishes");
    let response = kept.borrow_mut().take().unwrap();
    response.write(b" part two").unwrap();
    response.finish().unwrap();
    assert!(
        lines
            .text()
            .ends_with("\"GET /slow HTTP/1.1\" 201 18 \"-\" \"-\"\n"),
        "{}",
        lines.text()
    );
}

#[test]
fn a_client_leaving_mid_response_is_logged_with_what_was_sent() {
    let lines = SharedBuffer::default();
    let kept: Rc<RefCell<Option<Response>>> = Rc::default();
    let keep = kept.clone();
    let server = logged(
        move |_: Request, response: Response| {
            let mut head = ResponseHead::new(StatusCode::OK);
            head.headers.append("Content-Length", "100").unwrap();
            response.send_head(head).unwrap();
            response.write(b"0123456789").unwrap();
            *keep.borrow_mut() = Some(response);
        },
        &lines,
    );
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    connection.peer_closed();
    assert!(
        lines
            .text()
            .ends_with("\"GET /big HTTP/1.1\" 200 10 \"-\" \"-\"\n"),
        "{}",
        lines.text()
    );
}

#[test]
fn a_refused_body_is_logged_with_the_servers_status() {
    let lines = SharedBuffer::default();
    let server = logged(
        |request: Request, response: Response| {
            request.body().collect(1 << 20).add_callback(move |body| {
                response.send(StatusCode::OK, "text/plain", b"ok").unwrap();
                Ok(body)
            });
        },
        &lines,
    );
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    let text = lines.text();
    assert!(
        text.ends_with("\"POST /up HTTP/1.1\" 400 - \"-\" \"-\"\n"),
        "{text}"
    );
}

#[test]
fn hostile_text_cannot_forge_lines_or_fields() {
    assert_eq!(escape_log_field(b"a\"b\\c"), "a\\\"b\\\\c");
    assert_eq!(escape_log_field(b"\n\r\t\x7f\xff"), "\\x0a\\x0d\\x09\\x7f\\xff");
    let lines = SharedBuffer::default();
    let server = logged(
        |_: Request, response: Response| response.send(StatusCode::OK, "text/plain", b"").unwrap(),
        &lines,
    );
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(b"GET /%22x HTTP/1.1\r\nHost: h\r\nUser-Agent: evil\" 200 \xff\r\n\r\n");
    assert_eq!(
        lines.text(),
        "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /%22x HTTP/1.1\" 200 - \"-\" \"evil\\\" 200 \\xff\"\n"
    );
}
