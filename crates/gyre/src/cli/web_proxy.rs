//! `gyre web --proxy PREFIX=URL`: reverse proxies mounted in front of the
//! static files.
//!
//! A request whose path is `PREFIX` or starts with `PREFIX/` goes to the
//! [`ReverseProxy`] for that prefix (the longest matching prefix wins),
//! which sees the rest of the path; every other request goes to the static
//! files. Each proxy sits in its own small resource tree (a chain of
//! [`Node`]s down to the proxy, a leaf), so the path is split, decoded and
//! re-encoded exactly as in any gyre site.

use std::rc::Rc;

use gyre_endpoints::ThreadedResolver;
use gyre_http::client::{Agent, EndpointConnector, HttpClient};
use gyre_http::proxy::ReverseProxy;
use gyre_http::resource::{Node, Resource, Site};
use gyre_http::server::{Handler, Request, Response};
use gyre_reactor::Reactor;
use gyre_tls::TlsClientConfig;

/// Parses `PREFIX=URL`: the prefix normalized to `/a/b` (no trailing
/// slash, not the root), the URL checked by [`ReverseProxy::new`] later.
pub fn parse_proxy(value: &str) -> Result<(String, String), String> {
    let (prefix, url) = value
        .split_once('=')
        .ok_or_else(|| format!("--proxy wants PREFIX=URL, not {value:?}"))?;
    let segments: Vec<&str> = prefix.split('/').filter(|segment| !segment.is_empty()).collect();
    let plain = |segment: &&str| {
        segment
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
            && *segment != "."
            && *segment != ".."
    };
    if segments.is_empty() || !segments.iter().all(plain) {
        return Err(format!(
            "--proxy {value:?}: the prefix must be a path like /api made of letters, digits and -._~"
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "--proxy {value:?}: the upstream must be an http:// or https:// URL"
        ));
    }
    Ok((format!("/{}", segments.join("/")), url.to_owned()))
}

/// Static files with reverse proxies in front.
pub struct Router<H> {
    /// `(prefix, site holding the proxy at that prefix)`, longest first.
    routes: Vec<(String, Site)>,
    fallback: H,
}

impl<H: Handler> Handler for Router<H> {
    fn handle(&self, request: Request, response: Response) {
        let path = request.head().target.path();
        let route = self.routes.iter().find(|(prefix, _)| {
            path.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        });
        match route {
            Some((_, site)) => site.handle(request, response),
            None => self.fallback.handle(request, response),
        }
    }
}

/// Builds the router for `proxies` (`(prefix, url)` from [`parse_proxy`])
/// in front of `fallback`, forwarding through an Agent on `reactor`.
pub fn router<H: Handler>(
    reactor: &Reactor,
    proxies: &[(String, String)],
    fallback: H,
) -> Result<Router<H>, String> {
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let tls = TlsClientConfig::builder()
        .webpki_roots()
        .build()
        .map_err(|failure| failure.to_string())?;
    let connector = Rc::new(EndpointConnector::new(reactor.clone(), resolver, tls));
    let agent: Rc<dyn HttpClient> = Rc::new(Agent::builder(Rc::new(reactor.clone()), connector).build());
    let mut routes = Vec::new();
    for (prefix, url) in proxies {
        let proxy = ReverseProxy::new(agent.clone(), url)
            .map_err(|error| format!("--proxy {prefix}={url}: {error}"))?;
        let mut tree: Rc<dyn Resource> = Rc::new(proxy);
        for segment in prefix.split('/').filter(|segment| !segment.is_empty()).rev() {
            tree = Rc::new(Node::new().with_child(segment, tree));
        }
        routes.push((prefix.clone(), Site::new(Rc::new(reactor.clone()), tree)));
    }
    routes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    Ok(Router { routes, fallback })
}
