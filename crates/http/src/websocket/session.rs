//! The adapter: [`WebSocketProtocol`], a gyre `Protocol` driving a
//! [`WebSocketConnection`] for a [`WebSocketHandler`], and [`WebSocket`],
//! the handle the handler sends through (now or later, from timers and
//! Deferreds).
//!
//! Timers run on the [`Clock`] of the [`WebSocketOptions`]: the close
//! timeout aborts a transport whose peer never answers our close frame,
//! and the optional keep-alive pings the peer when it is quiet and fails
//! the connection (1011) when a ping interval passes with no sign of life.
//!
//! Backpressure: the protocol registers itself as the transport's push
//! producer. When the transport's write buffer passes its high-water mark
//! the handle reports [`WebSocket::is_writable`] false and reading from the
//! peer pauses (an echo server cannot be made to buffer without bound);
//! when it drains, reading resumes and [`WebSocketHandler::on_writable`]
//! is called. Sends that would push the buffer past
//! [`WebSocketOptions::max_outgoing`] fail instead of queueing.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use gyre_core::producer::{Producer, PushProducer};
use gyre_core::{Clock, ClockExt, DelayedCall, Failure, Protocol, Transport};

use crate::error::SendError;
use crate::websocket::connection::WebSocketConnection;
use crate::websocket::deflate::DeflateConfig;
use crate::websocket::error::{CloseCode, WsError};
use crate::websocket::message::{CloseFrame, Event, Message, WebSocketConfig};

/// Limits and timers of a WebSocket connection.
#[derive(Clone)]
pub struct WebSocketOptions {
    /// The clock the timers run on (the reactor, or a `ManualClock` in tests).
    pub clock: Rc<dyn Clock>,
    /// Limits on what the peer may send.
    pub config: WebSocketConfig,
    /// How long to wait for the peer's close frame after sending ours
    /// before dropping the connection. Default 10 s (Python `websockets`' default).
    pub close_timeout: Duration,
    /// Client side: how long the server may take to answer the opening
    /// handshake before the connection is dropped. Default 10 s.
    pub open_timeout: Duration,
    /// Ping the peer this often; if a whole interval passes without a
    /// frame from it, fail with 1011. `None` (the default) never pings.
    pub ping_interval: Option<Duration>,
    /// The most bytes the transport may hold unsent before sends fail
    /// with [`SendError::WrongState`]. Default 16 MiB.
    pub max_outgoing: usize,
    /// permessage-deflate: offered (client) or accepted when offered
    /// (server) with these preferences. `None` (the default) leaves it off.
    pub deflate: Option<DeflateConfig>,
}

impl WebSocketOptions {
    /// Defaults on `clock`.
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        WebSocketOptions {
            clock,
            config: WebSocketConfig::default(),
            close_timeout: Duration::from_secs(10),
            open_timeout: Duration::from_secs(10),
            ping_interval: None,
            max_outgoing: 16 << 20,
            deflate: None,
        }
    }
}

/// What the application does with a WebSocket connection. Every method
/// has a default that does nothing, so a handler implements only what it needs.
pub trait WebSocketHandler: 'static {
    /// The connection is open; `ws` may be kept and used from anywhere.
    fn on_open(&mut self, ws: &WebSocket) {
        let _ = ws;
    }
    /// A whole text message.
    fn on_text(&mut self, ws: &WebSocket, text: String) {
        let _ = (ws, text);
    }
    /// A whole binary message.
    fn on_binary(&mut self, ws: &WebSocket, data: Vec<u8>) {
        let _ = (ws, data);
    }
    /// A pong arrived (the ping was answered automatically already).
    fn on_pong(&mut self, ws: &WebSocket, data: Vec<u8>) {
        let _ = (ws, data);
    }
    /// The transport's write buffer drained after [`WebSocket::is_writable`] was false.
    fn on_writable(&mut self, ws: &WebSocket) {
        let _ = ws;
    }
    /// The connection failed: a protocol violation (our close frame with
    /// its code was sent), a close or keep-alive timeout, or a transport
    /// lost without a close handshake. `on_close` follows.
    fn on_error(&mut self, ws: &WebSocket, error: &WsError) {
        let _ = (ws, error);
    }
    /// The connection is closed, called exactly once, last. `frame` is the
    /// peer's close frame, or code 1006 when none arrived; `clean` says
    /// whether both close frames were exchanged.
    fn on_close(&mut self, ws: &WebSocket, frame: CloseFrame, clean: bool) {
        let _ = (ws, frame, clean);
    }
}

impl<H: WebSocketHandler + ?Sized> WebSocketHandler for Box<H> {
    fn on_open(&mut self, ws: &WebSocket) {
        (**self).on_open(ws);
    }
    fn on_text(&mut self, ws: &WebSocket, text: String) {
        (**self).on_text(ws, text);
    }
    fn on_binary(&mut self, ws: &WebSocket, data: Vec<u8>) {
        (**self).on_binary(ws, data);
    }
    fn on_pong(&mut self, ws: &WebSocket, data: Vec<u8>) {
        (**self).on_pong(ws, data);
    }
    fn on_writable(&mut self, ws: &WebSocket) {
        (**self).on_writable(ws);
    }
    fn on_error(&mut self, ws: &WebSocket, error: &WsError) {
        (**self).on_error(ws, error);
    }
    fn on_close(&mut self, ws: &WebSocket, frame: CloseFrame, clean: bool) {
        (**self).on_close(ws, frame, clean);
    }
}

struct Shared {
    conn: RefCell<WebSocketConnection>,
    transport: RefCell<Option<Transport>>,
    options: WebSocketOptions,
    protocol: Option<String>,
    close_timer: RefCell<Option<DelayedCall>>,
    ping_timer: RefCell<Option<DelayedCall>>,
    heard: Cell<bool>,
    paused: Cell<bool>,
    peer_close: RefCell<Option<CloseFrame>>,
    handler: RefCell<Option<Box<dyn WebSocketHandler>>>,
    pending_close: RefCell<Option<(CloseFrame, bool)>>,
}

/// The handle a [`WebSocketHandler`] sends through. Cheap to clone; every
/// send fails with [`SendError::Closed`] once our close frame went out or
/// the connection is gone.
#[derive(Clone)]
pub struct WebSocket {
    shared: Weak<Shared>,
}

impl WebSocket {
    fn with_conn(
        &self,
        f: impl FnOnce(&mut WebSocketConnection) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        let shared = self.shared.upgrade().ok_or(SendError::Closed)?;
        let transport = shared.transport.borrow().clone().ok_or(SendError::Closed)?;
        if transport.is_closed() {
            return Err(SendError::Closed);
        }
        if transport.buffered_len() > shared.options.max_outgoing {
            return Err(SendError::WrongState("the outgoing queue is full"));
        }
        f(&mut shared.conn.borrow_mut())?;
        flush(&shared);
        Ok(())
    }

    /// Sends a text message.
    pub fn send_text(&self, text: &str) -> Result<(), SendError> {
        self.with_conn(|conn| conn.send_text(text))
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: &[u8]) -> Result<(), SendError> {
        self.with_conn(|conn| conn.send_binary(data))
    }

    /// Sends one fragment of a message (see [`WebSocketConnection::send_fragment`]).
    pub fn send_fragment(&self, text: bool, data: &[u8], fin: bool) -> Result<(), SendError> {
        self.with_conn(|conn| conn.send_fragment(text, data, fin))
    }

    /// Sends a ping (at most 125 bytes); the pong arrives at [`WebSocketHandler::on_pong`].
    pub fn send_ping(&self, data: &[u8]) -> Result<(), SendError> {
        self.with_conn(|conn| conn.send_ping(data))
    }

    /// Starts the close handshake (see [`WebSocketConnection::close`]);
    /// the transport is dropped after the close timeout if the peer never answers.
    pub fn close(&self, code: Option<CloseCode>, reason: &str) -> Result<(), SendError> {
        self.with_conn(|conn| conn.close(code, reason))
    }

    /// Whether the transport accepts more without passing its high-water mark.
    pub fn is_writable(&self) -> bool {
        self.shared.upgrade().is_some_and(|shared| !shared.paused.get())
    }

    /// The subprotocol the handshake chose.
    pub fn protocol(&self) -> Option<String> {
        self.shared.upgrade().and_then(|shared| shared.protocol.clone())
    }

    /// The transport (addresses, TLS session), while connected.
    pub fn transport(&self) -> Option<Transport> {
        self.shared
            .upgrade()
            .and_then(|shared| shared.transport.borrow().clone())
    }

    /// Whether the connection is open: no close frame sent or received, transport up.
    pub fn is_open(&self) -> bool {
        self.shared.upgrade().is_some_and(|shared| {
            let conn = shared.conn.borrow();
            !conn.is_close_sent() && !conn.is_close_received() && shared.transport.borrow().is_some()
        })
    }
}

/// Writes what the machine has to send; closes the transport when the
/// machine is done; arms the close timeout after our close frame.
fn flush(shared: &Rc<Shared>) {
    let Some(transport) = shared.transport.borrow().clone() else {
        return;
    };
    let (wants_close, close_sent) = {
        let mut conn = shared.conn.borrow_mut();
        if let Some(bytes) = conn.poll_transmit() {
            transport.write(&bytes);
        }
        (conn.wants_close(), conn.is_close_sent())
    };
    if wants_close {
        transport.lose_connection();
    } else if close_sent && shared.close_timer.borrow().is_none() {
        let weak = Rc::downgrade(shared);
        let timer = shared
            .options
            .clock
            .call_later(shared.options.close_timeout, move || {
                if let Some(shared) = weak.upgrade() {
                    shared.conn.borrow_mut().handle_close_timeout();
                    if let Some(transport) = shared.transport.borrow().clone() {
                        transport.abort_connection();
                    }
                }
            });
        *shared.close_timer.borrow_mut() = Some(timer);
    }
}

fn schedule_ping(shared: &Rc<Shared>) {
    let Some(interval) = shared.options.ping_interval else {
        return;
    };
    let weak = Rc::downgrade(shared);
    let timer = shared.options.clock.call_later(interval, move || {
        let Some(shared) = weak.upgrade() else { return };
        let ws = WebSocket {
            shared: Rc::downgrade(&shared),
        };
        if !shared.heard.replace(false) {
            let _ = ws.close(Some(CloseCode::INTERNAL_ERROR), "keepalive ping timeout");
            return;
        }
        if ws.send_ping(b"gyre").is_ok() {
            schedule_ping(&shared);
        }
    });
    *shared.ping_timer.borrow_mut() = Some(timer);
}

/// Runs `f` on the handler with no borrow held. A call made while the
/// handler is already running (a send that closed a synchronous transport)
/// is dropped, except the final `on_close`, which is delivered when the
/// running call returns.
fn with_handler(shared: &Rc<Shared>, f: impl FnOnce(&mut dyn WebSocketHandler, &WebSocket)) {
    let Some(mut handler) = shared.handler.borrow_mut().take() else {
        return;
    };
    let ws = WebSocket {
        shared: Rc::downgrade(shared),
    };
    f(&mut *handler, &ws);
    if let Some((frame, clean)) = shared.pending_close.borrow_mut().take() {
        handler.on_close(&ws, frame, clean);
        return;
    }
    *shared.handler.borrow_mut() = Some(handler);
}

fn deliver(shared: &Rc<Shared>) {
    loop {
        let event = shared.conn.borrow_mut().poll_event();
        let Some(event) = event else { break };
        match event {
            Event::Message(Message::Text(text)) => with_handler(shared, |h, ws| h.on_text(ws, text)),
            Event::Message(Message::Binary(data)) => with_handler(shared, |h, ws| h.on_binary(ws, data)),
            Event::Ping(_) => {}
            Event::Pong(data) => with_handler(shared, |h, ws| h.on_pong(ws, data)),
            Event::Close(frame) => *shared.peer_close.borrow_mut() = Some(frame),
            Event::Error(error) => with_handler(shared, |h, ws| h.on_error(ws, &error)),
        }
        flush(shared);
    }
    flush(shared);
}

/// The gyre `Protocol` of one WebSocket connection (after the handshake):
/// what a server hands the connection to in `Response::upgrade`, and what
/// a client runs after its handshake.
pub struct WebSocketProtocol {
    shared: Rc<Shared>,
}

impl WebSocketProtocol {
    /// A protocol speaking as `conn`'s role, with the negotiated `protocol`.
    pub fn new(
        conn: WebSocketConnection,
        options: WebSocketOptions,
        protocol: Option<String>,
        handler: impl WebSocketHandler,
    ) -> Self {
        let shared = Rc::new(Shared {
            conn: RefCell::new(conn),
            transport: RefCell::new(None),
            options,
            protocol,
            close_timer: RefCell::new(None),
            ping_timer: RefCell::new(None),
            heard: Cell::new(true),
            paused: Cell::new(false),
            peer_close: RefCell::new(None),
            handler: RefCell::new(Some(Box::new(handler))),
            pending_close: RefCell::new(None),
        });
        WebSocketProtocol { shared }
    }

    /// A handle to this connection (usable before `connection_made`).
    pub fn handle(&self) -> WebSocket {
        WebSocket {
            shared: Rc::downgrade(&self.shared),
        }
    }
}

struct Flow(Weak<Shared>);

impl PushProducer for Flow {
    fn pause_producing(&self) {
        if let Some(shared) = self.0.upgrade() {
            shared.paused.set(true);
            if let Some(transport) = shared.transport.borrow().as_ref() {
                transport.pause_reading();
            }
        }
    }

    fn resume_producing(&self) {
        if let Some(shared) = self.0.upgrade() {
            shared.paused.set(false);
            let transport = shared.transport.borrow().clone();
            if let Some(transport) = transport {
                transport.resume_reading();
                with_handler(&shared, |h, ws| h.on_writable(ws));
            }
        }
    }

    fn stop_producing(&self) {}
}

impl Protocol for WebSocketProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        *self.shared.transport.borrow_mut() = Some(transport.clone());
        let flow = Producer::Push(Rc::new(Flow(Rc::downgrade(&self.shared))));
        if let Err(error) = transport.register_producer(flow) {
            tracing::debug!(target: "gyre::http::websocket", %error, "no backpressure: a producer is registered");
        }
        schedule_ping(&self.shared);
        with_handler(&self.shared, |h, ws| h.on_open(ws));
        flush(&self.shared);
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        self.shared.heard.set(true);
        self.shared.conn.borrow_mut().handle_input(data);
        deliver(&self.shared);
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.shared.conn.borrow_mut().handle_eof();
        deliver(&self.shared);
        transport.lose_connection();
    }

    fn connection_lost(&mut self, transport: &Transport, _reason: Failure) {
        for timer in [&self.shared.close_timer, &self.shared.ping_timer] {
            if let Some(timer) = timer.borrow_mut().take() {
                timer.cancel();
            }
        }
        transport.unregister_producer();
        self.shared.conn.borrow_mut().handle_eof();
        deliver(&self.shared);
        self.shared.transport.borrow_mut().take();
        let clean = {
            let conn = self.shared.conn.borrow();
            conn.is_close_sent() && conn.is_close_received() && conn.error().is_none()
        };
        let frame = self.shared.peer_close.borrow_mut().take().unwrap_or(CloseFrame {
            code: CloseCode::ABNORMAL,
            reason: String::new(),
        });
        if self.shared.handler.borrow().is_some() {
            with_handler(&self.shared, |h, ws| h.on_close(ws, frame, clean));
            self.shared.handler.borrow_mut().take();
        } else {
            *self.shared.pending_close.borrow_mut() = Some((frame, clean));
        }
    }
}
