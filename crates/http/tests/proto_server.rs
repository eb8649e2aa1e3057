//! The server machine fed at every chunk size: every framing, pipelining,
//! persistence, 100-continue, HEAD, upgrades, draining and limits.

mod support;

use gyre_http::proto::{ReadPhase, ServerConfig, ServerConnection, ServerEvent};
use gyre_http::{ErrorKind, HeaderMap, ResponseHead, StatusCode};
use support::transcript::{serve, serve_at_every_split};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn requests_with_every_framing_are_read_the_same_at_every_split() {
    let input = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
        POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
        PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nDigest: 1\r\n\r\n\
        DELETE /d HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
    let run = serve_at_every_split(input, false);
    assert_eq!(
        run.log,
        [
            "request GET /a HTTP/1.1",
            "body ",
            "end []",
            "request POST /b HTTP/1.1",
            "body hello",
            "end []",
            "request PUT /c HTTP/1.1",
            "body abc",
            "end [\"Digest: 1\"]",
            "request DELETE /d HTTP/1.1",
            "body ",
            "end []",
        ]
    );
    let sent = text(&run.sent);
    let answers: Vec<&str> = sent
        .match_indices("HTTP/1.1 200 OK")
        .map(|(at, _)| &sent[at..])
        .collect();
    assert_eq!(answers.len(), 4, "{sent}");
    assert!(
        sent.ends_with("DELETE /d got 0 bytes"),
        "pipelined answers in order: {sent}"
    );
    assert!(!run.wants_close);
}

#[test]
fn pipelined_requests_wait_unparsed_until_the_response_is_complete() {
    let mut conn = ServerConnection::default();
    conn.handle_input(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGARBAGE\r\n\r\n");
    assert!(matches!(conn.poll_event(), Some(ServerEvent::Request(_))));
    assert!(matches!(conn.poll_event(), Some(ServerEvent::End(_))));
    assert_eq!(conn.poll_event(), None);
    assert_eq!(conn.read_phase(), ReadPhase::Handling);
    assert!(
        conn.buffered_len() > 0,
        "held, not parsed: the garbage is not refused yet"
    );
    let mut head = ResponseHead::new(StatusCode::NO_CONTENT);
    head.headers.append("X", "1").unwrap();
    conn.send_response(head).unwrap();
    assert_eq!(conn.poll_event(), None, "the response is not complete yet");
    conn.send_end(&HeaderMap::new()).unwrap();
    let Some(ServerEvent::Request(second)) = conn.poll_event() else {
        panic!("the second request")
    };
    assert_eq!(second.target.as_str(), "/2");
}

#[test]
fn chunked_responses_for_unknown_lengths_and_trailers() {
    let run = serve_at_every_split(b"GET /x/chunked HTTP/1.1\r\nHost: h\r\n\r\n", false);
    assert_eq!(
        text(&run.sent),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n18\r\nGET /x/chunked got 0 bytes\r\n0\r\n\r\n"
            .replace("18", &format!("{:x}", "GET /x/chunked got 0 bytes".len()))
    );
    let mut conn = ServerConnection::default();
    conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    while conn.poll_event().is_some() {}
    conn.send_response(ResponseHead::new(StatusCode::OK)).unwrap();
    conn.send_data(b"ab").unwrap();
    let mut trailers = HeaderMap::new();
    trailers.append("Server-Timing", "total;dur=1").unwrap();
    conn.send_end(&trailers).unwrap();
    assert!(
        text(&conn.poll_transmit().unwrap()).ends_with("2\r\nab\r\n0\r\nServer-Timing: total;dur=1\r\n\r\n")
    );
}

#[test]
fn http_1_0_keep_alive_only_when_asked_and_close_delimited_bodies() {
    let run = serve_at_every_split(
        b"GET /x/chunked HTTP/1.0\r\n\r\nGET /never HTTP/1.0\r\n\r\n",
        false,
    );
    assert_eq!(
        run.log.len(),
        3,
        "the second request is never read: {:?}",
        run.log
    );
    assert_eq!(
        text(&run.sent),
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nGET /x/chunked got 0 bytes"
    );
    assert!(run.wants_close);

    let run = serve_at_every_split(
        b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
        false,
    );
    let sent = text(&run.sent);
    assert!(
        sent.starts_with("HTTP/1.1 200 OK\r\nContent-Length: 18\r\nConnection: keep-alive\r\n\r\n"),
        "{sent}"
    );
    assert!(
        sent.ends_with("Connection: close\r\n\r\nGET /b got 0 bytes"),
        "{sent}"
    );
    assert!(run.wants_close);

    let run = serve_at_every_split(
        b"GET /x/chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        false,
    );
    assert!(
        text(&run.sent).contains("Connection: close"),
        "no length, no chunked: close-delimited"
    );
}

#[test]
fn connection_close_from_the_client_is_honoured_and_announced() {
    let run = serve_at_every_split(
        b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n",
        false,
    );
    assert!(text(&run.sent).contains("Connection: close\r\n"));
    assert_eq!(run.log.len(), 3);
    assert!(run.wants_close);
}

#[test]
fn the_peer_closing_between_requests_is_a_clean_close() {
    let run = serve_at_every_split(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\r\n", true);
    assert_eq!(run.log.last().unwrap(), "closed");
    assert!(run.wants_close);
    let truncated = serve_at_every_split(b"GET /a HTTP/1.1\r\nHost:", true);
    assert_eq!(truncated.log, ["error IncompleteHead"]);
    let short_body = serve_at_every_split(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc",
        true,
    );
    assert_eq!(short_body.log.last().unwrap(), "error IncompleteBody");
    assert!(text(&short_body.sent).starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

#[test]
fn a_half_closed_peer_still_gets_its_answer() {
    let run = serve_at_every_split(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n", true);
    assert!(text(&run.sent).ends_with("GET /a got 0 bytes"));
    assert!(run.wants_close);
}

#[test]
fn continue_is_sent_when_the_body_is_wanted() {
    let mut conn = ServerConnection::default();
    conn.handle_input(b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    assert!(matches!(conn.poll_event(), Some(ServerEvent::Request(_))));
    assert!(conn.expects_continue());
    assert!(
        conn.poll_transmit().is_none(),
        "nothing until the handler wants the body"
    );
    conn.accept_body();
    assert_eq!(&*conn.poll_transmit().unwrap(), b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.accept_body();
    assert!(conn.poll_transmit().is_none(), "only once");
    conn.handle_input(b"abc");
    assert_eq!(conn.poll_event(), Some(ServerEvent::Data(b"abc")));
    // The transcript policy accepts bodies at once: the whole exchange at every split.
    let run = serve_at_every_split(
        b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
        false,
    );
    assert!(text(&run.sent).starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
}

#[test]
fn a_final_response_before_the_body_means_no_continue_and_a_close() {
    let mut conn = ServerConnection::default();
    conn.handle_input(b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    assert!(matches!(conn.poll_event(), Some(ServerEvent::Request(_))));
    let mut refused = ResponseHead::new(StatusCode::new(403).unwrap());
    refused.headers.append("Content-Length", "0").unwrap();
    conn.send_response(refused).unwrap();
    conn.accept_body();
    conn.send_end(&HeaderMap::new()).unwrap();
    let sent = text(&conn.poll_transmit().unwrap());
    assert_eq!(
        sent,
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(conn.wants_close());
    assert!(!conn.wants_input());
}

#[test]
fn an_early_response_drains_the_rest_of_the_body_and_goes_on() {
    let input = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    let answers = gyre_testing::assert_chunking_invariant(input, |chunks| {
        let mut conn = ServerConnection::default();
        let mut log = Vec::new();
        for chunk in chunks {
            conn.handle_input(chunk);
            while let Some(event) = conn.poll_event() {
                if let ServerEvent::Request(head) = event {
                    log.push(head.target.to_string());
                    let mut ok = ResponseHead::new(StatusCode::OK);
                    ok.headers.append("Content-Length", "0").unwrap();
                    conn.send_response(ok).unwrap();
                    conn.send_end(&HeaderMap::new()).unwrap();
                }
            }
        }
        (log, conn.wants_close())
    });
    assert_eq!(answers, (vec!["/up".to_owned(), "/next".to_owned()], false));

    let config = ServerConfig {
        max_drain: 4,
        ..ServerConfig::default()
    };
    let mut conn = ServerConnection::new(config);
    conn.handle_input(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01");
    assert!(matches!(conn.poll_event(), Some(ServerEvent::Request(_))));
    conn.send_response(ResponseHead::new(StatusCode::OK)).unwrap();
    conn.send_end(&HeaderMap::new()).unwrap();
    assert_eq!(conn.read_phase(), ReadPhase::Draining);
    conn.handle_input(b"23456789");
    assert_eq!(conn.poll_event(), None);
    assert!(conn.wants_close(), "too much to drain: close instead");
}

#[test]
fn head_responses_keep_their_framing_headers_but_send_no_body() {
    let run = serve_at_every_split(
        b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nHEAD /x/chunked HTTP/1.1\r\nHost: h\r\n\r\n",
        false,
    );
    assert_eq!(
        text(&run.sent),
        "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    assert!(!run.wants_close);
    let http10 = serve_at_every_split(
        b"HEAD /x/chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        false,
    );
    assert_eq!(
        text(&http10.sent),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n"
    );
}

#[test]
fn interim_responses_204_and_304() {
    let mut conn = ServerConnection::default();
    conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    while conn.poll_event().is_some() {}
    let mut hints = ResponseHead::new(StatusCode::EARLY_HINTS);
    hints.headers.append("Link", "</s.css>; rel=preload").unwrap();
    conn.send_informational(hints).unwrap();
    assert!(
        conn.send_informational(ResponseHead::new(StatusCode::OK))
            .is_err()
    );
    let mut no_content = ResponseHead::new(StatusCode::NO_CONTENT);
    no_content.headers.append("Content-Length", "5").unwrap();
    conn.send_response(no_content).unwrap();
    assert!(conn.send_data(b"x").is_err(), "204 has no body");
    conn.send_end(&HeaderMap::new()).unwrap();
    assert_eq!(
        text(&conn.poll_transmit().unwrap()),
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    );
    conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    while conn.poll_event().is_some() {}
    let mut not_modified = ResponseHead::new(StatusCode::NOT_MODIFIED);
    not_modified.headers.append("Content-Length", "1234").unwrap();
    conn.send_response(not_modified).unwrap();
    conn.send_end(&HeaderMap::new()).unwrap();
    assert_eq!(
        text(&conn.poll_transmit().unwrap()),
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n"
    );
}

#[test]
fn upgrade_hands_over_the_bytes_that_followed_the_request() {
    let input =
        b"GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello";
    let (sent, rest) = gyre_testing::assert_chunking_invariant(input, |chunks| {
        let mut conn = ServerConnection::default();
        let mut upgraded = false;
        for chunk in chunks {
            conn.handle_input(chunk);
            while let Some(event) = conn.poll_event() {
                if matches!(event, ServerEvent::End(_)) {
                    let mut head = ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS);
                    head.headers
                        .append("Upgrade", "websocket")
                        .unwrap()
                        .append("Connection", "Upgrade")
                        .unwrap();
                    conn.send_response(head).unwrap();
                    upgraded = true;
                }
            }
        }
        assert!(upgraded && conn.is_upgraded() && !conn.wants_close());
        let sent = conn.poll_transmit().map(|t| t.to_vec());
        (sent, conn.take_upgraded())
    });
    assert_eq!(
        text(&sent.unwrap()),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    );
    assert_eq!(rest.unwrap(), b"\x81\x05hello");

    let mut plain = ServerConnection::default();
    plain.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    while plain.poll_event().is_some() {}
    assert!(
        plain
            .send_response(ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS))
            .is_err(),
        "101 needs Upgrade"
    );
}

#[test]
fn connect_tunnels_after_a_2xx_and_stays_http_after_a_refusal() {
    let mut conn = ServerConnection::default();
    conn.handle_input(b"CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    let Some(ServerEvent::Request(head)) = conn.poll_event() else {
        panic!()
    };
    assert_eq!(head.target.authority(), Some("db.example:5432"));
    while conn.poll_event().is_some() {}
    let mut refused = ResponseHead::new(StatusCode::FORBIDDEN);
    refused.headers.append("Content-Length", "0").unwrap();
    conn.send_response(refused).unwrap();
    conn.send_end(&HeaderMap::new()).unwrap();
    assert!(
        matches!(conn.poll_event(), Some(ServerEvent::Request(_))),
        "refused: the next bytes are HTTP"
    );

    let mut conn = ServerConnection::default();
    conn.handle_input(b"CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n\x00\x01tunnel");
    while conn.poll_event().is_some() {}
    conn.send_response(ResponseHead::new(StatusCode::OK)).unwrap();
    assert_eq!(text(&conn.poll_transmit().unwrap()), "HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(conn.take_upgraded().unwrap(), b"\x00\x01tunnel");
    assert_eq!(conn.take_upgraded(), None);
}

#[test]
fn the_handler_cannot_lie_about_lengths() {
    let mut conn = ServerConnection::default();
    conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    while conn.poll_event().is_some() {}
    let mut both = ResponseHead::new(StatusCode::OK);
    both.headers
        .append("Content-Length", "1")
        .unwrap()
        .append("Transfer-Encoding", "chunked")
        .unwrap();
    assert!(conn.send_response(both).is_err());
    let mut gzip = ResponseHead::new(StatusCode::OK);
    gzip.headers.append("Transfer-Encoding", "gzip").unwrap();
    assert!(conn.send_response(gzip).is_err());
    let mut two = ResponseHead::new(StatusCode::OK);
    two.headers.append("Content-Length", "2").unwrap();
    conn.send_response(two).unwrap();
    assert!(conn.send_data(b"abc").is_err());
    conn.send_data(b"a").unwrap();
    assert!(conn.send_end(&HeaderMap::new()).is_err());
    assert!(
        conn.send_response(ResponseHead::new(StatusCode::OK)).is_err(),
        "one final response"
    );
}

#[test]
fn errors_are_sticky_and_answered_once() {
    let mut conn = ServerConnection::default();
    conn.handle_input(b"GET / HTTP/9.9\r\n\r\n");
    let Some(ServerEvent::Error(error)) = conn.poll_event() else {
        panic!()
    };
    assert_eq!(error.kind(), ErrorKind::UnsupportedVersion);
    assert_eq!(conn.poll_event(), None);
    conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(conn.poll_event(), None, "nothing is read after an error");
    assert!(conn.can_send_response());
    conn.send_error_response(StatusCode::HTTP_VERSION_NOT_SUPPORTED)
        .unwrap();
    assert!(!conn.can_send_response());
    assert!(conn.send_error_response(StatusCode::BAD_REQUEST).is_err());
    assert_eq!(
        text(&conn.poll_transmit().unwrap()),
        "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 31\r\nConnection: close\r\n\r\n505 HTTP Version Not Supported\n"
    );
    assert!(conn.wants_close());
}

#[test]
fn body_limits_and_backpressure_signals() {
    let config = ServerConfig {
        body: gyre_http::body::BodyLimits {
            max_body: Some(4),
            ..Default::default()
        },
        max_buffered: 20,
        ..ServerConfig::default()
    };
    let too_big = serve(
        config,
        &mut std::iter::once(&b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"[..]),
        false,
    );
    assert_eq!(too_big.log, ["error BodyTooLarge"]);
    assert!(text(&too_big.sent).starts_with("HTTP/1.1 413 Content Too Large\r\n"));
    let chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n";
    let run = serve(config, &mut std::iter::once(&chunked[..]), false);
    assert_eq!(run.log, ["request POST / HTTP/1.1", "error BodyTooLarge"]);

    let mut conn = ServerConnection::new(config);
    conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n");
    assert!(
        !conn.wants_input(),
        "more than max_buffered unread: the adapter pauses the transport"
    );
    while conn.poll_event().is_some() {}
    conn.send_response(ResponseHead::new(StatusCode::OK)).unwrap();
    conn.send_end(&HeaderMap::new()).unwrap();
    assert_eq!(conn.poll_event(), None);
    assert!(conn.wants_input());
    assert_eq!(conn.read_phase(), ReadPhase::Head);
}

#[test]
fn read_phases_for_timeouts() {
    let mut conn = ServerConnection::default();
    assert_eq!(conn.read_phase(), ReadPhase::Idle);
    conn.handle_input(b"\r\n");
    assert_eq!(conn.poll_event(), None);
    assert_eq!(
        conn.read_phase(),
        ReadPhase::Idle,
        "empty lines before a request are not a request"
    );
    conn.handle_input(b"PO");
    assert_eq!(conn.poll_event(), None);
    assert_eq!(conn.read_phase(), ReadPhase::Head);
    conn.handle_input(b"ST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n");
    assert!(conn.poll_event().is_some());
    assert_eq!(conn.read_phase(), ReadPhase::Body);
    conn.handle_input(b"ok");
    while conn.poll_event().is_some() {}
    assert_eq!(conn.read_phase(), ReadPhase::Handling);
}

#[test]
fn head_limits_hold_on_partial_heads_at_every_split() {
    let config = ServerConfig {
        head: gyre_http::wire::HeadLimits {
            max_start_line: 32,
            max_head: 96,
            ..Default::default()
        },
        ..ServerConfig::default()
    };
    let at_every_split = |input: &[u8]| {
        gyre_testing::assert_chunking_invariant(input, |chunks| serve(config, chunks, false)).log
    };
    let long_line = format!("GET /{} HTTP/1.1", "x".repeat(40));
    assert_eq!(at_every_split(long_line.as_bytes()), ["error RequestLineTooLong"]);
    // The first line ended in time; a longer field line later is not a long request line.
    let long_field = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Long: {}\r\n\r\n", "v".repeat(40));
    assert_eq!(
        at_every_split(long_field.as_bytes())[..3],
        ["request GET / HTTP/1.1", "body ", "end []"]
    );
    let endless = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Long: {}", "v".repeat(80));
    assert_eq!(at_every_split(endless.as_bytes()), ["error HeadTooLarge"]);
    assert_eq!(at_every_split(b"G\x01T / HTTP/1.1"), ["error InvalidMethod"]);
}
