//! A WebSocket echo server on gyre-http:
//!
//! ```text
//! cargo run -p gyre-http --example websocket_echo                       # tcp:8080:interface=127.0.0.1
//! cargo run -p gyre-http --example websocket_echo -- --listen tcp:0:interface=127.0.0.1
//! curl -i -N -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
//!      -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' http://127.0.0.1:8080/
//! python3 -m websockets ws://127.0.0.1:8080/
//! ```
//!
//! Prints `listening on ADDRESS` once ready. Every text and binary message
//! comes back unchanged (up to 64 MiB); the text `close CODE REASON` makes
//! the server start the close handshake with that code and reason. The
//! subprotocol `echo` is chosen when offered, and permessage-deflate when
//! the client offers it. Ctrl-C stops it.

use std::rc::Rc;

use gyre_core::{Address, SharedFactory};
use gyre_endpoints::{EndpointRegistry, listen_and_run};
use gyre_http::server::{HttpServer, Request};
use gyre_http::websocket::{
    AcceptPolicy, CloseCode, DeflateConfig, WebSocket, WebSocketConfig, WebSocketHandler, WebSocketOptions,
    WebSocketServer,
};
use gyre_reactor::Reactor;

/// Sends every message back; `close CODE REASON` closes.
struct Echo;

impl WebSocketHandler for Echo {
    fn on_text(&mut self, ws: &WebSocket, text: String) {
        if let Some(rest) = text.strip_prefix("close ") {
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Ok(code) = code.parse() {
                let _ = ws.close(Some(CloseCode(code)), reason);
                return;
            }
        }
        let _ = ws.send_text(&text);
    }

    fn on_binary(&mut self, ws: &WebSocket, data: Vec<u8>) {
        let _ = ws.send_binary(&data);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let description = match (args.next().as_deref(), args.next()) {
        (None, _) => "tcp:8080:interface=127.0.0.1".to_owned(),
        (Some("--listen"), Some(description)) => description,
        _ => return Err("usage: websocket_echo [--listen <server endpoint description>]".into()),
    };
    let reactor = Reactor::new()?;
    let endpoint = EndpointRegistry::default()
        .server_from_string(&reactor, &description)
        .map_err(|error| error.to_string())?;
    let mut options = WebSocketOptions::new(Rc::new(reactor.clone()));
    options.config = WebSocketConfig {
        max_message_size: 64 << 20,
        max_frame_size: 64 << 20,
    };
    options.deflate = Some(DeflateConfig::default());
    let policy = AcceptPolicy {
        protocols: vec!["echo".into()],
        origin_check: None,
    };
    let echo = WebSocketServer::new(options, policy, |_: &Request| Echo);
    let server = HttpServer::new(Rc::new(reactor.clone()), echo);
    let announce = |address: &Address| println!("listening on {address}");
    listen_and_run(&reactor, &*endpoint, SharedFactory::new(server), announce)
        .map_err(|failure| failure.to_string())?;
    Ok(())
}
