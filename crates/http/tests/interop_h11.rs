//! Python's h11 as a strict-parsing oracle: every kind of response the
//! server produces must parse in h11 (in memory and over a real socket),
//! and h11 and the server machine must agree on which requests are valid,
//! except for the intentional differences listed below.

mod support;

use std::process::Command;
use std::time::Duration;

use gyre_http::proto::{ServerConnection, ServerEvent};
use gyre_http::{HeaderMap, ResponseHead, StatusCode};
use gyre_testing::peers::{peer_python, run_to_end_of_input};
use support::hello::Hello;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn run_python(script: &str, input: &str, args: &[&str]) -> String {
    let python = peer_python("h11");
    let output = run_to_end_of_input(
        Command::new(python).arg("-c").arg(script).args(args),
        input.as_bytes(),
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "python: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Our verdict on one request: "accept" once a request and its end were
/// read, "reject" on an error, else "incomplete".
fn our_verdict(input: &[u8]) -> &'static str {
    let mut conn = ServerConnection::default();
    conn.handle_input(input);
    while let Some(event) = conn.poll_event() {
        match event {
            ServerEvent::End(_) => return "accept",
            ServerEvent::Error(_) => return "reject",
            _ => {}
        }
    }
    "incomplete"
}

const H11_VERDICT: &str = r#"
import h11, sys
for line in sys.stdin.read().split():
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(bytes.fromhex(line))
    verdict = "incomplete"
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.EndOfMessage):
                verdict = "accept"
                break
    except h11.RemoteProtocolError:
        verdict = "reject"
    print(verdict)
"#;

/// Requests both must accept, and both must reject.
const AGREED: &[(&str, &[u8])] = &[
    ("simple GET", b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
    (
        "POST with length",
        b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    ),
    (
        "chunked with extension and trailer",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: v\r\n\r\n",
    ),
    ("HTTP/1.0 without Host", b"GET / HTTP/1.0\r\n\r\n"),
    (
        "absolute form",
        b"GET http://example.com/x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    ),
    ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
    (
        "CONNECT",
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    ),
    ("bare LF line ends", b"GET / HTTP/1.1\nHost: h\n\n"),
    ("extension method", b"PROPFIND /d HTTP/1.1\r\nHost: h\r\n\r\n"),
    (
        "empty value and tabs",
        b"GET / HTTP/1.1\r\nHost: h\r\nX-E:\r\nX-T:\ta\tb\t\r\n\r\n",
    ),
    (
        "obs-text value",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: caf\xe9\r\n\r\n",
    ),
    (
        "Transfer-Encoding case",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
    ),
    ("missing Host", b"GET / HTTP/1.1\r\n\r\n"),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    (
        "conflicting lengths",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    ),
    (
        "negative length",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
    ),
    (
        "TE gzip, chunked",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "TE identity",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
    ),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
    (
        "bare CR in value",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
    ),
    ("NUL in value", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n"),
    ("bad header name", b"GET / HTTP/1.1\r\nHost: h\r\nX(Y: v\r\n\r\n"),
    ("double space", b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("lowercase version", b"GET / http/1.1\r\nHost: h\r\n\r\n"),
    (
        "bad chunk size",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ),
    (
        "chunk without CRLF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
    ),
];

/// Where the two intentionally disagree: we accept-or-reject differently
/// from h11, and why.
const DIFFERENT: &[(&str, &[u8], &str)] = &[
    (
        "obs-fold",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n 2\r\n\r\n",
        "RFC 9112 §5.2 allows rejecting or unfolding; h11 unfolds, we reject (proxies disagree on folding)",
    ),
    (
        "TE and CL",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "RFC 9112 §6.3 lets a server reject it and calls it a smuggling sign; h11 lets Transfer-Encoding win",
    ),
    (
        "equal repeated lengths",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "h11 merges equal Content-Length values (RFC 9112 allows it); we refuse any repetition, a smuggling vector between proxies",
    ),
    (
        "length list",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\nx",
        "same as above",
    ),
    (
        "TE in HTTP/1.0",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing; h11 decodes it",
    ),
    (
        "fragment in target",
        b"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n",
        "a fragment is never sent on the wire; h11 accepts any visible characters",
    ),
    (
        "asterisk with GET",
        b"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
        "h11 does not check target forms against the method",
    ),
    (
        "CONNECT without port",
        b"CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "the authority form needs a port; h11 does not check",
    ),
    (
        "Host with a path",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        "RFC 9112 §3.2 asks for 400 on an invalid Host; h11 does not validate Host values",
    ),
    (
        "long method",
        b"GEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "we bound methods at 32 bytes to refuse non-HTTP clients early",
    ),
];

#[test]
fn h11_and_the_server_machine_agree_on_what_is_valid() {
    let input: Vec<String> = AGREED
        .iter()
        .map(|(_, r)| hex(r))
        .chain(DIFFERENT.iter().map(|(_, r, _)| hex(r)))
        .collect();
    let answers = run_python(H11_VERDICT, &input.join("\n"), &[]);
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(answers.len(), AGREED.len() + DIFFERENT.len());
    let mut wrong = Vec::new();
    for ((name, request), theirs) in AGREED.iter().zip(&answers) {
        let ours = our_verdict(request);
        if ours != *theirs || *theirs == "incomplete" {
            wrong.push(format!("{name}: gyre {ours}, h11 {theirs}"));
        }
    }
    for ((name, request, why), theirs) in DIFFERENT.iter().zip(&answers[AGREED.len()..]) {
        let ours = our_verdict(request);
        if ours != "reject" || *theirs != "accept" {
            wrong.push(format!(
                "{name} (listed as a difference: {why}): gyre {ours}, h11 {theirs}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

const H11_CLIENT: &str = r#"
import h11, json, sys
for case in json.load(sys.stdin):
    conn = h11.Connection(h11.CLIENT)
    headers = [(k, v) for k, v in case["headers"]]
    conn.send(h11.Request(method=case["method"], target="/", headers=headers, http_version=case["version"]))
    if case["body"]:
        conn.send(h11.Data(data=bytes.fromhex(case["body"])))
    conn.send(h11.EndOfMessage())
    conn.receive_data(bytes.fromhex(case["response"]))
    conn.receive_data(b"")
    seen = []
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                break
            if isinstance(event, (h11.InformationalResponse, h11.Response)):
                seen.append(str(event.status_code))
            elif isinstance(event, h11.Data):
                seen.append("data")
            elif isinstance(event, h11.EndOfMessage):
                seen.append("end")
                break
        print(case["name"], " ".join(seen))
    except h11.RemoteProtocolError as error:
        print(case["name"], "ERROR", error)
"#;

/// How the in-memory server answers each case.
#[derive(Clone, Copy)]
enum Answer {
    Length,
    Chunked,
    ChunkedTrailers,
    NoContent,
    NotModified,
    EarlyHintsThenLength,
    ContinueThenLength,
}

/// Runs `request` through the server machine with `answer`; returns the response bytes.
fn respond(request: &[u8], answer: Answer) -> Vec<u8> {
    let mut conn = ServerConnection::default();
    conn.handle_input(request);
    let mut sent = Vec::new();
    while let Some(event) = conn.poll_event() {
        match event {
            ServerEvent::Request(_) => {
                if let Answer::ContinueThenLength = answer {
                    conn.accept_body();
                }
                if let Answer::EarlyHintsThenLength = answer {
                    let mut hints = ResponseHead::new(StatusCode::EARLY_HINTS);
                    hints.headers.append("Link", "</a.css>; rel=preload").unwrap();
                    conn.send_informational(hints).unwrap();
                }
            }
            ServerEvent::End(_) => {
                let (status, length) = match answer {
                    Answer::NoContent => (StatusCode::NO_CONTENT, None),
                    Answer::NotModified => (StatusCode::NOT_MODIFIED, Some("12")),
                    Answer::Chunked | Answer::ChunkedTrailers => (StatusCode::OK, None),
                    _ => (StatusCode::OK, Some("5")),
                };
                let mut head = ResponseHead::new(status);
                if let Some(length) = length {
                    head.headers.append("Content-Length", length).unwrap();
                }
                conn.send_response(head).unwrap();
                if !status.has_no_body() {
                    conn.send_data(b"hello").unwrap();
                }
                let mut trailers = HeaderMap::new();
                if let Answer::ChunkedTrailers = answer {
                    trailers.append("Checksum", "abc").unwrap();
                }
                conn.send_end(&trailers).unwrap();
            }
            _ => {}
        }
    }
    if let Some(out) = conn.poll_transmit() {
        sent.extend_from_slice(&out);
    }
    sent
}

/// (name, method, version, extra headers, body, answer, what h11 must see)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [u8],
    Answer,
    &'static str,
);

#[test]
fn every_kind_of_response_parses_in_h11() {
    let cases: &[Case] = &[
        ("length", "GET", "1.1", &[], b"", Answer::Length, "200 data end"),
        ("chunked", "GET", "1.1", &[], b"", Answer::Chunked, "200 data end"),
        (
            "trailers",
            "GET",
            "1.1",
            &[],
            b"",
            Answer::ChunkedTrailers,
            "200 data end",
        ),
        ("head", "HEAD", "1.1", &[], b"", Answer::Chunked, "200 end"),
        ("head-length", "HEAD", "1.1", &[], b"", Answer::Length, "200 end"),
        ("no-content", "GET", "1.1", &[], b"", Answer::NoContent, "204 end"),
        (
            "not-modified",
            "GET",
            "1.1",
            &[],
            b"",
            Answer::NotModified,
            "304 end",
        ),
        (
            "early-hints",
            "GET",
            "1.1",
            &[],
            b"",
            Answer::EarlyHintsThenLength,
            "103 200 data end",
        ),
        (
            "continue",
            "PUT",
            "1.1",
            &[("Content-Length", "3"), ("Expect", "100-continue")],
            b"abc",
            Answer::ContinueThenLength,
            "100 200 data end",
        ),
        (
            "upload",
            "POST",
            "1.1",
            &[("Transfer-Encoding", "chunked")],
            b"xyz",
            Answer::Length,
            "200 data end",
        ),
    ];
    let mut json = Vec::new();
    let mut expected = Vec::new();
    for (name, method, version, headers, body, answer, seen) in cases {
        let mut request = format!("{method} / HTTP/{version}\r\nHost: h\r\n");
        for (field, value) in headers.iter() {
            request.push_str(&format!("{field}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut request = request.into_bytes();
        if headers.iter().any(|(field, _)| *field == "Transfer-Encoding") {
            request.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            request.extend_from_slice(body);
            request.extend_from_slice(b"\r\n0\r\n\r\n");
        } else {
            request.extend_from_slice(body);
        }
        let response = respond(&request, *answer);
        let mut h11_headers: Vec<String> = vec!["[\"Host\", \"h\"]".into()];
        h11_headers.extend(
            headers
                .iter()
                .map(|(field, value)| format!("[\"{field}\", \"{value}\"]")),
        );
        json.push(format!(
            "{{\"name\": \"{name}\", \"method\": \"{method}\", \"version\": \"{version}\", \"headers\": [{}], \"body\": \"{}\", \"response\": \"{}\"}}",
            h11_headers.join(", "),
            hex(body),
            hex(&response)
        ));
        expected.push(format!("{name} {seen}"));
    }
    let out = run_python(H11_CLIENT, &format!("[{}]", json.join(", ")), &[]);
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
}

const H11_SOCKET: &str = r#"
import h11, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
conn = h11.Connection(h11.CLIENT)
for method, body in [("GET", b""), ("POST", b"x" * 3000), ("HEAD", b""), ("GET", b"")]:
    headers = [("Host", "h")]
    if body:
        headers.append(("Content-Length", str(len(body))))
    s.sendall(conn.send(h11.Request(method=method, target="/", headers=headers)))
    if body:
        s.sendall(conn.send(h11.Data(data=body)))
    s.sendall(conn.send(h11.EndOfMessage()))
    data = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(s.recv(65536))
            continue
        if isinstance(event, h11.Response):
            print(method, event.status_code, end=" ")
        elif isinstance(event, h11.Data):
            data += event.data
        elif isinstance(event, h11.EndOfMessage):
            print(repr(data))
            break
    conn.start_next_cycle()
"#;

#[test]
fn h11_talks_to_the_real_server_over_one_kept_alive_socket() {
    let server = Hello::start();
    let out = run_python(H11_SOCKET, "", &[&server.port.to_string()]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "GET 200 b'hello\\n'",
            "POST 200 b'hello, 3000 bytes received\\n'",
            "HEAD 200 b''",
            "GET 200 b'hello\\n'"
        ]
    );
}
