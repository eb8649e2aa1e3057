//! The HTTP side of the `glib_web_status` and `gtk_web_status` examples:
//! gyre's HTTP server counting the requests it serves, and a listening
//! port that can be closed and opened again on the same address.
//!
//! * `GET /` (any path) answers `requests served: N` and counts;
//! * `GET /quit` answers, then calls `reactor.stop()`: the host loop quits
//!   once the reactor's shutdown is done (the reactor → host direction).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;

use gyre_core::connector::ListeningPort;
use gyre_core::{Deferred, Failure, SharedFactory};
use gyre_http::StatusCode;
use gyre_http::server::{HttpServer, Request, Response};
use gyre_reactor::{ListenOptions, Reactor};

/// The counting server and its (optional) listening port.
pub struct StatusServer {
    reactor: Reactor,
    address: Cell<SocketAddr>,
    port: RefCell<Option<ListeningPort>>,
    served: Rc<Cell<u64>>,
    factory: SharedFactory,
}

impl StatusServer {
    /// A server for `address` (port 0: any free port, kept for restarts);
    /// `on_count` runs on the reactor's thread after each request counted.
    pub fn new(reactor: &Reactor, address: SocketAddr, on_count: impl Fn(u64) + 'static) -> Rc<StatusServer> {
        let served = Rc::new(Cell::new(0u64));
        let (count, stopper) = (served.clone(), reactor.clone());
        let handler = move |request: Request, response: Response| {
            if request.head().target.path() == "/quit" {
                let _ = response.send(StatusCode::OK, "text/plain; charset=utf-8", b"stopping\n");
                let _ = stopper.stop();
                return;
            }
            count.set(count.get() + 1);
            let text = format!("requests served: {}\n", count.get());
            let _ = response.send(StatusCode::OK, "text/plain; charset=utf-8", text.as_bytes());
            on_count(count.get());
        };
        let server = HttpServer::new(Rc::new(reactor.clone()), handler);
        Rc::new(StatusServer {
            reactor: reactor.clone(),
            address: Cell::new(address),
            port: RefCell::default(),
            served,
            factory: SharedFactory::new(server),
        })
    }

    /// Starts listening; returns the address (the real port the first
    /// time, when asked for port 0; the same one after that).
    pub fn start(&self) -> Result<SocketAddr, Failure> {
        let port = self.reactor.listen_tcp_with(
            self.address.get(),
            self.factory.clone(),
            ListenOptions::default(),
        )?;
        let bound = port
            .host()
            .socket_addr()
            .ok_or_else(|| Failure::msg("not an IP address"))?;
        self.address.set(bound);
        *self.port.borrow_mut() = Some(port);
        Ok(bound)
    }

    /// Stops listening (connections already open go on); fires when the
    /// socket is closed.
    pub fn stop(&self) -> Deferred<()> {
        match self.port.borrow_mut().take() {
            Some(port) => port.stop_listening(),
            None => gyre_core::deferred::succeed(()),
        }
    }

    /// Whether the port is open.
    pub fn is_listening(&self) -> bool {
        self.port.borrow().is_some()
    }

    /// Requests served so far.
    pub fn served(&self) -> u64 {
        self.served.get()
    }
}

/// The address from the first argument, or 127.0.0.1:8080.
pub fn address_from_args() -> Result<SocketAddr, String> {
    match std::env::args().nth(1) {
        None => Ok("127.0.0.1:8080".parse().expect("a valid address")),
        Some(text) => text
            .parse()
            .map_err(|_| format!("usage: {{example}} [ADDRESS:PORT], not {text:?}")),
    }
}
