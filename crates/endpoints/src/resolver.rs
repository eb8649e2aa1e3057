//! Name resolution for [`HostnameEndpoint`](crate::HostnameEndpoint): the
//! pluggable [`HostResolver`] trait and its default, getaddrinfo on the
//! reactor's thread pool (getaddrinfo blocks, so it must not run on the
//! loop thread).

use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;

use gyre_core::deferred::Deferred;
use gyre_core::errors::DnsLookupFailed;
use gyre_reactor::Reactor;

/// Turns a host name into addresses (Twisted's `IHostnameResolver`).
pub trait HostResolver {
    /// The addresses of `host` (already IDNA-encoded ASCII) with `port`,
    /// in the order the system prefers. Fails with `DnsLookupFailed`.
    fn resolve(&self, host: &str, port: u16) -> Deferred<Vec<SocketAddr>>;
}

impl<T: HostResolver + ?Sized> HostResolver for Rc<T> {
    fn resolve(&self, host: &str, port: u16) -> Deferred<Vec<SocketAddr>> {
        (**self).resolve(host, port)
    }
}

/// The system resolver (`getaddrinfo` through `std::net::ToSocketAddrs`),
/// run on the reactor's thread pool.
#[derive(Clone)]
pub struct ThreadedResolver {
    reactor: Reactor,
}

impl ThreadedResolver {
    /// A resolver using `reactor`'s thread pool.
    pub fn new(reactor: Reactor) -> Self {
        ThreadedResolver { reactor }
    }
}

impl HostResolver for ThreadedResolver {
    fn resolve(&self, host: &str, port: u16) -> Deferred<Vec<SocketAddr>> {
        let host = host.to_owned();
        self.reactor.defer_to_thread(move || {
            (host.as_str(), port)
                .to_socket_addrs()
                .map(|addresses| addresses.collect::<Vec<_>>())
                .map_err(|error| DnsLookupFailed::new(host.clone(), Some(error.to_string())))
        })
    }
}

/// A resolver answering from a fixed table, for tests and for hosts files
/// of one's own; unknown names fail with `DnsLookupFailed`.
#[derive(Clone, Debug, Default)]
pub struct StaticResolver {
    entries: Vec<(String, Vec<std::net::IpAddr>)>,
}

impl StaticResolver {
    /// An empty table.
    pub fn new() -> Self {
        StaticResolver::default()
    }

    /// Adds `host` with `addresses`, in the order they will be returned.
    pub fn with(mut self, host: &str, addresses: &[std::net::IpAddr]) -> Self {
        self.entries.push((host.to_ascii_lowercase(), addresses.to_vec()));
        self
    }
}

impl HostResolver for StaticResolver {
    fn resolve(&self, host: &str, port: u16) -> Deferred<Vec<SocketAddr>> {
        let host = host.to_ascii_lowercase();
        match self.entries.iter().find(|(name, _)| *name == host) {
            Some((_, addresses)) => {
                Deferred::succeed(addresses.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
            }
            None => Deferred::fail(DnsLookupFailed::new(host, Some("not in the table".into()))),
        }
    }
}
