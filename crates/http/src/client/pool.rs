//! The persistent connection pool: idle keep-alive connections per
//! [`PoolKey`], a limit on open connections per key with a FIFO queue of
//! waiting requests, and idle expiry on the Clock.
//!
//! Twisted's `HTTPConnectionPool` keeps idle connections but lets any
//! number be opened; this pool also bounds them, as browsers do, so a
//! burst of requests to one host queues instead of opening hundreds of
//! sockets.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use std::time::Duration;

use gyre_core::{Address, Clock, ClockExt, Deferred, DelayedCall, Failure, Resolver, SharedFactory};
use gyre_endpoints::Connection;

use crate::client::connection::{ConnHandle, ConnHooks, Timeouts};
use crate::client::error::{ClientError, TimeoutPhase};
use crate::client::url::Origin;

/// What connections are interchangeable: the same origin reached the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    /// The server the requests are for (for a plain HTTP proxy: the proxy).
    pub origin: Origin,
    /// The proxy a CONNECT tunnel to `origin` goes through, if any.
    pub tunnel: Option<Origin>,
}

/// Opens connections for the pool: TCP or TLS by name, through a proxy
/// tunnel, or in memory in tests.
pub trait Connector {
    /// Connects a protocol from `factory` to where `key` says. The Deferred
    /// fires once the protocol's `connection_made` ran (for TLS, the
    /// handshake may still be going on: bytes written wait for it).
    fn connect(&self, key: &PoolKey, factory: SharedFactory) -> Deferred<Connection>;
}

/// Limits of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Open connections per key; further requests queue (default 6, as browsers).
    pub max_per_host: usize,
    /// How long an idle connection is kept (default 240 s, Twisted's `cachedConnectionTimeout`).
    pub idle_timeout: Duration,
    /// Whether connections are kept for reuse at all (Twisted's `persistent`).
    pub persistent: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_per_host: 6,
            idle_timeout: Duration::from_secs(240),
            persistent: true,
        }
    }
}

/// A connection handed to one request.
pub(crate) struct Lease {
    pub(crate) conn: ConnHandle,
    /// It carried a request before: it may have gone stale.
    pub(crate) reused: bool,
}

#[derive(Default)]
struct Host {
    idle: Vec<(ConnHandle, DelayedCall)>,
    open: usize,
    waiters: VecDeque<(u64, Resolver<Lease>)>,
}

struct State {
    hosts: HashMap<PoolKey, Host>,
    next_waiter: u64,
}

pub(crate) struct Pool {
    state: RefCell<State>,
    clock: Rc<dyn Clock>,
    connector: Rc<dyn Connector>,
    timeouts: Timeouts,
    config: PoolConfig,
    me: Weak<Pool>,
}

struct Hooks {
    pool: Weak<Pool>,
    key: PoolKey,
}

impl ConnHooks for Hooks {
    fn idle(&self, conn: ConnHandle) {
        match self.pool.upgrade() {
            Some(pool) => pool.release(&self.key, conn),
            None => conn.close(),
        }
    }
    fn closed(&self, conn: &ConnHandle) {
        if let Some(pool) = self.pool.upgrade() {
            pool.closed(&self.key, conn);
        }
    }
}

impl Pool {
    pub(crate) fn new(
        clock: Rc<dyn Clock>,
        connector: Rc<dyn Connector>,
        timeouts: Timeouts,
        config: PoolConfig,
    ) -> Rc<Pool> {
        Rc::new_cyclic(|me| Pool {
            state: RefCell::new(State {
                hosts: HashMap::new(),
                next_waiter: 0,
            }),
            clock,
            connector,
            timeouts,
            config,
            me: me.clone(),
        })
    }

    /// A connection for `key`: an idle one unless `fresh`, a new one under
    /// the limit, or one released later (queued).
    pub(crate) fn acquire(&self, key: &PoolKey, fresh: bool) -> Deferred<Lease> {
        let mut state = self.state.borrow_mut();
        let id = state.next_waiter;
        let host = state.hosts.entry(key.clone()).or_default();
        if !fresh && let Some((conn, timer)) = host.idle.pop() {
            timer.cancel();
            return Deferred::succeed(Lease { conn, reused: true });
        }
        if host.open < self.config.max_per_host.max(1) {
            host.open += 1;
            drop(state);
            return self.connect(key);
        }
        let pool = self.me.clone();
        let waiter_key = key.clone();
        let (deferred, resolver) = Deferred::with_canceller(move |_| {
            if let Some(pool) = pool.upgrade()
                && let Some(host) = pool.state.borrow_mut().hosts.get_mut(&waiter_key)
            {
                host.waiters.retain(|(waiter, _)| *waiter != id);
            }
        });
        host.waiters.push_back((id, resolver));
        state.next_waiter += 1;
        deferred
    }

    /// Opens a connection already counted in `open`.
    fn connect(&self, key: &PoolKey) -> Deferred<Lease> {
        let hooks: Rc<dyn ConnHooks> = Rc::new(Hooks {
            pool: self.me.clone(),
            key: key.clone(),
        });
        let conn = ConnHandle::new(self.clock.clone(), self.timeouts, Some(hooks));
        let mut once = Some(conn.protocol());
        let factory = SharedFactory::new(gyre_core::protocol_factory(move |_: &Address| {
            once.take().expect("one protocol per connection attempt")
        }));
        let attempt: Rc<RefCell<Option<Deferred<()>>>> = Rc::default();
        let cancel_attempt = attempt.clone();
        let (deferred, resolver) = Deferred::with_canceller(move |_: &Resolver<Lease>| {
            if let Some(attempt) = cancel_attempt.borrow_mut().take() {
                attempt.cancel();
            }
        });
        let timer = self.timeouts.connect.map(|delay| {
            let (resolver, attempt) = (resolver.clone(), attempt.clone());
            self.clock.call_later(delay, move || {
                resolver.errback(ClientError::Timeout(TimeoutPhase::Connect));
                if let Some(attempt) = attempt.borrow_mut().take() {
                    attempt.cancel();
                }
            })
        });
        let done = self.connector.connect(key, factory).then(move |result| {
            if let Some(timer) = timer {
                timer.cancel();
            }
            match result {
                Ok(_) if resolver.is_fired() => conn.close(),
                Ok(_) => resolver.callback(Lease { conn, reused: false }),
                Err(failure) => {
                    conn.lost(failure.clone());
                    if !resolver.is_fired() {
                        resolver.errback(failure);
                    }
                }
            }
        });
        if !done.is_fired() {
            *attempt.borrow_mut() = Some(done);
        }
        deferred
    }

    /// A connection finished its exchange and can be reused.
    fn release(&self, key: &PoolKey, conn: ConnHandle) {
        if !self.config.persistent {
            conn.close();
            return;
        }
        let waiter = {
            let mut state = self.state.borrow_mut();
            let host = state.hosts.entry(key.clone()).or_default();
            match host.waiters.pop_front() {
                Some((_, resolver)) => Some(resolver),
                None => {
                    let (pool, expired, key) = (self.me.clone(), conn.clone(), key.clone());
                    let timer = self.clock.call_later(self.config.idle_timeout, move || {
                        if let Some(pool) = pool.upgrade() {
                            pool.expire(&key, &expired);
                        }
                    });
                    host.idle.push((conn.clone(), timer));
                    None
                }
            }
        };
        if let Some(resolver) = waiter {
            resolver.callback(Lease { conn, reused: true });
        }
    }

    fn expire(&self, key: &PoolKey, conn: &ConnHandle) {
        if let Some(host) = self.state.borrow_mut().hosts.get_mut(key) {
            host.idle.retain(|(idle, _)| !idle.ptr_eq(conn));
        }
        conn.close();
    }

    /// A connection is gone: forget it, and open one for a waiter.
    fn closed(&self, key: &PoolKey, conn: &ConnHandle) {
        let waiter = {
            let mut state = self.state.borrow_mut();
            let Some(host) = state.hosts.get_mut(key) else {
                return;
            };
            host.idle.retain(|(idle, timer)| {
                let keep = !idle.ptr_eq(conn);
                if !keep {
                    timer.cancel();
                }
                keep
            });
            host.open = host.open.saturating_sub(1);
            let waiter = if host.open < self.config.max_per_host.max(1) {
                host.waiters.pop_front()
            } else {
                None
            };
            if waiter.is_some() {
                host.open += 1;
            } else if host.open == 0 && host.idle.is_empty() && host.waiters.is_empty() {
                state.hosts.remove(key);
            }
            waiter
        };
        if let Some((_, resolver)) = waiter {
            let (pool, key) = (self.me.clone(), key.clone());
            self.connect(&key)
                .then(move |result: Result<Lease, Failure>| match result {
                    // The waiter gave up meanwhile: the connection goes idle.
                    Ok(lease) if resolver.is_fired() => match pool.upgrade() {
                        Some(pool) => pool.release(&key, lease.conn),
                        None => lease.conn.close(),
                    },
                    other => resolver.fire(other),
                });
        }
    }

    /// Idle connections to `key` right now.
    pub(crate) fn idle_count(&self, key: &PoolKey) -> usize {
        self.state
            .borrow()
            .hosts
            .get(key)
            .map_or(0, |host| host.idle.len())
    }

    /// Open connections to `key` (idle, busy or connecting).
    pub(crate) fn open_count(&self, key: &PoolKey) -> usize {
        self.state.borrow().hosts.get(key).map_or(0, |host| host.open)
    }

    /// Closes every idle connection (Twisted's `closeCachedConnections`).
    pub(crate) fn close_idle(&self) {
        let idle: Vec<_> = {
            let mut state = self.state.borrow_mut();
            state
                .hosts
                .values_mut()
                .flat_map(|host| host.idle.drain(..))
                .collect()
        };
        for (conn, timer) in idle {
            timer.cancel();
            conn.close();
        }
    }
}
