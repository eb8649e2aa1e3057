//! `wss://`: the gyre client through a gyre-endpoints `tls:` endpoint to
//! the gyre server behind `ssl:`, and the Python `websockets` client
//! (Python's `ssl`, OpenSSL) to the `websocket_echo` example behind `ssl:`.

mod support;

use std::cell::RefCell;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::{Deferred, Resolver, SharedFactory};
use gyre_endpoints::EndpointRegistry;
use gyre_http::server::{HttpServer, Request};
use gyre_http::websocket::{
    AcceptPolicy, CloseCode, CloseFrame, WebSocket, WebSocketHandler, WebSocketOptions, WebSocketServer,
    WebSocketUrl, connect,
};
use gyre_reactor::Reactor;
use gyre_testing::certs::TestCa;
use gyre_testing::peers::{peer_python, run_to_end_of_input};
use gyre_testing::success_result_of;
use support::peers::start_example;

const LIMIT: Duration = Duration::from_secs(60);

/// A directory with `ca.pem`, `server.pem` and `server.key` for "localhost".
fn certificates(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gyre-websocket-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = TestCa::new("gyre websocket test CA");
    ca.write(&dir, "ca");
    ca.server(&["localhost", "127.0.0.1"]).write(&dir, "server");
    dir
}

fn ssl_description(dir: &std::path::Path) -> String {
    format!(
        "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
        dir.join("server.key").display(),
        dir.join("server.pem").display()
    )
}

struct Echo;

impl WebSocketHandler for Echo {
    fn on_text(&mut self, ws: &WebSocket, text: String) {
        ws.send_text(&text).unwrap();
    }
}

struct Greeter {
    log: Rc<RefCell<Vec<String>>>,
    done: Option<Resolver<()>>,
}

impl WebSocketHandler for Greeter {
    fn on_open(&mut self, ws: &WebSocket) {
        ws.send_text("over wss").unwrap();
    }
    fn on_text(&mut self, ws: &WebSocket, text: String) {
        self.log.borrow_mut().push(text);
        ws.close(Some(CloseCode::NORMAL), "").unwrap();
    }
    fn on_close(&mut self, _: &WebSocket, frame: CloseFrame, clean: bool) {
        self.log
            .borrow_mut()
            .push(format!("close {} {clean}", frame.code));
        if let Some(done) = self.done.take() {
            done.callback(());
        }
    }
}

#[test]
fn gyre_client_and_server_over_wss() {
    let dir = certificates("gyre");
    let reactor = Reactor::new().unwrap();
    let registry = EndpointRegistry::default();
    let server_endpoint = registry
        .server_from_string(&reactor, &ssl_description(&dir))
        .unwrap();
    let options = WebSocketOptions::new(Rc::new(reactor.clone()));
    let ws = WebSocketServer::new(options.clone(), AcceptPolicy::default(), |_: &Request| Echo);
    let http = HttpServer::new(Rc::new(reactor.clone()), ws);
    let port = success_result_of(server_endpoint.listen(SharedFactory::new(http)));
    let url = WebSocketUrl::parse(&format!("wss://localhost:{}/", port.host().port().unwrap())).unwrap();
    let description = format!(
        "{}:trustRoots={}",
        url.endpoint_description(),
        dir.join("ca.pem").display()
    );
    let client = registry.client_from_string(&reactor, &description).unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (done, resolver) = Deferred::new();
    let greeter = Greeter {
        log: log.clone(),
        done: Some(resolver),
    };
    let scenario = connect(
        &*client,
        &format!("wss://localhost:{}/", url.port),
        &[],
        options,
        greeter,
    )
    .and_then(move |_| done);
    reactor.run_until(scenario.add_timeout(&reactor, LIMIT)).unwrap();
    assert_eq!(*log.borrow(), ["over wss", "close 1000 true"]);
    reactor.close();
    std::fs::remove_dir_all(&dir).unwrap();
}

const PYTHON_WSS_CLIENT: &str = r#"
import asyncio, ssl, sys
from websockets.asyncio.client import connect
async def main(port, ca):
    context = ssl.create_default_context(cafile=ca)
    async with connect(f"wss://localhost:{port}/", ssl=context) as ws:
        await ws.send("secure hello"); print(await ws.recv())
        await ws.send(b"\x01" * 100000); print(len(await ws.recv()))
    print("closed", ws.close_code)
asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 50))
"#;

#[test]
fn python_websockets_client_over_wss() {
    let python = peer_python("websockets");
    let dir = certificates("python");
    let (_server, port) = start_example("websocket_echo", &["--listen", &ssl_description(&dir)]);
    let port = port.to_string();
    let ca = dir.join("ca.pem").display().to_string();
    let output = run_to_end_of_input(
        Command::new(python).args(["-c", PYTHON_WSS_CLIENT, &port, &ca]),
        b"",
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["secure hello", "100000", "closed 1000"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
