//! [`ReverseProxy`]: a leaf resource (and a handler) that forwards to one
//! upstream origin (Twisted's `ReverseProxyResource`).

use std::rc::Rc;

use gyre_core::Address;

use crate::client::{ClientError, HttpClient, RequestUrl, Scheme};
use crate::resource::{Reply, Resource, SiteRequest};
use crate::server::{Handler, Request, Response};
use crate::{HeaderMap, RequestHead};

use super::exchange::{Outgoing, body_framing, forward};
use super::headers::{Forwarding, add_forwarding, client_address, strip_hop_by_hop};

/// The name this proxy gives itself in `Via` unless told otherwise.
pub const DEFAULT_VIA_NAME: &str = "gyre";

/// Forwards requests to `http://host:port[/prefix]`.
///
/// As a [`Resource`] it is a leaf: mounted at `/api`, a request for
/// `/api/users?id=3` goes to `prefix + /users?id=3` (the rest of the path,
/// re-encoded from its decoded segments, and the query as sent). As a
/// [`Handler`] it forwards the whole request target after the prefix.
///
/// Unlike Twisted's, which buffers the whole request body and rewrites only
/// `Host`, bodies stream both ways with backpressure, hop-by-hop fields are
/// removed, the forwarding fields are added, and an unreachable or broken
/// upstream is a `502` (a timeout a `504`) rather than a hung request.
pub struct ReverseProxy {
    client: Rc<dyn HttpClient>,
    scheme: Scheme,
    authority: String,
    prefix: String,
    preserve_host: bool,
    proto: String,
    via_name: Rc<str>,
}

impl ReverseProxy {
    /// A proxy to `upstream` (`http://host:port[/prefix]`; `https` works
    /// too when `client` can open TLS connections) through `client`, usually
    /// an [`Agent`](crate::client::Agent) whose [`Timeouts`](crate::client::Timeouts)
    /// decide when the upstream is declared timed out (`504`).
    pub fn new(client: Rc<dyn HttpClient>, upstream: &str) -> Result<ReverseProxy, ClientError> {
        let url = RequestUrl::parse(upstream)?;
        if url.path_and_query().contains('?') {
            return Err(ClientError::InvalidUrl(format!(
                "{upstream}: an upstream takes no query"
            )));
        }
        Ok(ReverseProxy {
            client,
            scheme: url.scheme(),
            authority: url.origin().authority(),
            prefix: url.path().trim_end_matches('/').to_owned(),
            preserve_host: false,
            proto: "http".to_owned(),
            via_name: Rc::from(DEFAULT_VIA_NAME),
        })
    }

    /// Keeps the client's `Host` instead of writing the upstream's (for
    /// upstreams that serve several virtual hosts). Default: rewritten, like
    /// Twisted.
    pub fn preserve_host(mut self, preserve: bool) -> Self {
        self.preserve_host = preserve;
        self
    }

    /// The scheme written in `X-Forwarded-Proto` (`https` when this server
    /// listens with TLS). Default `http`.
    pub fn forwarded_proto(mut self, proto: &str) -> Self {
        self.proto = proto.to_owned();
        self
    }

    /// The name written in `Via` (default [`DEFAULT_VIA_NAME`]).
    pub fn via_name(mut self, name: &str) -> Self {
        self.via_name = Rc::from(name);
        self
    }

    /// Forwards a request whose upstream path (after the prefix) is `rest`
    /// (starting with `/`).
    fn forward(
        &self,
        head: &RequestHead,
        peer: &Address,
        body: crate::server::RequestBody,
        rest: &str,
        reply: Reply,
    ) {
        let target = format!(
            "{}://{}{}{}",
            self.scheme.as_str(),
            self.authority,
            self.prefix,
            rest
        );
        let url = match RequestUrl::parse(&target) {
            Ok(url) => url,
            Err(error) => {
                tracing::info!(target: "gyre::proxy", %error, "request path cannot be forwarded");
                let _ = reply.send(crate::StatusCode::BAD_REQUEST, "text/plain", b"400 Bad Request\n");
                return;
            }
        };
        let mut headers = head.headers.clone();
        let framing = body_framing(&headers);
        let client_host = headers.get_str("host").map(str::to_owned);
        strip_hop_by_hop(&mut headers);
        headers.remove("content-length");
        if !self.preserve_host {
            headers.remove("host");
        }
        add_forwarding(
            &mut headers,
            &Forwarding {
                client: client_address(peer),
                proto: &self.proto,
                host: client_host,
                version: head.version,
                via_name: &self.via_name,
            },
        );
        let outgoing = Outgoing {
            method: head.method.clone(),
            url,
            headers,
            framing,
            body,
            via_name: self.via_name.clone(),
        };
        forward(&*self.client, outgoing, reply);
    }
}

/// Percent-encodes a decoded path segment (RFC 3986 `pchar`s stay).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The upstream path for what is left of the walk: `/` + the segments,
/// re-encoded, + `?query`.
fn rest_of(postpath: &[String], query: Option<&str>) -> String {
    let mut rest = String::from("/");
    rest.push_str(
        &postpath
            .iter()
            .map(|s| encode_segment(s))
            .collect::<Vec<_>>()
            .join("/"),
    );
    if let Some(query) = query {
        rest.push('?');
        rest.push_str(query);
    }
    rest
}

impl Resource for ReverseProxy {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, request: &SiteRequest, reply: Reply) {
        let rest = rest_of(request.postpath(), request.query());
        self.forward(
            request.head(),
            request.peer(),
            request.body().clone(),
            &rest,
            reply,
        );
    }
}

impl Handler for ReverseProxy {
    fn handle(&self, request: Request, response: Response) {
        let target = &request.head().target;
        let mut rest = target.path().to_owned();
        if !rest.starts_with('/') {
            rest.insert(0, '/');
        }
        if let Some(query) = target.query() {
            rest.push('?');
            rest.push_str(query);
        }
        let reply = Reply::from_response(response);
        self.forward(
            request.head(),
            request.peer(),
            request.body().clone(),
            &rest,
            reply,
        );
    }
}

/// A copy of `headers` without hop-by-hop fields (for callers building
/// their own forwarding).
pub fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut copy = headers.clone();
    strip_hop_by_hop(&mut copy);
    copy
}
