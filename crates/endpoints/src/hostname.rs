//! [`HostnameEndpoint`]: connect to a host name with happy eyeballs
//! (RFC 8305, Twisted's `HostnameEndpoint`).
//!
//! The name is IDNA-encoded (`bücher.example` → `xn--bcher-kva.example`),
//! resolved through a [`HostResolver`], and the addresses are interleaved
//! by family starting with the family of the first one. One attempt starts
//! at once; each 300 ms (all timing on the reactor's [`Clock`], so tests
//! run it on a manual clock) another starts while earlier ones are still
//! pending, and a failure starts the next at once. The first connection
//! wins; the other attempts are cancelled, and a late connection that
//! slipped through is refused, so the user's factory builds exactly one
//! protocol.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use gyre_core::address::Address;
use gyre_core::clock::{Clock, ClockExt, DelayedCall};
use gyre_core::deferred::Deferred;
use gyre_core::errors::DnsLookupFailed;
use gyre_core::interfaces::ReactorTcp;
use gyre_core::{Factory, Failure, Protocol, Resolver, SharedFactory};

use crate::endpoint::{ClientEndpoint, Connection, ProtocolWrapper, dial, fire_once};
use crate::resolver::HostResolver;
use crate::spec::DEFAULT_TIMEOUT;

/// The delay between starting connection attempts (RFC 8305's recommended
/// "Connection Attempt Delay", Twisted's too).
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(300);

/// Connects to `host:port` by name (Twisted's `HostnameEndpoint`).
pub struct HostnameEndpoint<R> {
    reactor: R,
    resolver: Rc<dyn HostResolver>,
    host: String,
    port: u16,
    timeout: Duration,
    bind_address: Option<SocketAddr>,
    attempt_delay: Duration,
    wrap: Option<ProtocolWrapper>,
}

impl<R: ReactorTcp + Clock + Clone + 'static> HostnameEndpoint<R> {
    /// An endpoint for `host` (a name, or an IP literal which is used
    /// as is) and `port`, resolving through `resolver`.
    pub fn new(reactor: R, resolver: Rc<dyn HostResolver>, host: &str, port: u16) -> Self {
        HostnameEndpoint {
            reactor,
            resolver,
            host: host.to_owned(),
            port,
            timeout: DEFAULT_TIMEOUT,
            bind_address: None,
            attempt_delay: ATTEMPT_DELAY,
            wrap: None,
        }
    }

    /// Sets the timeout of each connection attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Binds the local end of each attempt first.
    pub fn bind_address(mut self, address: Option<SocketAddr>) -> Self {
        self.bind_address = address;
        self
    }

    /// Changes the delay between attempts (default [`ATTEMPT_DELAY`]).
    pub fn attempt_delay(mut self, delay: Duration) -> Self {
        self.attempt_delay = delay;
        self
    }

    /// Puts `wrap` between the user's protocol and each connection (TLS).
    pub fn wrap_protocol(mut self, wrap: ProtocolWrapper) -> Self {
        self.wrap = Some(wrap);
        self
    }

    /// The host name as given.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// `host` as ASCII for the resolver: IDNA (UTS 46) mapping and punycode.
/// Empty labels and control or space characters are refused (underscores,
/// common in service names, are kept).
pub fn ascii_host(host: &str) -> Result<String, Failure> {
    idna::domain_to_ascii(host)
        .ok()
        .filter(|ascii| {
            let name = ascii.strip_suffix('.').unwrap_or(ascii);
            !name.is_empty()
                && name
                    .split('.')
                    .all(|label| !label.is_empty() && label.len() <= 63)
                && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
        })
        .ok_or_else(|| {
            Failure::new(DnsLookupFailed::new(
                host,
                Some("not a valid (IDNA) host name".into()),
            ))
        })
}

/// `addresses` without duplicates, alternating families and starting with
/// the family of the first (RFC 8305 section 4).
pub fn interleave(addresses: &[SocketAddr]) -> Vec<SocketAddr> {
    let mut unique: Vec<SocketAddr> = Vec::new();
    for address in addresses {
        if !unique.contains(address) {
            unique.push(*address);
        }
    }
    let first_v6 = unique.first().is_some_and(SocketAddr::is_ipv6);
    let (mut first, mut second): (VecDeque<_>, VecDeque<_>) =
        unique.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(first.len() + second.len());
    loop {
        match (first.pop_front(), second.pop_front()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

impl<R: ReactorTcp + Clock + Clone + 'static> ClientEndpoint for HostnameEndpoint<R> {
    fn connect(&self, factory: SharedFactory) -> Deferred<Connection> {
        let literal = self.host.trim_start_matches('[').trim_end_matches(']');
        let addresses = match literal.parse::<IpAddr>() {
            Ok(ip) => Deferred::succeed(vec![SocketAddr::new(ip, self.port)]),
            Err(_) => match ascii_host(&self.host) {
                Ok(ascii) => self.resolver.resolve(&ascii, self.port),
                Err(failure) => return Deferred::fail(failure),
            },
        };
        let race = Race {
            reactor: self.reactor.clone(),
            host: self.host.clone(),
            timeout: self.timeout,
            bind_address: self.bind_address,
            delay: self.attempt_delay,
            factory: SharedFactory::new(Gate {
                factory,
                won: Cell::new(false),
            }),
            wrap: self.wrap.clone(),
        };
        addresses.and_then(move |addresses| race.run(addresses))
    }
}

/// The user's factory, building at most one protocol: the winner's.
struct Gate {
    factory: SharedFactory,
    won: Cell<bool>,
}

impl Factory for Gate {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        if self.won.replace(true) {
            return None;
        }
        self.factory.build_protocol(peer)
    }
    fn start_factory(&mut self) {
        self.factory.do_start();
    }
    fn stop_factory(&mut self) {
        self.factory.do_stop();
    }
}

/// What a race needs to start attempts.
struct Race<R> {
    reactor: R,
    host: String,
    timeout: Duration,
    bind_address: Option<SocketAddr>,
    delay: Duration,
    factory: SharedFactory,
    wrap: Option<ProtocolWrapper>,
}

/// The state of a race in progress.
struct RaceState<R> {
    race: Race<R>,
    pending: VecDeque<SocketAddr>,
    in_flight: Vec<(usize, Deferred<Connection>)>,
    next_id: usize,
    tried: usize,
    timer: Option<DelayedCall>,
    result: Option<Resolver<Connection>>,
}

type Shared<R> = Rc<RefCell<RaceState<R>>>;

impl<R: ReactorTcp + Clock + Clone + 'static> Race<R> {
    fn run(self, addresses: Vec<SocketAddr>) -> Deferred<Connection> {
        if addresses.is_empty() {
            let detail = Some("the name has no addresses".to_owned());
            return Deferred::fail(DnsLookupFailed::new(self.host, detail));
        }
        let state: Shared<R> = Rc::new(RefCell::new(RaceState {
            race: self,
            pending: interleave(&addresses).into(),
            in_flight: Vec::new(),
            next_id: 0,
            tried: 0,
            timer: None,
            result: None,
        }));
        let cancel_state = state.clone();
        let (deferred, resolver) = Deferred::with_canceller(move |_| finish(&cancel_state));
        state.borrow_mut().result = Some(resolver);
        start_next(&state);
        deferred
    }
}

/// Starts an attempt on the next address and arms the timer for the one after.
fn start_next<R: ReactorTcp + Clock + Clone + 'static>(state: &Shared<R>) {
    let (attempt, id) = {
        let mut s = state.borrow_mut();
        if let Some(timer) = s.timer.take() {
            timer.cancel();
        }
        let Some(address) = s.pending.pop_front() else {
            return;
        };
        if s.result.is_none() {
            return;
        }
        s.tried += 1;
        let id = s.next_id;
        s.next_id += 1;
        let race = &s.race;
        let attempt = dial(race.factory.clone(), race.wrap.clone(), |client| {
            race.reactor
                .connect_tcp(address, client, race.timeout, race.bind_address)
        });
        (attempt, id)
    };
    let weak = Rc::downgrade(state);
    attempt.add_both(move |result: Result<Connection, Failure>| {
        if let Some(state) = weak.upgrade() {
            attempt_done(&state, id, result.clone());
        }
        result
    });
    let mut s = state.borrow_mut();
    if s.result.is_none() || attempt.is_fired() {
        return; // settled synchronously
    }
    s.in_flight.push((id, attempt));
    if !s.pending.is_empty() {
        let weak = Rc::downgrade(state);
        let timer = s.race.reactor.call_later(s.race.delay, move || {
            if let Some(state) = weak.upgrade() {
                start_next(&state);
            }
        });
        s.timer = Some(timer);
    }
}

/// One attempt ended: the first success wins; when every address failed,
/// the race fails with the last failure.
fn attempt_done<R: ReactorTcp + Clock + Clone + 'static>(
    state: &Shared<R>,
    id: usize,
    result: Result<Connection, Failure>,
) {
    let resolver = {
        let mut s = state.borrow_mut();
        s.in_flight.retain(|(other, _)| *other != id);
        if s.result.is_none() {
            return; // already decided; this is a loser being cancelled
        }
        match &result {
            Ok(_) => s.result.take(),
            Err(_) => {
                if !s.pending.is_empty() {
                    drop(s);
                    start_next(state);
                    return;
                }
                if !s.in_flight.is_empty() {
                    return;
                }
                s.result.take()
            }
        }
    };
    finish(state);
    if let Some(resolver) = resolver {
        let result = result.map_err(|failure| {
            let s = state.borrow();
            failure.context(format!(
                "connecting to {}: all {} addresses failed",
                s.race.host, s.tried
            ))
        });
        fire_once(&resolver, result);
    }
}

/// Stops everything still running: the timer and the other attempts.
fn finish<R>(state: &Shared<R>) {
    let (timer, losers) = {
        let mut s = state.borrow_mut();
        s.result = None;
        s.pending.clear();
        (s.timer.take(), std::mem::take(&mut s.in_flight))
    };
    if let Some(timer) = timer {
        timer.cancel();
    }
    for (_, attempt) in losers {
        attempt.cancel();
    }
}
