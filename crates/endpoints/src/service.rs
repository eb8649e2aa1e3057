//! [`ClientService`]: keeps one client connection up through an endpoint,
//! reconnecting with exponential backoff after failures and losses
//! (Twisted's `ClientService`). Time comes from a [`Clock`] and jitter
//! from a [`Jitter`], so the whole schedule is reproducible in tests.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gyre_core::address::Address;
use gyre_core::clock::{Clock, ClockExt, DelayedCall};
use gyre_core::deferred::Deferred;
use gyre_core::{Factory, Failure, Protocol, Resolver, SharedFactory, Transport};

use crate::backoff::{Backoff, Jitter};
use crate::endpoint::{ClientEndpoint, Connection, fire_once};
use crate::errors::ServiceStopped;

/// Keeps a connection through `endpoint` alive. Clones share the service.
#[derive(Clone)]
pub struct ClientService {
    inner: Rc<RefCell<State>>,
}

struct State {
    endpoint: Rc<dyn ClientEndpoint>,
    factory: SharedFactory,
    clock: Rc<dyn Clock>,
    backoff: Backoff,
    jitter: Jitter,
    started: bool,
    stopped: bool,
    failures: u32,
    attempt: Option<Deferred<Connection>>,
    timer: Option<DelayedCall>,
    current: Option<Connection>,
    waiters: Vec<Resolver<Connection>>,
    stop_waiters: Vec<Resolver<()>>,
}

impl ClientService {
    /// A service connecting `factory`'s protocols through `endpoint`, with
    /// [`Backoff::CLIENT_SERVICE`]. Nothing happens before [`start`](Self::start).
    pub fn new(
        endpoint: Rc<dyn ClientEndpoint>,
        factory: SharedFactory,
        clock: Rc<dyn Clock>,
        jitter: Jitter,
    ) -> Self {
        ClientService {
            inner: Rc::new(RefCell::new(State {
                endpoint,
                factory,
                clock,
                backoff: Backoff::CLIENT_SERVICE,
                jitter,
                started: false,
                stopped: false,
                failures: 0,
                attempt: None,
                timer: None,
                current: None,
                waiters: Vec::new(),
                stop_waiters: Vec::new(),
            })),
        }
    }

    /// Sets the backoff policy.
    pub fn backoff(self, backoff: Backoff) -> Self {
        self.inner.borrow_mut().backoff = backoff;
        self
    }

    /// Starts connecting (once).
    pub fn start(&self) {
        if std::mem::replace(&mut self.inner.borrow_mut().started, true) {
            return;
        }
        self.attempt();
    }

    /// The connection, now if there is one, else when the next one is made.
    /// Fails with [`ServiceStopped`] if the service stops first.
    pub fn when_connected(&self) -> Deferred<Connection> {
        let mut state = self.inner.borrow_mut();
        if let Some(connection) = &state.current {
            return Deferred::succeed(connection.clone());
        }
        if state.stopped {
            return Deferred::fail(ServiceStopped::new());
        }
        let (deferred, resolver) = Deferred::new();
        state.waiters.push(resolver);
        deferred
    }

    /// Failed attempts since the last connection.
    pub fn failures(&self) -> u32 {
        self.inner.borrow().failures
    }

    /// Stops reconnecting and closes the connection; fires once it is closed.
    pub fn stop(&self) -> Deferred<()> {
        let (attempt, timer, waiters, current) = {
            let mut state = self.inner.borrow_mut();
            state.stopped = true;
            (
                state.attempt.take(),
                state.timer.take(),
                std::mem::take(&mut state.waiters),
                state.current.clone(),
            )
        };
        if let Some(timer) = timer {
            timer.cancel();
        }
        if let Some(attempt) = attempt {
            attempt.cancel();
        }
        for waiter in waiters {
            fire_once(&waiter, Err(Failure::new(ServiceStopped::new())));
        }
        let Some(current) = current else {
            return Deferred::succeed(());
        };
        let (deferred, resolver) = Deferred::new();
        self.inner.borrow_mut().stop_waiters.push(resolver);
        current.transport().lose_connection();
        deferred
    }

    fn attempt(&self) {
        let (endpoint, factory) = {
            let state = self.inner.borrow();
            if state.stopped {
                return;
            }
            let watched = SharedFactory::new(Watch {
                factory: state.factory.clone(),
                service: Rc::downgrade(&self.inner),
            });
            (state.endpoint.clone(), watched)
        };
        let attempt = endpoint.connect(factory);
        let service = Rc::downgrade(&self.inner);
        attempt.add_both(move |result: Result<Connection, Failure>| {
            if let Some(inner) = service.upgrade() {
                ClientService { inner }.attempt_done(result.clone());
            }
            result
        });
        if !attempt.is_fired() {
            self.inner.borrow_mut().attempt = Some(attempt);
        }
    }

    fn attempt_done(&self, result: Result<Connection, Failure>) {
        let mut state = self.inner.borrow_mut();
        state.attempt = None;
        if state.stopped {
            if let Ok(connection) = result {
                connection.transport().lose_connection();
            }
            return;
        }
        match result {
            Ok(connection) => {
                state.failures = 0;
                state.current = Some(connection.clone());
                let waiters = std::mem::take(&mut state.waiters);
                drop(state);
                for waiter in waiters {
                    fire_once(&waiter, Ok(connection.clone()));
                }
            }
            Err(reason) => {
                state.failures += 1;
                let failures = state.failures;
                drop(state);
                tracing::debug!(target: "gyre::endpoints", %reason, failures, "client service attempt failed");
                self.retry_later(failures);
            }
        }
    }

    fn retry_later(&self, attempt: u32) {
        let mut state = self.inner.borrow_mut();
        let sample = state.jitter.sample();
        let delay = state.backoff.delay(attempt, sample);
        let service = Rc::downgrade(&self.inner);
        let timer = state.clock.call_later(delay, move || {
            if let Some(inner) = service.upgrade() {
                inner.borrow_mut().timer = None;
                ClientService { inner }.attempt();
            }
        });
        state.timer = Some(timer);
    }

    fn connection_lost(&self, transport: &Transport) {
        let mut state = self.inner.borrow_mut();
        if !state
            .current
            .as_ref()
            .is_some_and(|current| current.transport().ptr_eq(transport))
        {
            return;
        }
        state.current = None;
        if state.stopped {
            let waiters = std::mem::take(&mut state.stop_waiters);
            drop(state);
            for waiter in waiters {
                fire_once(&waiter, Ok(()));
            }
            return;
        }
        drop(state);
        self.retry_later(1);
    }
}

/// Wraps the user's protocols so the service hears about lost connections.
struct Watch {
    factory: SharedFactory,
    service: Weak<RefCell<State>>,
}

impl Factory for Watch {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let inner = self.factory.build_protocol(peer)?;
        Some(Box::new(Watched {
            inner,
            service: self.service.clone(),
        }))
    }
    fn start_factory(&mut self) {
        self.factory.do_start();
    }
    fn stop_factory(&mut self) {
        self.factory.do_stop();
    }
}

struct Watched {
    inner: Box<dyn Protocol>,
    service: Weak<RefCell<State>>,
}

impl Protocol for Watched {
    fn connection_made(&mut self, transport: &Transport) {
        self.inner.connection_made(transport);
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.inner.data_received(transport, data);
    }
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        self.inner.connection_lost(transport, reason);
        if let Some(inner) = self.service.upgrade() {
            ClientService { inner }.connection_lost(transport);
        }
    }
    fn read_connection_lost(&mut self, transport: &Transport) {
        self.inner.read_connection_lost(transport);
    }
    fn write_connection_lost(&mut self, transport: &Transport) {
        self.inner.write_connection_lost(transport);
    }
    #[cfg(unix)]
    fn file_descriptors_received(&mut self, transport: &Transport, fds: Vec<std::os::fd::OwnedFd>) {
        self.inner.file_descriptors_received(transport, fds);
    }
}
