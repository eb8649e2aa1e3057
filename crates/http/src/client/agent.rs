//! [`Agent`]: issues requests over pooled connections (Twisted's `Agent`
//! with an `HTTPConnectionPool`).

use std::rc::Rc;

use gyre_core::{Clock, Deferred, Failure};

use crate::client::connection::Timeouts;
use crate::client::error::ClientError;
use crate::client::pool::{Connector, Lease, Pool, PoolConfig, PoolKey};
use crate::client::request::RequestBody;
use crate::client::response::Response;
use crate::client::url::{RequestUrl, Scheme};
use crate::{ErrorKind, HeaderMap, Method, RequestHead};

/// Something that answers requests: the [`Agent`] and the wrappers around
/// it (redirects, decoding, cookies) all implement it, so wrappers stack.
pub trait HttpClient {
    /// Sends a request; the Deferred fires with the response head (the body
    /// streams after). Cancelling it aborts the request.
    fn request(
        &self,
        method: Method,
        url: &RequestUrl,
        headers: HeaderMap,
        body: RequestBody,
    ) -> Deferred<Response>;
}

/// How [`Agent`] behaves; see [`Agent::builder`].
pub struct AgentBuilder {
    clock: Rc<dyn Clock>,
    connector: Rc<dyn Connector>,
    timeouts: Timeouts,
    pool: PoolConfig,
    proxy: Option<RequestUrl>,
    user_agent: Option<String>,
}

impl AgentBuilder {
    /// Sets the deadlines.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the pool limits.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Sends every request through the HTTP proxy at `proxy`
    /// (`http://host:port`): plain HTTP requests in absolute form, HTTPS
    /// through a `CONNECT` tunnel (the connector opens it).
    pub fn proxy(mut self, proxy: RequestUrl) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Sends `User-Agent` with every request that has none.
    pub fn user_agent(mut self, value: &str) -> Self {
        self.user_agent = Some(value.to_owned());
        self
    }

    /// The agent.
    pub fn build(self) -> Agent {
        Agent {
            pool: Pool::new(self.clock, self.connector, self.timeouts, self.pool),
            proxy: self.proxy,
            user_agent: self.user_agent,
        }
    }
}

/// An HTTP/1.1 client over a persistent connection pool.
///
/// Requests to the same scheme, host and port reuse idle keep-alive
/// connections; at most [`PoolConfig::max_per_host`] are open at once and
/// further requests queue. A request on a reused connection that the
/// server had closed (no byte of a response came back) is retried once on
/// a new connection when it is idempotent and its body can be replayed.
pub struct Agent {
    pool: Rc<Pool>,
    proxy: Option<RequestUrl>,
    user_agent: Option<String>,
}

impl Agent {
    /// An agent opening connections with `connector`, timing with `clock`.
    pub fn builder(clock: Rc<dyn Clock>, connector: Rc<dyn Connector>) -> AgentBuilder {
        AgentBuilder {
            clock,
            connector,
            timeouts: Timeouts::default(),
            pool: PoolConfig::default(),
            proxy: None,
            user_agent: None,
        }
    }

    /// Parses `url` and sends the request; see [`HttpClient::request`].
    pub fn request_str(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: RequestBody,
    ) -> Deferred<Response> {
        match RequestUrl::parse(url) {
            Ok(url) => self.request(method, &url, headers, body),
            Err(error) => Deferred::fail(error),
        }
    }

    /// Idle connections kept for `key`.
    pub fn idle_connections(&self, key: &PoolKey) -> usize {
        self.pool.idle_count(key)
    }

    /// Connections open for `key` (idle, busy or being made).
    pub fn open_connections(&self, key: &PoolKey) -> usize {
        self.pool.open_count(key)
    }

    /// Closes the idle connections (Twisted's `closeCachedConnections`).
    pub fn close_idle_connections(&self) {
        self.pool.close_idle();
    }

    /// The pool key a request to `url` uses with this agent's proxy setting.
    pub fn pool_key(&self, url: &RequestUrl) -> PoolKey {
        match (&self.proxy, url.scheme()) {
            (None, _) => PoolKey {
                origin: url.origin().clone(),
                tunnel: None,
            },
            (Some(proxy), Scheme::Http) => PoolKey {
                origin: proxy.origin().clone(),
                tunnel: None,
            },
            (Some(proxy), Scheme::Https) => PoolKey {
                origin: url.origin().clone(),
                tunnel: Some(proxy.origin().clone()),
            },
        }
    }

    fn head(
        &self,
        method: &Method,
        url: &RequestUrl,
        mut headers: HeaderMap,
        body: &RequestBody,
    ) -> Result<RequestHead, ClientError> {
        let absolute = self.proxy.is_some() && url.scheme() == Scheme::Http;
        let target = if absolute {
            url.as_str().to_owned()
        } else {
            url.path_and_query()
        };
        let invalid = |error: &dyn std::fmt::Display| ClientError::InvalidRequest(error.to_string());
        let mut head = RequestHead::new(method.clone(), &target).map_err(|e| invalid(&e))?;
        headers.remove("content-length");
        headers.remove("transfer-encoding");
        if !headers.contains("host") {
            headers
                .insert("Host", url.origin().authority())
                .map_err(|e| invalid(&e))?;
        }
        if let Some(agent) = &self.user_agent
            && !headers.contains("user-agent")
        {
            headers.insert("User-Agent", agent).map_err(|e| invalid(&e))?;
        }
        let expects_body = *method == Method::POST || *method == Method::PUT || method.as_str() == "PATCH";
        match body.length() {
            Some(0) if body.is_empty() && !expects_body => {}
            Some(length) => {
                headers
                    .insert("Content-Length", length.to_string())
                    .map_err(|e| invalid(&e))?;
            }
            None => {
                headers
                    .insert("Transfer-Encoding", "chunked")
                    .map_err(|e| invalid(&e))?;
            }
        }
        head.headers = headers;
        Ok(head)
    }
}

/// Sends `head` on a leased connection; cancelling aborts the connection.
fn send(lease: &Lease, head: RequestHead, body: RequestBody, url: String) -> Deferred<Response> {
    let conn = lease.conn.clone();
    let (deferred, resolver) = Deferred::with_canceller(move |_| {
        conn.cancel_exchange();
        conn.abort();
    });
    lease.conn.start(head, body.into_parts(), url, resolver);
    deferred
}

/// Whether `failure` says a reused connection was closed before any response byte.
fn is_stale(failure: &Failure) -> bool {
    match failure.downcast_ref::<ClientError>() {
        Some(ClientError::Protocol(error)) => error.kind() == ErrorKind::ClosedBeforeResponse,
        _ => false,
    }
}

impl HttpClient for Agent {
    fn request(
        &self,
        method: Method,
        url: &RequestUrl,
        headers: HeaderMap,
        body: RequestBody,
    ) -> Deferred<Response> {
        let head = match self.head(&method, url, headers, &body) {
            Ok(head) => head,
            Err(error) => return Deferred::fail(error),
        };
        let key = self.pool_key(url);
        let retry = if method.is_idempotent() {
            body.replay().map(|body| (head.clone(), body))
        } else {
            None
        };
        let (pool, text) = (self.pool.clone(), url.to_string());
        self.pool.acquire(&key, false).and_then(move |lease: Lease| {
            let reused = lease.reused;
            let sent = send(&lease, head, body, text.clone());
            match retry {
                Some((head, body)) if reused => sent.or_else(move |failure: Failure| {
                    if !is_stale(&failure) {
                        return Deferred::fail(failure);
                    }
                    tracing::debug!(target: "gyre::http", url = %text, "stale pooled connection; retrying once");
                    pool.acquire(&key, true)
                        .and_then(move |lease: Lease| send(&lease, head, body, text))
                }),
                _ => sent,
            }
        })
    }
}
