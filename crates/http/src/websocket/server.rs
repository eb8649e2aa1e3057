//! Accepting WebSockets in a gyre-http server: [`accept`] from any
//! [`Handler`], or [`WebSocketServer`], a `Handler` that is only a
//! WebSocket endpoint.

use std::cell::RefCell;
use std::rc::Rc;

use crate::server::{Handler, Request, Response};
use crate::websocket::connection::WebSocketConnection;
use crate::websocket::deflate::negotiate_deflate;
use crate::websocket::error::{CloseCode, WsError};
use crate::websocket::handshake::{HandshakeError, accept_response, choose_protocol, validate_request};
use crate::websocket::message::CloseFrame;
use crate::websocket::message::Role;
use crate::websocket::session::{WebSocket, WebSocketHandler, WebSocketOptions, WebSocketProtocol};

/// Decides on a request's `Origin` header (absent for non-browser clients).
pub type OriginCheck = Rc<dyn Fn(Option<&str>) -> bool>;

/// What a server accepts: subprotocols and origins.
#[derive(Clone, Default)]
pub struct AcceptPolicy {
    /// The subprotocols this server speaks, preferred first; the first one
    /// the client also offers is chosen. Empty: none is ever chosen.
    pub protocols: Vec<String>,
    /// Decides on the request's `Origin` (absent for non-browser clients);
    /// refused requests get 403. `None` accepts every origin.
    pub origin_check: Option<OriginCheck>,
}

/// Answers `request` as a WebSocket handshake: on success `101` and the
/// connection is handed to `handler`; otherwise the refusal's status
/// (400, 403, 405, 426 with `Sec-WebSocket-Version: 13`) is sent and the
/// error returned, so a handler can serve both WebSocket and plain
/// requests on one path by checking the request first.
pub fn accept(
    request: &Request,
    response: &Response,
    options: &WebSocketOptions,
    policy: &AcceptPolicy,
    handler: impl WebSocketHandler,
) -> Result<(), HandshakeError> {
    let offer = validate_request(request.head()).and_then(|offer| {
        let allowed = policy
            .origin_check
            .as_ref()
            .is_none_or(|check| check(offer.origin.as_deref()));
        if allowed {
            Ok(offer)
        } else {
            Err(HandshakeError::OriginRefused)
        }
    });
    let offer = match offer {
        Ok(offer) => offer,
        Err(error) => {
            let _ = response
                .send_head(error.response_head())
                .and_then(|()| response.finish());
            return Err(error);
        }
    };
    let supported: Vec<&str> = policy.protocols.iter().map(String::as_str).collect();
    let protocol = choose_protocol(&offer, &supported).map(str::to_owned);
    let deflate = options
        .deflate
        .and_then(|config| negotiate_deflate(&offer.extensions, &config));
    let head = accept_response(
        &offer,
        protocol.as_deref(),
        deflate.as_ref().map(|(_, answer)| answer.as_str()),
    );
    let mut conn = WebSocketConnection::new(Role::Server, options.config);
    if let Some((params, _)) = deflate {
        conn = conn.with_deflate(params);
    }
    let ws = WebSocketProtocol::new(conn, options.clone(), protocol, handler);
    // Err only when the client is already gone: nothing to hand over then.
    let _ = response.upgrade(head, ws);
    Ok(())
}

/// A [`Handler`] that accepts every request as a WebSocket and gives each
/// connection a handler made by `make` from its request.
///
/// ```
/// use std::rc::Rc;
/// use gyre_http::server::HttpServer;
/// use gyre_http::websocket::{AcceptPolicy, WebSocket, WebSocketHandler, WebSocketOptions, WebSocketServer};
///
/// struct Echo;
/// impl WebSocketHandler for Echo {
///     fn on_text(&mut self, ws: &WebSocket, text: String) {
///         let _ = ws.send_text(&text);
///     }
/// }
///
/// let clock = Rc::new(gyre_testing::ManualClock::new());
/// let options = WebSocketOptions::new(clock.clone());
/// let server = HttpServer::new(clock, WebSocketServer::new(options, AcceptPolicy::default(), |_| Echo));
/// let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let run = gyre_testing::feed_chunked(|| server.protocol(), request);
/// let answer = String::from_utf8(run.written).unwrap();
/// assert!(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
/// assert!(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
/// ```
pub struct WebSocketServer<F> {
    options: WebSocketOptions,
    policy: AcceptPolicy,
    make: F,
    open: OpenWebSockets,
}

/// The open connections of a [`WebSocketServer`], kept by the program
/// (the server itself moves into an `HttpServer`) so that a graceful
/// shutdown can close them all with `1001 Going Away`: an upgraded
/// connection is no longer HTTP's, so `HttpServer::shut_down` leaves it.
/// Clones share the set.
#[derive(Clone, Default)]
pub struct OpenWebSockets {
    sockets: Rc<RefCell<Vec<WebSocket>>>,
}

impl OpenWebSockets {
    fn add(&self, ws: &WebSocket) {
        let mut sockets = self.sockets.borrow_mut();
        sockets.retain(WebSocket::is_open);
        sockets.push(ws.clone());
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.sockets.borrow().iter().filter(|ws| ws.is_open()).count()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts the closing handshake on every open connection with `code`
    /// (`CloseCode::GOING_AWAY` when the server stops) and `reason`; each
    /// closes once its peer answers (or its close timeout passes).
    pub fn close_all(&self, code: CloseCode, reason: &str) {
        let sockets: Vec<WebSocket> = self
            .sockets
            .borrow_mut()
            .drain(..)
            .filter(WebSocket::is_open)
            .collect();
        for ws in sockets {
            // Err only when this side already sent its close frame.
            let _ = ws.close(Some(code), reason);
        }
    }
}

/// Records each connection of a [`WebSocketServer`] in its
/// [`OpenWebSockets`] once open, and otherwise is the application's handler.
struct Tracked<H> {
    inner: H,
    open: OpenWebSockets,
}

impl<H: WebSocketHandler> WebSocketHandler for Tracked<H> {
    fn on_open(&mut self, ws: &WebSocket) {
        self.open.add(ws);
        self.inner.on_open(ws);
    }
    fn on_text(&mut self, ws: &WebSocket, text: String) {
        self.inner.on_text(ws, text);
    }
    fn on_binary(&mut self, ws: &WebSocket, data: Vec<u8>) {
        self.inner.on_binary(ws, data);
    }
    fn on_pong(&mut self, ws: &WebSocket, data: Vec<u8>) {
        self.inner.on_pong(ws, data);
    }
    fn on_writable(&mut self, ws: &WebSocket) {
        self.inner.on_writable(ws);
    }
    fn on_error(&mut self, ws: &WebSocket, error: &WsError) {
        self.inner.on_error(ws, error);
    }
    fn on_close(&mut self, ws: &WebSocket, frame: CloseFrame, clean: bool) {
        self.inner.on_close(ws, frame, clean);
    }
}

impl<F, H> WebSocketServer<F>
where
    F: Fn(&Request) -> H + 'static,
    H: WebSocketHandler,
{
    /// A server making a handler per connection with `make`.
    pub fn new(options: WebSocketOptions, policy: AcceptPolicy, make: F) -> Self {
        WebSocketServer {
            options,
            policy,
            make,
            open: OpenWebSockets::default(),
        }
    }

    /// Its open connections, to close them when the program stops.
    pub fn connections(&self) -> OpenWebSockets {
        self.open.clone()
    }
}

impl<F, H> Handler for WebSocketServer<F>
where
    F: Fn(&Request) -> H + 'static,
    H: WebSocketHandler,
{
    fn handle(&self, request: Request, response: Response) {
        if validate_request(request.head()).is_ok() {
            let handler = Tracked {
                inner: (self.make)(&request),
                open: self.open.clone(),
            };
            let _ = accept(&request, &response, &self.options, &self.policy, handler);
        } else {
            // Refused with the right status; no handler is made for it.
            let _ = accept(&request, &response, &self.options, &self.policy, NoHandler);
        }
    }
}

struct NoHandler;

impl WebSocketHandler for NoHandler {}
