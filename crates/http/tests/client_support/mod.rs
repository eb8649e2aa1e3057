//! In-memory network for client tests: a [`Connector`] whose connections
//! are `connect_pair` pumps to server protocols built per connection.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use gyre_core::{Deferred, Failure, Protocol, Resolver, SharedFactory, Transport};
use gyre_endpoints::Connection;
use gyre_http::client::{Connector, PoolKey};
use gyre_testing::{Pump, connect_pair};

type Server = Box<dyn Protocol>;
type MemPump = Pump<Server, Box<dyn Protocol>>;

/// The in-memory network.
pub struct MemNet {
    build: Box<dyn Fn(&PoolKey) -> Server>,
    pumps: RefCell<Vec<MemPump>>,
    added: RefCell<Vec<MemPump>>,
    /// Every connection attempt, in order.
    pub attempts: RefCell<Vec<PoolKey>>,
    /// When set, attempts wait in `held` until `release_held`.
    pub hold: Cell<bool>,
    held: RefCell<Vec<(PoolKey, SharedFactory, Resolver<Connection>)>>,
}

impl MemNet {
    pub fn new(build: impl Fn(&PoolKey) -> Server + 'static) -> Rc<MemNet> {
        Rc::new(MemNet {
            build: Box::new(build),
            pumps: RefCell::default(),
            added: RefCell::default(),
            attempts: RefCell::default(),
            hold: Cell::new(false),
            held: RefCell::default(),
        })
    }

    /// Connections made so far.
    pub fn connections(&self) -> usize {
        self.pumps.borrow().len() + self.added.borrow().len()
    }

    /// Delivers bytes every way until nothing moves.
    pub fn pump(&self) {
        loop {
            let mut pumps = std::mem::take(&mut *self.pumps.borrow_mut());
            let mut moved = false;
            for pump in &mut pumps {
                moved |= pump.pump();
            }
            let added = std::mem::take(&mut *self.added.borrow_mut());
            moved |= !added.is_empty();
            pumps.extend(added);
            *self.pumps.borrow_mut() = pumps;
            if !moved {
                return;
            }
        }
    }

    /// The server-side transport of connection `index`.
    pub fn server_transport(&self, index: usize) -> Transport {
        self.pump_ref(index, |pump| pump.server_transport())
    }

    /// Whether the client stopped reading connection `index`.
    pub fn client_reading_paused(&self, index: usize) -> bool {
        self.pump_ref(index, |pump| pump.client_end().is_reading_paused())
    }

    /// Whether connection `index` is still up.
    pub fn is_connected(&self, index: usize) -> bool {
        self.pump_ref(index, |pump| pump.is_connected())
    }

    fn pump_ref<T>(&self, index: usize, f: impl FnOnce(&MemPump) -> T) -> T {
        let pumps = self.pumps.borrow();
        let added = self.added.borrow();
        f(pumps
            .iter()
            .chain(added.iter())
            .nth(index)
            .expect("no such connection"))
    }

    /// Completes the held attempts.
    pub fn release_held(&self) {
        let held = std::mem::take(&mut *self.held.borrow_mut());
        for (key, factory, resolver) in held {
            if !resolver.is_fired() {
                resolver.fire(self.make(&key, &factory));
            }
        }
    }

    fn make(&self, key: &PoolKey, factory: &SharedFactory) -> Result<Connection, Failure> {
        let client = factory
            .build_protocol(&gyre_testing::default_host())
            .ok_or_else(|| Failure::msg("factory refused"))?;
        let pump = connect_pair((self.build)(key), client);
        let transport = pump.client_transport();
        self.added.borrow_mut().push(pump);
        Ok(Connection::new(transport))
    }
}

impl Connector for MemNet {
    fn connect(&self, key: &PoolKey, factory: SharedFactory) -> Deferred<Connection> {
        self.attempts.borrow_mut().push(key.clone());
        if self.hold.get() {
            let (deferred, resolver) = Deferred::new();
            self.held.borrow_mut().push((key.clone(), factory, resolver));
            return deferred;
        }
        match self.make(key, &factory) {
            Ok(connection) => Deferred::succeed(connection),
            Err(failure) => Deferred::fail(failure),
        }
    }
}

/// What a scripted server does with each request head it sees.
#[derive(Clone, Debug)]
pub enum Act {
    /// Writes these bytes.
    Answer(Vec<u8>),
    /// Closes the connection without answering.
    Close,
    /// Says nothing.
    Hang,
}

/// A raw server answering request heads (bodies are not expected) in turn.
pub struct Scripted {
    acts: VecDeque<Act>,
    seen: Vec<u8>,
    /// Every request received, shared with the test.
    pub log: Rc<RefCell<Vec<String>>>,
}

impl Scripted {
    pub fn new(acts: impl IntoIterator<Item = Act>, log: Rc<RefCell<Vec<String>>>) -> Self {
        Scripted {
            acts: acts.into_iter().collect(),
            seen: Vec::new(),
            log,
        }
    }
}

impl Protocol for Scripted {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.seen.extend_from_slice(data);
        while let Some(end) = self.seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head: Vec<u8> = self.seen.drain(..end + 4).collect();
            self.log
                .borrow_mut()
                .push(String::from_utf8_lossy(&head).into_owned());
            match self.acts.pop_front().unwrap_or(Act::Hang) {
                Act::Answer(bytes) => transport.write(&bytes),
                Act::Close => transport.lose_connection(),
                Act::Hang => {}
            }
        }
    }
}

/// `HTTP/1.1 200 OK` with `body` and a Content-Length.
pub fn ok(body: &str) -> Act {
    Act::Answer(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes())
}

/// Answers a request head.
pub type Route = Rc<dyn Fn(&str) -> Vec<u8>>;

/// Answers each request with `route(head)`; request bodies with a
/// `Content-Length` are skipped; every head and body is logged.
pub struct Routed {
    route: Route,
    seen: Vec<u8>,
    log: Rc<RefCell<Vec<String>>>,
}

impl Routed {
    pub fn new(route: Route, log: Rc<RefCell<Vec<String>>>) -> Self {
        Routed {
            route,
            seen: Vec::new(),
            log,
        }
    }
}

impl Protocol for Routed {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.seen.extend_from_slice(data);
        while let Some(end) = self.seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&self.seen[..end + 4]).into_owned();
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if self.seen.len() < end + 4 + length {
                return;
            }
            let body = String::from_utf8_lossy(&self.seen[end + 4..end + 4 + length]).into_owned();
            self.seen.drain(..end + 4 + length);
            self.log.borrow_mut().push(format!("{head}{body}"));
            transport.write(&(self.route)(&head));
        }
    }
}

/// A response with `status`, extra header lines and a body.
pub fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}
