//! The PROXY protocol as a server endpoint wrapper: [`ProxyProtocolEndpoint`]
//! wraps any [`ServerEndpoint`], and [`register_haproxy`] teaches an
//! [`EndpointRegistry`] the `haproxy:` prefix (Twisted's
//! `haproxy:tcp:8080`), whose own options come before the inner
//! description:
//!
//! ```text
//! haproxy:tcp:8080:interface=127.0.0.1
//! haproxy:timeout=3:maxHeader=1024:unix:/run/app.sock
//! ```
//!
//! | option | meaning |
//! |---|---|
//! | `timeout=SECONDS` | how long a connection may take to send its header (default 10) |
//! | `maxHeader=BYTES` | the largest version 2 header accepted (default 4096) |
//!
//! The header is read by the factory handed to the inner endpoint, so it
//! comes *inside* whatever that endpoint adds: `haproxy:ssl:...` would
//! expect the header inside TLS, which is not what proxies send. For TLS
//! after the header, listen on a plain endpoint with
//! `server_factory(gyre_tls::wrap_server_factory(config, app), options)`.
//! A keyword may appear only once in the whole string (the grammar's rule),
//! so the wrapper's options cannot share a name with the inner endpoint's.

use std::rc::Rc;

use gyre_core::connector::ListeningPort;
use gyre_core::deferred::Deferred;
use gyre_core::{Clock, SharedFactory};
use gyre_endpoints::args::Arguments;
use gyre_endpoints::{Description, EndpointRegistry, ParseError, ServerEndpoint};
use gyre_reactor::Reactor;

use crate::proxy_protocol::server::{ProxyProtocolOptions, server_factory};

/// A server endpoint whose connections start with a PROXY header: each
/// accepted connection's protocol sees the client and destination from the
/// header as its transport's `peer()` and `host()`.
#[derive(Clone)]
pub struct ProxyProtocolEndpoint {
    inner: Rc<dyn ServerEndpoint>,
    options: ProxyProtocolOptions,
}

impl ProxyProtocolEndpoint {
    /// Wraps `inner`.
    pub fn new(inner: Rc<dyn ServerEndpoint>, options: ProxyProtocolOptions) -> Self {
        ProxyProtocolEndpoint { inner, options }
    }
}

impl ServerEndpoint for ProxyProtocolEndpoint {
    fn listen(&self, factory: SharedFactory) -> Deferred<ListeningPort> {
        self.inner.listen(server_factory(factory, self.options.clone()))
    }
}

/// Parses the wrapper's own options (the keyword arguments before the
/// inner description).
fn parse_options(reactor: &Reactor, description: &Description) -> Result<ProxyProtocolOptions, ParseError> {
    let clock: Rc<dyn Clock> = Rc::new(reactor.clone());
    let mut options = ProxyProtocolOptions::new(clock);
    let mut args = Arguments::new(description);
    if let Some(timeout) = args.timeout("timeout")? {
        options = options.header_timeout(timeout);
    }
    if let Some(bytes) = args.optional::<usize>("maxHeader", "a number of bytes")? {
        options = options.max_v2_header(bytes);
    }
    args.finish()?;
    Ok(options)
}

/// Registers the `haproxy:` server prefix on `registry`. The inner
/// description is parsed by the same registry, so prefixes registered later
/// work inside it too.
///
/// ```
/// use gyre_endpoints::EndpointRegistry;
/// use gyre_reactor::Reactor;
///
/// let mut registry = EndpointRegistry::default();
/// gyre_protocols::proxy_protocol::register_haproxy(&mut registry);
/// let reactor = Reactor::new().unwrap();
/// assert!(registry.server_from_string(&reactor, "haproxy:timeout=3:tcp:0:interface=127.0.0.1").is_ok());
/// let error = registry.server_from_string(&reactor, "haproxy:tcp:0:interfase=127.0.0.1").err().unwrap();
/// assert_eq!(error.position(), 14, "errors point into the whole string");
/// ```
pub fn register_haproxy(registry: &mut EndpointRegistry) {
    registry.register_server_wrapper("haproxy", |reactor, description, inner| {
        let options = parse_options(reactor, description)?;
        Ok(Rc::new(ProxyProtocolEndpoint::new(inner, options)) as Rc<dyn ServerEndpoint>)
    });
}
