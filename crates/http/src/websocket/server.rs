//! Accepting WebSockets in a gyre-http server: [`accept`] from any
//! [`Handler`], or [`WebSocketServer`], a `Handler` that is only a
//! WebSocket endpoint.

use std::rc::Rc;

use crate::server::{Handler, Request, Response};
use crate::websocket::connection::WebSocketConnection;
use crate::websocket::deflate::negotiate_deflate;
use crate::websocket::handshake::{HandshakeError, accept_response, choose_protocol, validate_request};
use crate::websocket::message::Role;
use crate::websocket::session::{WebSocketHandler, WebSocketOptions, WebSocketProtocol};

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
        }
    }
}

impl<F, H> Handler for WebSocketServer<F>
where
    F: Fn(&Request) -> H + 'static,
    H: WebSocketHandler,
{
    fn handle(&self, request: Request, response: Response) {
        if validate_request(request.head()).is_ok() {
            let handler = (self.make)(&request);
            let _ = accept(&request, &response, &self.options, &self.policy, handler);
        } else {
            // Refused with the right status; no handler is made for it.
            let _ = accept(&request, &response, &self.options, &self.policy, NoHandler);
        }
    }
}

struct NoHandler;

impl WebSocketHandler for NoHandler {}
