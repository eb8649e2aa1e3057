//! WebSocket against peers nobody here wrote, over 127.0.0.1: curl checks
//! the handshake of the `websocket_echo` example, the Python `websockets`
//! client talks to it (text, binary, a 1 MiB message in 16 fragments,
//! ping, close codes both ways, permessage-deflate on and off), the gyre
//! client (with permessage-deflate) talks to a Python `websockets` server,
//! and a raw Python socket breaks the protocol and gets the close code.

mod support;

use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::{Deferred, Resolver};
use gyre_endpoints::EndpointRegistry;
use gyre_http::websocket::{
    CloseCode, CloseFrame, DeflateConfig, WebSocket, WebSocketHandler, WebSocketOptions, WsError, connect,
};
use gyre_reactor::Reactor;
use gyre_testing::peers::{KillOnDrop, peer_python, require_program, run_to_end_of_input, start_until};
use support::peers::{LOCAL, port_of, start_example};

const LIMIT: Duration = Duration::from_secs(60);

/// The `websocket_echo` example on an ephemeral port.
fn echo_server() -> (KillOnDrop, u16) {
    start_example("websocket_echo", &["--listen", LOCAL])
}

#[test]
fn curl_gets_the_rfc_accept_key() {
    require_program("curl", "curl");
    let (_server, port) = echo_server();
    let url = format!("http://127.0.0.1:{port}/");
    let output = run_to_end_of_input(
        Command::new("curl").args([
            "-s",
            "-i",
            "-N",
            "--max-time",
            "2",
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            "-H",
            "Sec-WebSocket-Version: 13",
            "-H",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            &url,
        ]),
        b"",
        LIMIT,
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{text}");
    assert!(
        text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{text}"
    );
    // Without the version header: 426 and the version we speak.
    let output = run_to_end_of_input(
        Command::new("curl").args([
            "-s",
            "-i",
            "--max-time",
            "10",
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            "-H",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            &url,
        ]),
        b"",
        LIMIT,
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{text}");
    assert!(text.contains("Sec-WebSocket-Version: 13\r\n"), "{text}");
}

const PYTHON_CLIENT: &str = r#"
import asyncio, sys
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
async def main(port):
    url = f"ws://127.0.0.1:{port}/"
    async with connect(url, subprotocols=["echo"], max_size=None) as ws:
        print("protocol", ws.subprotocol)
        print("extensions", [extension.name for extension in ws.protocol.extensions])
        await ws.send("hello \u2603"); print("text", await ws.recv())
        await ws.send(b"\x00\xff" * 5); print("binary", (await ws.recv()).hex())
        big = bytes(range(256)) * 4096
        async def fragments():
            for i in range(0, len(big), 65536):
                yield big[i:i + 65536]
        await ws.send(fragments()); echoed = await ws.recv(); print("fragmented", len(echoed), echoed == big)
        async def text_fragments():
            for piece in ["sn", "\u2603", "w"]:
                yield piece
        await ws.send(text_fragments()); print("text fragments", await ws.recv())
        await asyncio.wait_for(await ws.ping(b"abc"), 20); print("pong")
        await ws.send("close 4001 server says bye")
        try:
            await ws.recv()
        except ConnectionClosed as closed:
            print("server closed", closed.rcvd.code, closed.rcvd.reason)
    async with connect(url, compression=None) as ws:
        await ws.send("plain"); print("uncompressed", await ws.recv(), ws.protocol.extensions)
        await ws.close(3001, "client says bye")
        print("client closed", ws.close_code)
asyncio.run(asyncio.wait_for(main(sys.argv[1]), 50))
"#;

#[test]
fn python_websockets_client_against_the_gyre_echo_server() {
    let python = peer_python("websockets");
    let (_server, port) = echo_server();
    let output = run_to_end_of_input(
        Command::new(python).args(["-c", PYTHON_CLIENT, &port.to_string()]),
        b"",
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "protocol echo",
            "extensions ['permessage-deflate']",
            "text hello ☃",
            "binary 00ff00ff00ff00ff00ff",
            "fragmented 1048576 True",
            "text fragments sn☃w",
            "pong",
            "server closed 4001 server says bye",
            "uncompressed plain []",
            "client closed 3001",
        ]
    );
}

const PYTHON_SERVER: &str = r#"
import asyncio
from websockets.asyncio.server import serve
async def handler(ws):
    async for message in ws:
        if message == "extensions?":
            await ws.send(",".join(extension.name for extension in ws.protocol.extensions) or "none")
            continue
        if message == "close please":
            await ws.close(4003, "python closes")
            return
        await ws.send(message)
async def main():
    async with serve(handler, "127.0.0.1", 0, max_size=None, subprotocols=["chat"]) as server:
        print("listening on", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"#;

/// Sends its script on open, logs what comes back, closes when told.
struct Script {
    sends: Vec<Result<String, Vec<u8>>>,
    expect: usize,
    close_with: Option<CloseCode>,
    log: Rc<RefCell<Vec<String>>>,
    done: Option<Resolver<()>>,
}

impl Script {
    fn received(&mut self, ws: &WebSocket, entry: String) {
        self.log.borrow_mut().push(entry);
        self.expect -= 1;
        if self.expect == 0
            && let Some(code) = self.close_with
        {
            ws.close(Some(code), "gyre closes").unwrap();
        }
    }
}

impl WebSocketHandler for Script {
    fn on_open(&mut self, ws: &WebSocket) {
        self.log.borrow_mut().push(format!("open {:?}", ws.protocol()));
        for message in &self.sends {
            match message {
                Ok(text) => ws.send_text(text).unwrap(),
                Err(data) => ws.send_binary(data).unwrap(),
            }
        }
        ws.send_fragment(true, &"é".as_bytes()[..1], false).unwrap();
        ws.send_ping(b"ping!").unwrap();
        ws.send_fragment(true, &"é".as_bytes()[1..], true).unwrap();
    }
    fn on_text(&mut self, ws: &WebSocket, text: String) {
        self.received(ws, format!("text {text}"));
    }
    fn on_binary(&mut self, ws: &WebSocket, data: Vec<u8>) {
        let pattern = data.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8);
        self.received(ws, format!("binary {} {pattern}", data.len()));
    }
    fn on_pong(&mut self, _: &WebSocket, data: Vec<u8>) {
        self.log
            .borrow_mut()
            .push(format!("pong {}", String::from_utf8_lossy(&data)));
    }
    fn on_error(&mut self, _: &WebSocket, error: &WsError) {
        self.log.borrow_mut().push(format!("error {error}"));
    }
    fn on_close(&mut self, _: &WebSocket, frame: CloseFrame, clean: bool) {
        self.log
            .borrow_mut()
            .push(format!("close {} {} {clean}", frame.code, frame.reason));
        if let Some(done) = self.done.take() {
            done.callback(());
        }
    }
}

fn run_client(
    deflate: bool,
    port: u16,
    sends: Vec<Result<String, Vec<u8>>>,
    expect: usize,
    close_with: Option<CloseCode>,
) -> Vec<String> {
    let reactor = Reactor::new().unwrap();
    let endpoint = EndpointRegistry::default()
        .client_from_string(&reactor, &format!("tcp:127.0.0.1:{port}"))
        .unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (done, resolver) = Deferred::new();
    let script = Script {
        sends,
        expect,
        close_with,
        log: log.clone(),
        done: Some(resolver),
    };
    let mut options = WebSocketOptions::new(Rc::new(reactor.clone()));
    options.deflate = deflate.then(DeflateConfig::default);
    let url = format!("ws://127.0.0.1:{port}/chat");
    let opened = connect(&*endpoint, &url, &["chat"], options, script);
    let scenario = opened.and_then(move |_ws| done);
    reactor
        .run_until(scenario.add_timeout(&reactor, LIMIT))
        .expect("the scenario finished");
    log.take()
}

#[test]
fn gyre_client_against_a_python_websockets_server() {
    let python = peer_python("websockets");
    let (_server, line) = start_until(
        Command::new(python).args(["-c", PYTHON_SERVER]),
        b"",
        "listening on",
    );
    let port = port_of(&line);
    let big: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
    let sends = vec![Ok("extensions?".into()), Ok("hello ☃".into()), Err(big)];
    let mut log = run_client(true, port, sends, 4, Some(CloseCode(4002)));
    // The pong may overtake the echoes: check it apart from their order.
    let pongs = log.iter().filter(|entry| *entry == "pong ping!").count();
    log.retain(|entry| entry != "pong ping!");
    assert_eq!(pongs, 1);
    let expected = [
        "open Some(\"chat\")",
        "text permessage-deflate",
        "text hello ☃",
        "binary 300000 true",
        "text é",
        "close 4002 gyre closes true",
    ];
    assert_eq!(log, expected);
    let sends = vec![Ok("extensions?".into()), Ok("close please".into())];
    let log = run_client(false, port, sends, 1, None);
    assert_eq!(log[0], "open Some(\"chat\")");
    assert!(log.contains(&"text none".to_owned()), "{log:?}");
    assert_eq!(log.last().unwrap(), "close 4003 python closes true");
}

const PYTHON_VIOLATIONS: &str = r#"
import socket, struct, sys
def attempt(frame):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
    s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    data = data.split(b"\r\n\r\n", 1)[1]
    s.sendall(frame)
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    code = struct.unpack("!H", data[2:4])[0] if len(data) >= 4 and data[0] == 0x88 else None
    print(code, "closed")
masked = lambda header, payload: header + bytes([0x80 | len(payload)]) + b"\0\0\0\0" + payload
attempt(b"\x81\x02hi")                                  # unmasked client frame
attempt(masked(b"\x81", b"\xff\xfe"))                   # text that is not UTF-8
attempt(b"\x82\xff" + struct.pack("!Q", 1 << 40) + b"\0\0\0\0")  # a 1 TiB frame
attempt(masked(b"\x83", b""))                           # reserved opcode
"#;

#[test]
fn python_socket_protocol_violations_get_their_close_codes() {
    require_program("python3", "python3");
    let (_server, port) = echo_server();
    let output = run_to_end_of_input(
        Command::new("python3").args(["-c", PYTHON_VIOLATIONS, &port.to_string()]),
        b"",
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        ["1002 closed", "1007 closed", "1009 closed", "1002 closed"]
    );
}
