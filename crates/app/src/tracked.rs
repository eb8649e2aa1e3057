//! The connections of a [`StreamServerService`](crate::StreamServerService):
//! each protocol its factory builds is wrapped so that the service knows
//! which connections are open (to wait for them, close them or abort them
//! when it stops) and so that everything the protocol logs carries the
//! connection's context — service, protocol and peer address — through a
//! `tracing` span entered around each of its callbacks.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use gyre_core::{Address, Factory, Failure, Protocol, Resolver, SharedFactory, Transport};
use tracing::Span;

/// The open connections of one service.
#[derive(Default)]
pub(crate) struct ConnectionSet {
    next_id: Cell<u64>,
    open: RefCell<BTreeMap<u64, Transport>>,
    /// Fired when no connection is left.
    idle_waiters: RefCell<Vec<Resolver<()>>>,
}

impl ConnectionSet {
    pub(crate) fn len(&self) -> usize {
        self.open.borrow().len()
    }

    /// The transports open now (a copy, so closing them may call back in).
    pub(crate) fn transports(&self) -> Vec<Transport> {
        self.open.borrow().values().cloned().collect()
    }

    /// Fires once no connection is open (now, if none is).
    pub(crate) fn when_idle(&self) -> gyre_core::Deferred<()> {
        if self.len() == 0 {
            return gyre_core::Deferred::succeed(());
        }
        let (deferred, resolver) = gyre_core::Deferred::new();
        self.idle_waiters.borrow_mut().push(resolver);
        deferred
    }

    fn opened(&self, transport: &Transport) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.open.borrow_mut().insert(id, transport.clone());
        id
    }

    fn closed(&self, id: u64) {
        let now_idle = {
            let mut open = self.open.borrow_mut();
            open.remove(&id).is_some() && open.is_empty()
        };
        if now_idle {
            let waiters = std::mem::take(&mut *self.idle_waiters.borrow_mut());
            for waiter in waiters {
                if !waiter.is_fired() {
                    waiter.callback(());
                }
            }
        }
    }
}

/// What the spans of a service's connections say about it.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    pub(crate) service: Rc<str>,
    pub(crate) protocol: Rc<str>,
}

/// Wraps a factory's protocols in [`Tracked`].
pub(crate) struct TrackedFactory {
    pub(crate) inner: SharedFactory,
    pub(crate) set: Rc<ConnectionSet>,
    pub(crate) context: Context,
}

impl Factory for TrackedFactory {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let span = tracing::info_span!(
            target: "gyre::app",
            "connection",
            service = %self.context.service,
            protocol = %self.context.protocol,
            peer = %peer,
        );
        let inner = span.in_scope(|| self.inner.build_protocol(peer))?;
        Some(Box::new(Tracked {
            inner,
            set: self.set.clone(),
            id: None,
            span,
        }))
    }

    fn start_factory(&mut self) {
        self.inner.do_start();
    }

    fn stop_factory(&mut self) {
        self.inner.do_stop();
    }
}

/// One connection's protocol, counted and logged in its span.
struct Tracked {
    inner: Box<dyn Protocol>,
    set: Rc<ConnectionSet>,
    id: Option<u64>,
    span: Span,
}

impl Protocol for Tracked {
    fn connection_made(&mut self, transport: &Transport) {
        let _entered = self.span.enter();
        self.id = Some(self.set.opened(transport));
        tracing::debug!(target: "gyre::app", "connection opened");
        self.inner.connection_made(transport);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        let _entered = self.span.enter();
        self.inner.data_received(transport, data);
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        let _entered = self.span.enter();
        tracing::debug!(target: "gyre::app", %reason, "connection closed");
        self.inner.connection_lost(transport, reason);
        if let Some(id) = self.id.take() {
            self.set.closed(id);
        }
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        let _entered = self.span.enter();
        self.inner.read_connection_lost(transport);
    }

    fn write_connection_lost(&mut self, transport: &Transport) {
        let _entered = self.span.enter();
        self.inner.write_connection_lost(transport);
    }

    fn file_descriptors_received(&mut self, transport: &Transport, fds: Vec<OwnedFd>) {
        let _entered = self.span.enter();
        self.inner.file_descriptors_received(transport, fds);
    }
}

impl Drop for Tracked {
    /// Dropped without `connection_lost` (its reactor went away): it is
    /// not open any more either.
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.set.closed(id);
        }
    }
}
