//! Drives the sans-IO machines with a fixed policy and records everything,
//! so one run can be compared with another fed in different chunks.

use gyre_http::proto::{ClientConnection, ClientEvent, ServerConfig, ServerConnection, ServerEvent};
use gyre_http::{HeaderMap, Method, ResponseHead, StatusCode};

/// What a server machine did with some input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRun {
    /// One line per event: `request METHOD TARGET`, `body <bytes>`, `end <trailers>`, `error KIND`, `closed`.
    pub log: Vec<String>,
    /// Everything it sent.
    pub sent: Vec<u8>,
    /// Whether it asked to close at the end.
    pub wants_close: bool,
}

/// The policy: answer each request once its body has ended with
/// `200` and a body naming the request and its body (chunked when the
/// target ends in `/chunked`, else with Content-Length); answer errors with
/// their status.
pub fn serve(config: ServerConfig, chunks: &mut dyn Iterator<Item = &[u8]>, eof: bool) -> ServerRun {
    let mut conn = ServerConnection::new(config);
    let mut run = ServerRun {
        log: Vec::new(),
        sent: Vec::new(),
        wants_close: false,
    };
    let mut current: Option<(Method, String, Vec<u8>)> = None;
    let feed = |conn: &mut ServerConnection,
                run: &mut ServerRun,
                current: &mut Option<(Method, String, Vec<u8>)>| {
        while let Some(event) = conn.poll_event() {
            match event {
                ServerEvent::Request(head) => {
                    run.log.push(format!(
                        "request {} {} {}",
                        head.method, head.target, head.version
                    ));
                    *current = Some((head.method.clone(), head.target.to_string(), Vec::new()));
                    conn.accept_body();
                }
                ServerEvent::Data(data) => current
                    .as_mut()
                    .expect("data inside a request")
                    .2
                    .extend_from_slice(data),
                ServerEvent::End(trailers) => {
                    let (method, target, body) = current.take().expect("end of a request");
                    run.log.push(format!("body {}", body.escape_ascii()));
                    run.log.push(format!("end {trailers:?}"));
                    respond(conn, &method, &target, &body);
                }
                ServerEvent::Error(error) => {
                    run.log.push(format!("error {:?}", error.kind()));
                    if let (Some(status), true) = (error.status(), conn.can_send_response()) {
                        conn.send_error_response(status).unwrap();
                    }
                }
                ServerEvent::Closed => run.log.push("closed".into()),
            }
        }
        if let Some(out) = conn.poll_transmit() {
            run.sent.extend_from_slice(&out);
        }
    };
    for chunk in chunks {
        conn.handle_input(chunk);
        feed(&mut conn, &mut run, &mut current);
    }
    if eof {
        conn.handle_eof();
        feed(&mut conn, &mut run, &mut current);
    }
    run.wants_close = conn.wants_close();
    run
}

fn respond(conn: &mut ServerConnection, method: &Method, target: &str, body: &[u8]) {
    let text = format!("{method} {target} got {} bytes", body.len());
    let mut head = ResponseHead::new(StatusCode::OK);
    if !target.ends_with("/chunked") {
        head.headers
            .append("Content-Length", text.len().to_string())
            .unwrap();
    }
    conn.send_response(head).unwrap();
    conn.send_data(text.as_bytes()).unwrap();
    conn.send_end(&HeaderMap::new()).unwrap();
}

/// Feeds `input` at every chunk size and checks the runs agree; returns the one-piece run.
#[track_caller]
pub fn serve_at_every_split(input: &[u8], eof: bool) -> ServerRun {
    gyre_testing::assert_chunking_invariant(input, |chunks| serve(ServerConfig::default(), chunks, eof))
}

/// What a client machine made of a server's bytes, after sending `method /`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRun {
    /// `interim CODE`, `response CODE`, `body <bytes>`, `end <trailers>`, `error KIND`, `closed`.
    pub log: Vec<String>,
    /// Whether the connection could take another request at the end.
    pub reusable: bool,
    /// Bytes handed over after an upgrade.
    pub upgraded: Option<Vec<u8>>,
}

/// Sends `method /` (with `extra` header lines), then feeds the server's bytes.
pub fn fetch(
    method: Method,
    extra: &[(&str, &str)],
    chunks: &mut dyn Iterator<Item = &[u8]>,
    eof: bool,
) -> ClientRun {
    let mut conn = ClientConnection::default();
    let target = if method == Method::CONNECT {
        "example.com:443"
    } else {
        "/"
    };
    let mut head = gyre_http::RequestHead::new(method, target).unwrap();
    head.headers.append("Host", "example.com").unwrap();
    for (name, value) in extra {
        head.headers.append(name, value).unwrap();
    }
    conn.send_request(head).unwrap();
    conn.send_end(&HeaderMap::new()).unwrap();
    drop(conn.poll_transmit());
    let mut run = ClientRun {
        log: Vec::new(),
        reusable: false,
        upgraded: None,
    };
    let mut body = Vec::new();
    let drain = |conn: &mut ClientConnection, run: &mut ClientRun, body: &mut Vec<u8>| {
        while let Some(event) = conn.poll_event() {
            match event {
                ClientEvent::Informational(head) => run.log.push(format!("interim {}", head.status)),
                ClientEvent::Response(head) => run.log.push(format!("response {}", head.status)),
                ClientEvent::Data(data) => body.extend_from_slice(data),
                ClientEvent::End(trailers) => {
                    run.log.push(format!("body {}", body.escape_ascii()));
                    run.log.push(format!("end {trailers:?}"));
                }
                ClientEvent::Error(error) => run.log.push(format!("error {:?}", error.kind())),
                ClientEvent::Closed => run.log.push("closed".into()),
            }
        }
    };
    for chunk in chunks {
        conn.handle_input(chunk);
        drain(&mut conn, &mut run, &mut body);
    }
    if eof {
        conn.handle_eof();
        drain(&mut conn, &mut run, &mut body);
    }
    run.reusable = conn.is_reusable();
    run.upgraded = conn.take_upgraded();
    run
}
