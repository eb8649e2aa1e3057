//! Who may go where through the forward proxy, and who may use it at all.

use std::rc::Rc;

use gyre_core::{Deferred, Failure};

use crate::HeaderMap;
use crate::resource::{CredentialChecker, Unauthorized, basic_credentials};

/// Decides whether a forward-proxy request may go to `host:port`
/// (`tunnel` is true for `CONNECT`). Closures `Fn(&str, u16, bool) -> bool`
/// are policies.
pub trait AccessPolicy: 'static {
    /// Whether the request may proceed (`false` answers `403`).
    fn allows(&self, host: &str, port: u16, tunnel: bool) -> bool;
}

impl<F: Fn(&str, u16, bool) -> bool + 'static> AccessPolicy for F {
    fn allows(&self, host: &str, port: u16, tunnel: bool) -> bool {
        self(host, port, tunnel)
    }
}

/// The default policy: any host for plain requests, `CONNECT` only to the
/// ports listed (443 unless configured), hosts on the deny list refused.
///
/// Tunnels are limited to 443 as in Squid's `SSL_ports` and most proxies:
/// an open `CONNECT` lets anyone relay arbitrary TCP (SMTP spam, internal
/// services) through the proxy, while HTTPS needs nothing more.
#[derive(Debug, Clone)]
pub struct DefaultPolicy {
    connect_ports: Vec<u16>,
    denied_hosts: Vec<String>,
}

impl Default for DefaultPolicy {
    fn default() -> Self {
        DefaultPolicy {
            connect_ports: vec![443],
            denied_hosts: Vec::new(),
        }
    }
}

impl DefaultPolicy {
    /// Also allows tunnels to `port`.
    pub fn allow_connect_port(mut self, port: u16) -> Self {
        self.connect_ports.push(port);
        self
    }

    /// Refuses every request to `host` (compared without case).
    pub fn deny_host(mut self, host: &str) -> Self {
        self.denied_hosts.push(host.to_ascii_lowercase());
        self
    }
}

impl AccessPolicy for DefaultPolicy {
    fn allows(&self, host: &str, port: u16, tunnel: bool) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if self.denied_hosts.contains(&host) {
            return false;
        }
        !tunnel || self.connect_ports.contains(&port)
    }
}

/// Proxy authentication: `Proxy-Authorization: Basic` checked by a
/// pluggable [`CredentialChecker`], `407` with `Proxy-Authenticate` otherwise.
#[derive(Clone)]
pub struct ProxyAuth {
    realm: String,
    checker: Rc<dyn CredentialChecker>,
}

impl ProxyAuth {
    /// Basic authentication in `realm` through `checker`.
    pub fn basic(realm: &str, checker: Rc<dyn CredentialChecker>) -> ProxyAuth {
        ProxyAuth {
            realm: realm.replace(['"', '\\'], ""),
            checker,
        }
    }

    /// The `Proxy-Authenticate` challenge.
    pub fn challenge(&self) -> String {
        format!("Basic realm=\"{}\"", self.realm)
    }

    /// Checks the request's credentials: fires with the user, or fails
    /// with [`Unauthorized`] (missing, malformed or wrong).
    pub fn check(&self, headers: &HeaderMap) -> Deferred<String> {
        match basic_credentials(headers, "proxy-authorization") {
            Some((user, password)) => self.checker.check(&user, &password),
            None => Deferred::fail(Failure::new(Unauthorized)),
        }
    }
}
