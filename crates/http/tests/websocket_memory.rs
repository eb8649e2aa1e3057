//! WebSocket server and client scenarios in memory: the gyre-http server
//! with `WebSocketServer` and the gyre client connected by `connect_pair`,
//! driven by the `Pump`; timers on a `ManualClock`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::producer::WaterMarks;
use gyre_core::{Protocol, Transport};
use gyre_http::server::{HttpServer, HttpServerProtocol, Request, Response};
use gyre_http::websocket::{
    AcceptPolicy, ClientHandshake, CloseCode, CloseFrame, HandshakeError, Opcode, WebSocket,
    WebSocketClientProtocol, WebSocketHandler, WebSocketOptions, WebSocketServer, WebSocketUrl, WsError,
    accept, write_frame,
};
use gyre_http::{SendError, StatusCode};
use gyre_testing::{ManualClock, Pump, connect_pair, failure_result_of, success_result_of};

type Log = Rc<RefCell<Vec<String>>>;

/// Logs every event; echoes messages when `echo`; closes on "quit".
struct Recorder {
    log: Log,
    echo: bool,
}

impl WebSocketHandler for Recorder {
    fn on_open(&mut self, ws: &WebSocket) {
        self.log.borrow_mut().push(format!("open {:?}", ws.protocol()));
    }
    fn on_text(&mut self, ws: &WebSocket, text: String) {
        self.log.borrow_mut().push(format!("text {text}"));
        if text == "quit" {
            ws.close(Some(CloseCode::GOING_AWAY), "as you wish").unwrap();
        } else if self.echo {
            ws.send_text(&text).unwrap();
        }
    }
    fn on_binary(&mut self, ws: &WebSocket, data: Vec<u8>) {
        self.log.borrow_mut().push(format!("binary {}", data.len()));
        if self.echo {
            ws.send_binary(&data).unwrap();
        }
    }
    fn on_pong(&mut self, _: &WebSocket, data: Vec<u8>) {
        self.log
            .borrow_mut()
            .push(format!("pong {}", String::from_utf8_lossy(&data)));
    }
    fn on_writable(&mut self, _: &WebSocket) {
        self.log.borrow_mut().push("writable".into());
    }
    fn on_error(&mut self, _: &WebSocket, error: &WsError) {
        self.log.borrow_mut().push(format!("error {error:?}"));
    }
    fn on_close(&mut self, _: &WebSocket, frame: CloseFrame, clean: bool) {
        self.log
            .borrow_mut()
            .push(format!("close {} {} {clean}", frame.code, frame.reason));
    }
}

fn options(clock: &ManualClock) -> WebSocketOptions {
    WebSocketOptions::new(Rc::new(clock.clone()))
}

fn server(clock: &ManualClock, options: WebSocketOptions, log: &Log) -> HttpServer {
    let log = log.clone();
    let policy = AcceptPolicy {
        protocols: vec!["chat".into(), "echo".into()],
        origin_check: Some(Rc::new(|origin: Option<&str>| {
            origin != Some("http://evil.example")
        })),
    };
    let ws = WebSocketServer::new(options, policy, move |_: &Request| Recorder {
        log: log.clone(),
        echo: true,
    });
    HttpServer::new(Rc::new(clock.clone()), ws)
}

struct Setup {
    pair: Pump<HttpServerProtocol, WebSocketClientProtocol>,
    ws: WebSocket,
    server_log: Log,
    client_log: Log,
    clock: ManualClock,
}

fn open(protocols: &[&str]) -> Setup {
    let clock = ManualClock::new();
    let (server_log, client_log) = (Log::default(), Log::default());
    let http = server(&clock, options(&clock), &server_log);
    let url = WebSocketUrl::parse("ws://example.com/chat").unwrap();
    let recorder = Recorder {
        log: client_log.clone(),
        echo: false,
    };
    let mut client = WebSocketClientProtocol::new(&url, protocols, options(&clock), recorder).unwrap();
    let opened = client.opened();
    let mut pair = connect_pair(http.protocol(), client);
    pair.pump();
    let ws = success_result_of(opened);
    Setup {
        pair,
        ws,
        server_log,
        client_log,
        clock,
    }
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.borrow_mut())
}

#[test]
fn echo_text_binary_fragments_ping_and_a_client_close() {
    let Setup {
        mut pair,
        ws,
        server_log,
        client_log,
        ..
    } = open(&["echo"]);
    assert_eq!(ws.protocol().as_deref(), Some("echo"));
    assert_eq!(take(&server_log), ["open Some(\"echo\")"]);
    assert_eq!(take(&client_log), ["open Some(\"echo\")"]);
    ws.send_text("hello ☃").unwrap();
    ws.send_binary(&vec![7; 70_000]).unwrap();
    ws.send_fragment(true, "☃".as_bytes().get(..1).unwrap(), false)
        .unwrap();
    ws.send_ping(b"are you there").unwrap();
    ws.send_fragment(true, &"☃".as_bytes()[1..], true).unwrap();
    pair.pump();
    // Echoing 70000 bytes passes the transport's high-water mark: paused, then writable.
    let server_events: Vec<String> = take(&server_log)
        .into_iter()
        .filter(|e| e != "writable")
        .collect();
    assert_eq!(server_events, ["text hello ☃", "binary 70000", "text ☃"]);
    let client_events: Vec<String> = take(&client_log)
        .into_iter()
        .filter(|e| e != "writable")
        .collect();
    assert_eq!(
        client_events,
        ["text hello ☃", "binary 70000", "pong are you there", "text ☃"]
    );
    ws.close(Some(CloseCode(4000)), "bye").unwrap();
    assert!(ws.send_text("late").is_err());
    pair.pump();
    assert!(!pair.is_connected());
    assert_eq!(take(&server_log), ["close 4000 bye true"]);
    assert_eq!(
        take(&client_log),
        ["close 4000  true"],
        "the server echoes the code"
    );
}

#[test]
fn a_server_close_is_answered_and_reported_to_both() {
    let Setup {
        mut pair,
        ws,
        server_log,
        client_log,
        ..
    } = open(&[]);
    assert_eq!(ws.protocol(), None);
    ws.send_text("quit").unwrap();
    pair.pump();
    assert_eq!(take(&server_log), ["open None", "text quit", "close 1001  true"]);
    assert_eq!(take(&client_log), ["open None", "close 1001 as you wish true"]);
}

/// A client that sends `request`, then `after` once answered, and keeps what it hears.
#[derive(Default)]
struct Raw {
    request: Vec<u8>,
    after: Vec<u8>,
    heard: Vec<u8>,
    lost: bool,
}

impl Protocol for Raw {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(&self.request);
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if self.heard.is_empty() {
            transport.write(&std::mem::take(&mut self.after));
        }
        self.heard.extend_from_slice(data);
    }
    fn connection_lost(&mut self, _: &Transport, _: gyre_core::Failure) {
        self.lost = true;
    }
}

const UPGRADE: &str = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn raw(
    clock: &ManualClock,
    options: WebSocketOptions,
    request: &str,
    after: &[u8],
) -> (Pump<HttpServerProtocol, Raw>, Log) {
    let log = Log::default();
    let http = server(clock, options, &log);
    let client = Raw {
        request: request.as_bytes().to_vec(),
        after: after.to_vec(),
        ..Raw::default()
    };
    let mut pair = connect_pair(http.protocol(), client);
    pair.pump();
    (pair, log)
}

#[test]
fn an_unmasked_client_frame_is_answered_with_1002_and_a_closed_connection() {
    let clock = ManualClock::new();
    let (mut pair, log) = raw(&clock, options(&clock), UPGRADE, &[0x81, 0x02, b'h', b'i']);
    let heard = String::from_utf8_lossy(&pair.client().heard).into_owned();
    assert!(
        heard.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{heard}"
    );
    assert!(heard.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    let frame_at = heard.find("\r\n\r\n").unwrap() + 4;
    assert_eq!(
        &pair.client().heard[frame_at..frame_at + 4],
        &[0x88, 0x1e, 0x03, 0xea]
    );
    assert!(pair.client().lost);
    assert_eq!(
        take(&log),
        ["open None", "error UnmaskedFrame", "close 1006  false"]
    );
}

#[test]
fn refused_handshakes_get_their_status() {
    let clock = ManualClock::new();
    let cases = [
        (
            UPGRADE.replace("Version: 13", "Version: 8"),
            "HTTP/1.1 426 Upgrade Required\r\n",
            "Sec-WebSocket-Version: 13\r\n",
        ),
        (
            UPGRADE.replace("GET", "POST"),
            "HTTP/1.1 405 Method Not Allowed\r\n",
            "Allow: GET\r\n",
        ),
        (
            UPGRADE.replace("Key: dGhlIHNhbXBsZSBub25jZQ==", "Key: dGhlIHNhbXBsZQ=="),
            "HTTP/1.1 400 Bad Request\r\n",
            "Content-Length: 0\r\n",
        ),
        (
            UPGRADE.replace("Host: x", "Host: x\r\nOrigin: http://evil.example"),
            "HTTP/1.1 403 Forbidden\r\n",
            "",
        ),
    ];
    for (request, status, header) in cases {
        let (mut pair, log) = raw(&clock, options(&clock), &request, b"");
        let heard = String::from_utf8_lossy(&pair.client().heard).into_owned();
        assert!(heard.starts_with(status) && heard.contains(header), "{heard}");
        assert!(take(&log).is_empty(), "no handler ran");
    }
}

#[test]
fn an_unanswered_close_times_out_and_aborts() {
    let clock = ManualClock::new();
    let (mut pair, log) = raw(&clock, options(&clock), UPGRADE, b"");
    assert_eq!(take(&log), ["open None"]);
    // The server's own handler closes; the raw client never answers.
    let ws_frame = {
        let mut frame = Vec::new();
        write_frame(&mut frame, true, 0, Opcode::Text, Some([1, 2, 3, 4]), b"quit");
        frame
    };
    pair.client_transport().write(&ws_frame);
    pair.pump();
    assert_eq!(take(&log), ["text quit"]);
    assert!(pair.is_connected());
    clock.advance(Duration::from_secs(9));
    pair.pump();
    assert!(pair.is_connected());
    clock.advance(Duration::from_secs(1));
    pair.pump();
    assert!(!pair.is_connected());
    assert_eq!(take(&log), ["error CloseTimeout", "close 1006  false"]);
}

#[test]
fn keepalive_pings_a_quiet_peer_and_gives_up_on_a_silent_one() {
    let clock = ManualClock::new();
    let mut opts = options(&clock);
    opts.ping_interval = Some(Duration::from_secs(5));
    let (mut pair, log) = raw(&clock, opts, UPGRADE, b"");
    let before = pair.client().heard.len();
    clock.advance(Duration::from_secs(5));
    pair.pump();
    // The first tick pings (the handshake counted as hearing from the peer).
    assert_eq!(
        &pair.client().heard[before..],
        &[0x89, 0x04, b'g', b'y', b'r', b'e']
    );
    // No pong, no frame: the next tick closes with 1011.
    clock.advance(Duration::from_secs(5));
    pair.pump();
    let close = &pair.client().heard[before + 6..];
    assert_eq!(&close[..4], &[0x88, 2 + 22, 0x03, 0xf3]);
    assert_eq!(take(&log), ["open None"]);
}

#[test]
fn backpressure_pauses_reading_and_reports_writable_again() {
    let Setup {
        mut pair,
        ws,
        client_log,
        clock: _clock,
        ..
    } = open(&[]);
    take(&client_log);
    let client_transport = pair.client_transport();
    client_transport.set_water_marks(WaterMarks::new(1000, 100));
    client_transport
        .register_producer(gyre_core::producer::Producer::Push(Rc::new(Noop)))
        .ok();
    // The server is not reading (paused): our bytes stay buffered on our end.
    pair.server_transport().pause_reading();
    ws.send_binary(&[1; 5000]).unwrap();
    pair.pump();
    assert!(!ws.is_writable());
    pair.server_transport().resume_reading();
    pair.pump();
    assert!(ws.is_writable());
    assert!(take(&client_log).contains(&"writable".to_string()));
}

struct Noop;

impl gyre_core::producer::PushProducer for Noop {
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn stop_producing(&self) {}
}

#[test]
fn the_outgoing_queue_is_bounded() {
    let clock = ManualClock::new();
    let log = Log::default();
    let mut opts = options(&clock);
    opts.max_outgoing = 10_000;
    let http = server(&clock, options(&clock), &log);
    let url = WebSocketUrl::parse("ws://h/").unwrap();
    let recorder = Recorder {
        log: log.clone(),
        echo: false,
    };
    let mut client = WebSocketClientProtocol::new(&url, &[], opts, recorder).unwrap();
    let opened = client.opened();
    let mut pair = connect_pair(http.protocol(), client);
    pair.pump();
    let ws = success_result_of(opened);
    pair.server_transport().pause_reading();
    ws.send_binary(&[0; 8000]).unwrap();
    ws.send_binary(&[0; 8000]).unwrap();
    assert_eq!(
        ws.send_binary(&[0; 10]),
        Err(SendError::WrongState("the outgoing queue is full"))
    );
}

#[test]
fn a_client_refuses_a_server_that_does_not_switch() {
    let clock = ManualClock::new();
    let http = HttpServer::new(Rc::new(clock.clone()), |_: Request, response: Response| {
        response
            .send(StatusCode::OK, "text/plain", b"no websockets here")
            .unwrap();
    });
    let url = WebSocketUrl::parse("ws://h/").unwrap();
    let log = Log::default();
    let recorder = Recorder {
        log: log.clone(),
        echo: false,
    };
    let handshake = ClientHandshake::with_key("dGhlIHNhbXBsZSBub25jZQ==", &[]);
    let mut client =
        WebSocketClientProtocol::with_handshake(&url, handshake, options(&clock), recorder).unwrap();
    let opened = client.opened();
    let mut pair = connect_pair(http.protocol(), client);
    pair.pump();
    let failure = failure_result_of(opened);
    assert_eq!(
        failure.downcast_ref::<HandshakeError>(),
        Some(&HandshakeError::NotSwitching(StatusCode::OK))
    );
    assert!(!pair.is_connected());
    assert!(take(&log).is_empty());
}

#[test]
fn a_server_that_never_answers_the_handshake_times_out() {
    let clock = ManualClock::new();
    let url = WebSocketUrl::parse("ws://h/").unwrap();
    let recorder = Recorder {
        log: Log::default(),
        echo: false,
    };
    let mut client = WebSocketClientProtocol::new(&url, &[], options(&clock), recorder).unwrap();
    let opened = client.opened();
    let mut pair = connect_pair(Raw::default(), client);
    pair.pump();
    assert!(!opened.has_result());
    clock.advance(Duration::from_secs(10));
    pair.pump();
    failure_result_of(opened);
    assert!(!pair.is_connected());
}

#[test]
fn accept_can_be_called_from_any_handler() {
    let clock = ManualClock::new();
    let opts = options(&clock);
    let log = Log::default();
    let handler_log = log.clone();
    let http = HttpServer::new(
        Rc::new(clock.clone()),
        move |request: Request, response: Response| {
            if request.head().target.path() == "/ws" {
                let recorder = Recorder {
                    log: handler_log.clone(),
                    echo: true,
                };
                accept(&request, &response, &opts, &AcceptPolicy::default(), recorder).unwrap();
            } else {
                response
                    .send(StatusCode::NOT_FOUND, "text/plain", b"not here")
                    .unwrap();
            }
        },
    );
    let mut pair = connect_pair(
        http.protocol(),
        Raw {
            request: UPGRADE.replace("GET / ", "GET /ws ").into_bytes(),
            ..Raw::default()
        },
    );
    pair.pump();
    assert!(String::from_utf8_lossy(&pair.client().heard).starts_with("HTTP/1.1 101 "));
    assert_eq!(take(&log), ["open None"]);
}

#[test]
fn permessage_deflate_is_negotiated_end_to_end() {
    let clock = ManualClock::new();
    let (server_log, client_log) = (Log::default(), Log::default());
    let mut opts = options(&clock);
    opts.deflate = Some(gyre_http::websocket::DeflateConfig::default());
    let http = server(&clock, opts.clone(), &server_log);
    let url = WebSocketUrl::parse("ws://h/").unwrap();
    let recorder = Recorder {
        log: client_log.clone(),
        echo: false,
    };
    let mut client = WebSocketClientProtocol::new(&url, &[], opts, recorder).unwrap();
    let opened = client.opened();
    let mut pair = connect_pair(http.protocol(), client);
    pair.pump();
    let ws = success_result_of(opened);
    let text = "compress me ".repeat(1000);
    ws.send_text(&text).unwrap();
    // The frame on the wire is compressed: far smaller than the text.
    assert!(
        pair.client_end().pending() < 200,
        "{}",
        pair.client_end().pending()
    );
    pair.pump();
    assert_eq!(
        take(&server_log),
        ["open None".to_owned(), format!("text {text}")]
    );
    assert_eq!(
        take(&client_log),
        ["open None".to_owned(), format!("text {text}")]
    );
}

#[test]
fn a_stopping_server_closes_every_open_websocket_with_going_away() {
    let clock = ManualClock::new();
    let (server_log, client_log) = (Log::default(), Log::default());
    let log = server_log.clone();
    let ws_server = WebSocketServer::new(options(&clock), AcceptPolicy::default(), move |_: &Request| {
        Recorder {
            log: log.clone(),
            echo: true,
        }
    });
    let open = ws_server.connections();
    let http = HttpServer::new(Rc::new(clock.clone()), ws_server);
    let url = WebSocketUrl::parse("ws://example.com/chat").unwrap();
    let mut pairs = Vec::new();
    for _ in 0..2 {
        let recorder = Recorder {
            log: client_log.clone(),
            echo: false,
        };
        let mut client = WebSocketClientProtocol::new(&url, &[], options(&clock), recorder).unwrap();
        let opened = client.opened();
        let mut pair = connect_pair(http.protocol(), client);
        pair.pump();
        success_result_of(opened);
        pairs.push(pair);
    }
    assert_eq!(open.len(), 2);
    // What a gyre-app Drain::With does for a program serving WebSockets.
    http.shut_down();
    open.close_all(CloseCode::GOING_AWAY, "server shutting down");
    for pair in &mut pairs {
        pair.pump();
    }
    let closes: Vec<String> = take(&client_log)
        .into_iter()
        .filter(|line| line.starts_with("close"))
        .collect();
    assert_eq!(
        closes, ["close 1001 server shutting down true"; 2],
        "both clients heard why"
    );
    assert_eq!(
        take(&server_log)
            .iter()
            .filter(|line| line.starts_with("close 1001"))
            .count(),
        2
    );
    assert!(open.is_empty());
}
