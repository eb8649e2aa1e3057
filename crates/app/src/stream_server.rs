//! [`StreamServerService`]: listens on a server endpoint while it runs
//! (Twisted's `StreamServerEndpointService`), and on stop shuts its
//! connections down the way its protocol wants ([`Drain`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gyre_core::connector::ListeningPort;
use gyre_core::{Address, Deferred, Failure, SharedFactory};
use gyre_endpoints::ServerEndpoint;

use crate::service::Service;
use crate::tracked::{ConnectionSet, Context, TrackedFactory};

/// What a stopping [`StreamServerService`] does with its open connections
/// once it no longer listens. Whatever it is, the application server
/// aborts the connections still open at the shutdown deadline.
#[derive(Clone)]
pub enum Drain {
    /// Close each connection once what was written to it is sent, with
    /// any producer it registered detached first (a registered producer
    /// would otherwise hold the close until it unregisters, which an
    /// endless one never does): for protocols with no request in flight
    /// worth finishing (echo, chargen).
    Close,
    /// Let connections end by themselves: for relays (port forwarding,
    /// SOCKS) whose transfers should finish.
    Wait,
    /// Ask the protocol: the function starts its own graceful shutdown
    /// (`HttpServer::shut_down` answers the requests in progress and then
    /// closes); the service then waits for the connections to end.
    With(Rc<dyn Fn()>),
}

/// Listens on an endpoint with a factory while it runs.
///
/// `privileged_start` listens (so a port below 1024 is bound before the
/// program gives up root) and fires once it listens or failed to; `stop`
/// stops listening, drains the connections and fires once the last one
/// has closed. Every connection runs inside a `connection` tracing span
/// naming the service, the protocol and the peer.
#[derive(Clone)]
pub struct StreamServerService {
    inner: Rc<Inner>,
}

/// Told the bound address once listening.
type Announce = Rc<dyn Fn(&Address)>;

struct Inner {
    endpoint: Rc<dyn ServerEndpoint>,
    factory: SharedFactory,
    context: Context,
    drain: Drain,
    on_listening: Option<Announce>,
    port: RefCell<Option<ListeningPort>>,
    listening: RefCell<Option<Deferred<()>>>,
    connections: Rc<ConnectionSet>,
    forced: Cell<bool>,
}

impl StreamServerService {
    /// Serves `factory`'s protocols on `endpoint`. `service` and `protocol`
    /// name it in logs (`"web"`, `"http"`); connections are closed on stop
    /// ([`Drain::Close`]) unless [`drain`](Self::drain) says otherwise.
    pub fn new(
        endpoint: Rc<dyn ServerEndpoint>,
        factory: SharedFactory,
        service: &str,
        protocol: &str,
    ) -> Self {
        StreamServerService {
            inner: Rc::new(Inner {
                endpoint,
                factory,
                context: Context {
                    service: service.into(),
                    protocol: protocol.into(),
                },
                drain: Drain::Close,
                on_listening: None,
                port: RefCell::new(None),
                listening: RefCell::new(None),
                connections: Rc::default(),
                forced: Cell::new(false),
            }),
        }
    }

    fn with(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Rc::try_unwrap(self.inner)
            .unwrap_or_else(|_| panic!("StreamServerService configured after it was shared"));
        change(&mut inner);
        StreamServerService {
            inner: Rc::new(inner),
        }
    }

    /// Sets what stopping does with open connections.
    ///
    /// # Panics
    /// When called on a clone (configure before sharing).
    pub fn drain(self, drain: Drain) -> Self {
        self.with(|inner| inner.drain = drain)
    }

    /// Calls `f` with the bound address once listening (to announce it).
    ///
    /// # Panics
    /// When called on a clone (configure before sharing).
    pub fn on_listening(self, f: impl Fn(&Address) + 'static) -> Self {
        self.with(|inner| inner.on_listening = Some(Rc::new(f)))
    }

    /// The address listened on, while listening.
    pub fn address(&self) -> Option<Address> {
        self.inner.port.borrow().as_ref().map(ListeningPort::host)
    }

    /// How many connections are open.
    pub fn open_connections(&self) -> usize {
        self.inner.connections.len()
    }

    /// Listens, once; later calls wait for the same outcome.
    fn listen(&self) -> Deferred<()> {
        if let Some(listening) = &*self.inner.listening.borrow() {
            return fork(listening);
        }
        let inner = self.inner.clone();
        let factory = SharedFactory::new(TrackedFactory {
            inner: inner.factory.clone(),
            set: inner.connections.clone(),
            context: inner.context.clone(),
        });
        let listening = inner.endpoint.listen(factory).map(move |port| {
            let address = port.host();
            tracing::info!(target: "gyre::app", service = %inner.context.service, %address, "listening");
            *inner.port.borrow_mut() = Some(port);
            if let Some(announce) = &inner.on_listening {
                announce(&address);
            }
        });
        let result = fork(&listening);
        *self.inner.listening.borrow_mut() = Some(listening);
        result
    }

    fn abort_all(&self) {
        for transport in self.inner.connections.transports() {
            transport.abort_connection();
        }
    }
}

/// A Deferred with the same outcome as `deferred`, which stays usable.
fn fork(deferred: &Deferred<()>) -> Deferred<()> {
    let (copy, resolver) = Deferred::new();
    deferred.add_both(move |result: Result<(), Failure>| {
        resolver.fire(result.clone());
        result
    });
    copy
}

impl Service for StreamServerService {
    fn privileged_start(&self) -> Deferred<()> {
        self.listen()
    }

    fn start(&self) -> Deferred<()> {
        self.listen()
    }

    fn stop(&self) -> Deferred<()> {
        // A listen still under way is stopped once it is done.
        let listened = match &*self.inner.listening.borrow() {
            Some(listening) => fork(listening),
            None => Deferred::succeed(()),
        };
        let inner = self.inner.clone();
        let stopped_listening = listened.then(move |_listened_or_failed| {
            let port = inner.port.borrow_mut().take();
            match port {
                Some(port) => port.stop_listening(),
                None => Deferred::succeed(()),
            }
        });
        let service = self.clone();
        stopped_listening.then(move |result| {
            if let Err(failure) = result {
                tracing::warn!(target: "gyre::app", %failure, "stopping listening failed");
            }
            let inner = &service.inner;
            let open = inner.connections.len();
            if open > 0 {
                tracing::info!(target: "gyre::app", service = %inner.context.service, open, "draining connections");
            }
            if inner.forced.get() {
                service.abort_all();
            } else {
                match &inner.drain {
                    Drain::Close => {
                        for transport in inner.connections.transports() {
                            transport.unregister_producer();
                            transport.lose_connection();
                        }
                    }
                    Drain::Wait => {}
                    Drain::With(shut_down) => shut_down(),
                }
            }
            inner.connections.when_idle()
        })
    }

    fn force_stop(&self) {
        self.inner.forced.set(true);
        let open = self.inner.connections.len();
        if open > 0 {
            tracing::warn!(
                target: "gyre::app",
                service = %self.inner.context.service,
                open,
                "shutdown deadline passed: aborting connections"
            );
        }
        self.abort_all();
    }
}
