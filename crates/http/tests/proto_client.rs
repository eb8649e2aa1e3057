//! The client machine fed every kind of response at every chunk size,
//! and the client and server machines talking to each other.

mod support;

use gyre_http::proto::{ClientConnection, ClientEvent, ServerConnection, ServerEvent};
use gyre_http::{ErrorKind, HeaderMap, Method, RequestHead, ResponseHead, StatusCode};
use support::transcript::{ClientRun, fetch};

fn fetch_at_every_split(method: Method, extra: &[(&str, &str)], input: &[u8], eof: bool) -> ClientRun {
    gyre_testing::assert_chunking_invariant(input, |chunks| fetch(method.clone(), extra, chunks, eof))
}

#[test]
fn every_response_framing() {
    let length = fetch_at_every_split(
        Method::GET,
        &[],
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        false,
    );
    assert_eq!(length.log, ["response 200", "body hello", "end []"]);
    assert!(length.reusable);

    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;e=1\r\nllo\r\n0\r\nEtag: x\r\n\r\n";
    let run = fetch_at_every_split(Method::GET, &[], chunked, false);
    assert_eq!(run.log, ["response 200", "body hello", "end [\"Etag: x\"]"]);
    assert!(run.reusable);

    let close = fetch_at_every_split(Method::GET, &[], b"HTTP/1.1 200 OK\r\n\r\nuntil the end", true);
    assert_eq!(close.log, ["response 200", "body until the end", "end []"]);
    assert!(!close.reusable);

    let http10 = fetch_at_every_split(
        Method::GET,
        &[],
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        false,
    );
    assert_eq!(http10.log, ["response 200", "body ok", "end []"]);
    assert!(!http10.reusable, "HTTP/1.0 without keep-alive");

    let closing = fetch_at_every_split(
        Method::GET,
        &[],
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        false,
    );
    assert!(!closing.reusable);
}

#[test]
fn bodiless_responses_ignore_their_framing_headers() {
    let head = fetch_at_every_split(
        Method::HEAD,
        &[],
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        false,
    );
    assert_eq!(head.log, ["response 200", "body ", "end []"]);
    assert!(head.reusable);
    for status in ["204 No Content", "304 Not Modified"] {
        let input = format!("HTTP/1.1 {status}\r\nContent-Length: 10\r\n\r\n");
        let run = fetch_at_every_split(Method::GET, &[], input.as_bytes(), false);
        assert_eq!(run.log.len(), 3, "{status}: {:?}", run.log);
        assert!(run.reusable);
    }
}

#[test]
fn interim_responses_then_the_final_one() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    let run = fetch_at_every_split(Method::GET, &[], input, false);
    assert_eq!(
        run.log,
        ["interim 100", "interim 103", "response 201", "body ", "end []"]
    );
}

#[test]
fn upgrades_and_tunnels_hand_over_the_rest() {
    let upgrade =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi";
    let run = fetch_at_every_split(
        Method::GET,
        &[("Upgrade", "websocket"), ("Connection", "Upgrade")],
        upgrade,
        false,
    );
    assert_eq!(run.log, ["response 101"]);
    assert_eq!(run.upgraded.as_deref(), Some(&b"\x81\x02hi"[..]));
    let unasked = fetch_at_every_split(Method::GET, &[], upgrade, false);
    assert_eq!(unasked.log, ["error InvalidStatus"]);

    let tunnel = fetch_at_every_split(
        Method::CONNECT,
        &[],
        b"HTTP/1.1 200 Connection Established\r\n\r\nSSH-2.0",
        false,
    );
    assert_eq!(tunnel.log, ["response 200"]);
    assert_eq!(tunnel.upgraded.as_deref(), Some(&b"SSH-2.0"[..]));
    let refused = fetch_at_every_split(
        Method::CONNECT,
        &[],
        b"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 1\r\n\r\nx",
        false,
    );
    assert_eq!(refused.log, ["response 407", "body x", "end []"]);
    assert!(refused.upgraded.is_none());
}

#[test]
fn malformed_and_truncated_responses() {
    let table: &[(&[u8], bool, &str)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            false,
            "error DuplicateContentLength",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            false,
            "error InvalidContentLength",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            false,
            "error InvalidChunkSize",
        ),
        (b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", false, "error ObsFold"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", false, "error InvalidStatus"),
        (b"<html>", false, "error InvalidStatus"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
            true,
            "error IncompleteBody",
        ),
        (b"HTTP/1.1 200 O", true, "error IncompleteHead"),
        (b"", true, "error ClosedBeforeResponse"),
    ];
    for (input, eof, expected) in table {
        let run = fetch_at_every_split(Method::GET, &[], input, *eof);
        assert_eq!(
            run.log.last().map(String::as_str),
            Some(*expected),
            "{}",
            input.escape_ascii()
        );
        assert!(!run.reusable);
    }
    // Transfer-Encoding wins over Content-Length, but the connection is not trusted again.
    let both =
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    let run = fetch_at_every_split(Method::GET, &[], both, false);
    assert_eq!(run.log, ["response 200", "body x", "end []"]);
    assert!(!run.reusable);
}

#[test]
fn requests_are_framed_from_their_headers() {
    let mut conn = ClientConnection::default();
    let mut head = RequestHead::new(Method::POST, "/upload").unwrap();
    head.headers
        .append("Host", "h")
        .unwrap()
        .append("Transfer-Encoding", "chunked")
        .unwrap();
    conn.send_request(head).unwrap();
    conn.send_data(b"part").unwrap();
    assert!(
        conn.send_request(RequestHead::new(Method::GET, "/").unwrap())
            .is_err(),
        "one at a time"
    );
    conn.send_end(&HeaderMap::new()).unwrap();
    assert_eq!(
        &*conn.poll_transmit().unwrap(),
        b"POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\npart\r\n0\r\n\r\n"
    );
    let mut no_body = ClientConnection::default();
    no_body
        .send_request(RequestHead::new(Method::GET, "/").unwrap())
        .unwrap();
    assert_eq!(no_body.send_data(b"x"), Err(gyre_http::SendError::BodyNotAllowed));
    let mut idle = ClientConnection::default();
    idle.handle_input(b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(
        idle.poll_event(),
        Some(ClientEvent::Error(ErrorKind::UnexpectedResponse.into()))
    );
    let mut closed = ClientConnection::default();
    closed.handle_eof();
    assert_eq!(closed.poll_event(), Some(ClientEvent::Closed));
    assert!(
        closed
            .send_request(RequestHead::new(Method::GET, "/").unwrap())
            .is_err()
    );
}

/// Moves bytes between the two machines until neither has anything to say.
fn converse(client: &mut ClientConnection, server: &mut ServerConnection, log: &mut Vec<String>) {
    loop {
        let mut moved = false;
        if let Some(bytes) = client.poll_transmit() {
            server.handle_input(&bytes);
            moved = true;
        }
        while let Some(event) = server.poll_event() {
            match event {
                ServerEvent::Request(head) => {
                    log.push(format!("server got {} {}", head.method, head.target));
                    server.accept_body();
                }
                ServerEvent::Data(data) => log.push(format!("server body {}", data.escape_ascii())),
                ServerEvent::End(_) => {
                    let mut head = ResponseHead::new(StatusCode::OK);
                    head.headers.append("Content-Type", "text/plain").unwrap();
                    server.send_response(head).unwrap();
                    server.send_data(b"answer").unwrap();
                    server.send_end(&HeaderMap::new()).unwrap();
                }
                other => panic!("{other:?}"),
            }
        }
        if let Some(bytes) = server.poll_transmit() {
            client.handle_input(&bytes);
            moved = true;
        }
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Informational(head) => log.push(format!("client interim {}", head.status)),
                ClientEvent::Response(head) => log.push(format!("client got {}", head.status)),
                ClientEvent::Data(data) => log.push(format!("client body {}", data.escape_ascii())),
                ClientEvent::End(_) => log.push("client end".into()),
                other => panic!("{other:?}"),
            }
        }
        if !moved {
            return;
        }
    }
}

#[test]
fn client_and_server_machines_talk_with_keep_alive_and_100_continue() {
    let (mut client, mut server) = (ClientConnection::default(), ServerConnection::default());
    let mut log = Vec::new();
    for round in 0..2 {
        let mut head = RequestHead::new(Method::PUT, &format!("/r{round}")).unwrap();
        head.headers
            .append("Host", "h")
            .unwrap()
            .append("Content-Length", "3")
            .unwrap();
        head.headers.append("Expect", "100-continue").unwrap();
        client.send_request(head).unwrap();
        converse(&mut client, &mut server, &mut log);
        client.send_data(b"abc").unwrap();
        client.send_end(&HeaderMap::new()).unwrap();
        converse(&mut client, &mut server, &mut log);
        assert!(client.is_reusable());
    }
    let expected_round = |n: usize| {
        vec![
            format!("server got PUT /r{n}"),
            "client interim 100".to_owned(),
            "server body abc".to_owned(),
            "client got 200".to_owned(),
            "client body answer".to_owned(),
            "client end".to_owned(),
        ]
    };
    assert_eq!(log, [expected_round(0), expected_round(1)].concat());
}

#[test]
fn bytes_after_a_complete_response_are_not_held_without_limit() {
    let mut conn = ClientConnection::default();
    let mut head = RequestHead::new(Method::POST, "/upload").unwrap();
    head.headers
        .append("Host", "h")
        .unwrap()
        .append("Content-Length", "10")
        .unwrap();
    conn.send_request(head).unwrap();
    conn.handle_input(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(conn.poll_event(), Some(ClientEvent::Response(_))));
    assert_eq!(conn.poll_event(), Some(ClientEvent::End(HeaderMap::new())));
    conn.handle_input(b"junk");
    assert_eq!(
        conn.poll_event(),
        None,
        "a little is judged when the request ends"
    );
    let flood = vec![b'x'; 64 * 1024];
    conn.handle_input(&flood);
    assert_eq!(
        conn.poll_event(),
        Some(ClientEvent::Error(ErrorKind::UnexpectedResponse.into()))
    );
    assert!(conn.error().is_some());
    conn.handle_input(&flood);
    assert_eq!(conn.poll_event(), None, "nothing more is read");
    assert!(
        conn.send_data(b"0123456789").is_ok(),
        "the request can still be ended"
    );
}
