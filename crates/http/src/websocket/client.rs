//! The client: [`WebSocketUrl`], [`WebSocketClientProtocol`] (the opening
//! handshake through gyre-http's [`ClientConnection`], then a
//! [`WebSocketProtocol`] on the same transport) and [`connect`] over any
//! gyre `ClientEndpoint` (`tcp:`, `tls:` for `wss://`, `unix:`, ...).

use std::fmt;

use gyre_core::{ClockExt, Deferred, DelayedCall, Failure, Protocol, Resolver, Transport};
use gyre_endpoints::{ClientEndpoint, connect_protocol};

use crate::HeaderMap;
use crate::proto::{ClientConnection, ClientEvent};
use crate::websocket::connection::WebSocketConnection;
use crate::websocket::deflate::{check_deflate_answer, deflate_offer};
use crate::websocket::handshake::ClientHandshake;
use crate::websocket::message::Role;
use crate::websocket::session::{WebSocket, WebSocketHandler, WebSocketOptions, WebSocketProtocol};

/// A parsed `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketUrl {
    /// `wss://`: TLS.
    pub secure: bool,
    /// The host, without brackets for IPv6 literals.
    pub host: String,
    /// The port (80 / 443 unless given).
    pub port: u16,
    /// Path and query, `/` when empty.
    pub target: String,
}

/// A URL that is not `ws[s]://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidUrl(pub String);

impl fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid websocket URL: {}", self.0)
    }
}

impl std::error::Error for InvalidUrl {}

impl WebSocketUrl {
    /// Parses `ws://host[:port][/path][?query]` (and `wss://`); fragments are refused.
    ///
    /// ```
    /// use gyre_http::websocket::WebSocketUrl;
    ///
    /// let url = WebSocketUrl::parse("ws://[::1]:8080/chat?room=1").unwrap();
    /// assert_eq!((url.host.as_str(), url.port, url.target.as_str()), ("::1", 8080, "/chat?room=1"));
    /// assert_eq!(url.host_header(), "[::1]:8080");
    /// assert_eq!(WebSocketUrl::parse("wss://example.com").unwrap().endpoint_description(), "tls:example.com:443");
    /// ```
    pub fn parse(url: &str) -> Result<WebSocketUrl, InvalidUrl> {
        let bad = || InvalidUrl(url.to_owned());
        let (secure, rest) = if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else {
            return Err(bad());
        };
        if rest.contains('#') {
            return Err(bad());
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(port) => port.parse().map_err(|_| bad())?,
            None if secure => 443,
            None => 80,
        };
        let host_ok = |c: char| c.is_ascii_alphanumeric() || "-._~:%".contains(c);
        if host.is_empty() || authority.contains('@') || !host.chars().all(host_ok) || target.contains(' ') {
            return Err(bad());
        }
        Ok(WebSocketUrl {
            secure,
            host: host.to_owned(),
            port,
            target,
        })
    }

    /// The `Host` header: the host (bracketed if IPv6) and the port unless default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.secure { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// A gyre-endpoints client description: `tcp:HOST:PORT` or `tls:HOST:PORT`
    /// (colons of IPv6 literals escaped).
    pub fn endpoint_description(&self) -> String {
        let scheme = if self.secure { "tls" } else { "tcp" };
        format!("{scheme}:{}:{}", self.host.replace(':', "\\:"), self.port)
    }
}

struct Handshake {
    http: ClientConnection,
    handshake: ClientHandshake,
    request: Option<crate::RequestHead>,
    setup: Option<(WebSocketOptions, Box<dyn WebSocketHandler>)>,
    timer: Option<DelayedCall>,
}

enum State {
    Handshaking(Box<Handshake>),
    Open(WebSocketProtocol),
    Done,
}

/// The client side of one connection: sends the upgrade request, checks
/// the answer, then runs a [`WebSocketProtocol`] on the same transport.
/// The Deferred from [`opened`](Self::opened) fires with the handle, or
/// fails with the [`HandshakeError`](crate::websocket::HandshakeError),
/// the [`HttpError`](crate::HttpError), or the connection's loss.
pub struct WebSocketClientProtocol {
    state: State,
    resolver: Option<Resolver<WebSocket>>,
    opened: Option<Deferred<WebSocket>>,
}

impl WebSocketClientProtocol {
    /// A client for `url` offering `protocols`, with `handler` for the connection.
    pub fn new(
        url: &WebSocketUrl,
        protocols: &[&str],
        options: WebSocketOptions,
        handler: impl WebSocketHandler,
    ) -> Result<Self, crate::SendError> {
        Self::with_handshake(url, ClientHandshake::new(protocols), options, handler)
    }

    /// As [`new`](Self::new) with a given handshake (a fixed key in tests).
    pub fn with_handshake(
        url: &WebSocketUrl,
        handshake: ClientHandshake,
        options: WebSocketOptions,
        handler: impl WebSocketHandler,
    ) -> Result<Self, crate::SendError> {
        let handshake = match &options.deflate {
            Some(config) => handshake.offer_extensions(&deflate_offer(config)),
            None => handshake,
        };
        let request = handshake.request(&url.host_header(), &url.target)?;
        let (opened, resolver) = Deferred::new();
        Ok(WebSocketClientProtocol {
            state: State::Handshaking(Box::new(Handshake {
                http: ClientConnection::default(),
                handshake,
                request: Some(request),
                setup: Some((options, Box::new(handler))),
                timer: None,
            })),
            resolver: Some(resolver),
            opened: Some(opened),
        })
    }

    /// The Deferred of the open connection (once; later calls get a failed one).
    pub fn opened(&mut self) -> Deferred<WebSocket> {
        self.opened
            .take()
            .unwrap_or_else(|| Deferred::fail(crate::SendError::WrongState("opened() was taken")))
    }

    fn fail(&mut self, transport: &Transport, failure: Failure) {
        if let State::Handshaking(h) = &self.state
            && let Some(timer) = &h.timer
        {
            timer.cancel();
        }
        self.state = State::Done;
        if let Some(resolver) = self.resolver.take() {
            resolver.errback(failure);
        }
        transport.lose_connection();
    }

    fn step(&mut self, transport: &Transport) {
        let State::Handshaking(h) = &mut self.state else {
            return;
        };
        let Handshake {
            http,
            handshake,
            setup,
            timer,
            ..
        } = &mut **h;
        let outcome = loop {
            match http.poll_event() {
                None => return,
                Some(ClientEvent::Informational(_)) => continue,
                Some(ClientEvent::Response(head)) => match handshake.check_response(&head) {
                    Ok((protocol, extensions)) => {
                        let config = setup
                            .as_ref()
                            .and_then(|(options, _)| options.deflate)
                            .unwrap_or_default();
                        match check_deflate_answer(&extensions, &config) {
                            Ok(deflate) => break Ok((protocol, deflate)),
                            Err(error) => break Err(Failure::new(error)),
                        }
                    }
                    Err(error) => break Err(Failure::new(error)),
                },
                Some(ClientEvent::Error(error)) => break Err(Failure::new(error)),
                Some(other) => {
                    break Err(Failure::new(crate::SendError::WrongState(
                        if matches!(other, ClientEvent::Closed) {
                            "closed before the handshake"
                        } else {
                            "no 101 answer"
                        },
                    )));
                }
            }
        };
        let (protocol, deflate) = match outcome {
            Ok(agreed) => agreed,
            Err(failure) => return self.fail(transport, failure),
        };
        if let Some(timer) = timer.take() {
            timer.cancel();
        }
        let rest = http.take_upgraded().unwrap_or_default();
        let (options, handler) = setup.take().expect("set up once");
        let mut conn = WebSocketConnection::new(Role::Client, options.config);
        if let Some(params) = deflate {
            conn = conn.with_deflate(params);
        }
        let mut ws = WebSocketProtocol::new(conn, options, protocol, handler);
        let handle = ws.handle();
        ws.connection_made(transport);
        if let Some(resolver) = self.resolver.take() {
            resolver.callback(handle);
        }
        if !rest.is_empty() {
            ws.data_received(transport, &rest);
        }
        self.state = State::Open(ws);
    }
}

impl Protocol for WebSocketClientProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        let State::Handshaking(h) = &mut self.state else {
            return;
        };
        let Handshake {
            http,
            request,
            setup,
            timer,
            ..
        } = &mut **h;
        let sent = http
            .send_request(request.take().expect("sent once"))
            .and_then(|()| http.send_end(&HeaderMap::new()));
        if let Err(error) = sent {
            return self.fail(transport, Failure::new(error));
        }
        if let Some(bytes) = http.poll_transmit() {
            transport.write(&bytes);
        }
        if let Some((options, _)) = setup {
            let transport = transport.clone();
            *timer = Some(
                options
                    .clock
                    .call_later(options.open_timeout, move || transport.abort_connection()),
            );
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        match &mut self.state {
            State::Open(ws) => ws.data_received(transport, data),
            State::Handshaking(h) => {
                h.http.handle_input(data);
                self.step(transport);
            }
            State::Done => {}
        }
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        match &mut self.state {
            State::Open(ws) => ws.read_connection_lost(transport),
            State::Handshaking(h) => {
                h.http.handle_eof();
                self.step(transport);
                transport.lose_connection();
            }
            State::Done => transport.lose_connection(),
        }
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Open(mut ws) => ws.connection_lost(transport, reason),
            State::Handshaking(h) => {
                if let Some(timer) = h.timer {
                    timer.cancel();
                }
                if let Some(resolver) = self.resolver.take() {
                    resolver.errback(reason);
                }
            }
            State::Done => {}
        }
    }
}

/// Connects to `url` through `endpoint` (build it from
/// [`WebSocketUrl::endpoint_description`] for plain `tcp:`/`tls:`), runs
/// the handshake offering `protocols`, and fires with the handle once the
/// connection is open; `handler` hears everything after that.
pub fn connect(
    endpoint: &dyn ClientEndpoint,
    url: &str,
    protocols: &[&str],
    options: WebSocketOptions,
    handler: impl WebSocketHandler,
) -> Deferred<WebSocket> {
    let url = match WebSocketUrl::parse(url) {
        Ok(url) => url,
        Err(error) => return Deferred::fail(error),
    };
    let mut protocol = match WebSocketClientProtocol::new(&url, protocols, options, handler) {
        Ok(protocol) => protocol,
        Err(error) => return Deferred::fail(error),
    };
    let opened = protocol.opened();
    connect_protocol(endpoint, protocol).and_then(move |_connected| opened)
}
