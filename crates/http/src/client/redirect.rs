//! [`RedirectAgent`]: follows redirects (Twisted's `RedirectAgent`, with
//! browser semantics).
//!
//! | status | next request |
//! |---|---|
//! | 301, 302 | same method, except POST which becomes GET without body |
//! | 303 | GET without body (HEAD stays HEAD) |
//! | 307, 308 | same method and body, when the body can be replayed; otherwise the 3xx is returned |
//!
//! `Location` is resolved against the URL that answered. When the next
//! URL has another origin (scheme, host or port), `Authorization`,
//! `Proxy-Authorization` and `Cookie` are dropped so credentials never
//! leak to another host (a cookie wrapper *inside* this one adds the right
//! cookies for every hop). Past the limit (default 20) the request fails
//! with [`ClientError::TooManyRedirects`]. The body of each redirect
//! response is read and dropped (up to 64 KiB, else its connection is
//! aborted) before the next request, so its connection can be reused.

use std::rc::Rc;

use gyre_core::Deferred;

use crate::client::agent::HttpClient;
use crate::client::error::ClientError;
use crate::client::request::RequestBody;
use crate::client::response::Response;
use crate::client::url::RequestUrl;
use crate::{HeaderMap, Method, StatusCode};

/// The default number of redirects followed (as browsers and curl's 50 cap it lower: 20, Twisted's).
pub const DEFAULT_REDIRECT_LIMIT: usize = 20;

/// How much of a redirect response's body is read to keep its connection.
const DRAIN_LIMIT: usize = 64 * 1024;

/// Follows redirects of the responses of `inner`; see the module docs.
pub struct RedirectAgent<C> {
    inner: Rc<C>,
    limit: usize,
}

impl<C: HttpClient + 'static> RedirectAgent<C> {
    /// Wraps `inner`, following up to [`DEFAULT_REDIRECT_LIMIT`] redirects.
    pub fn new(inner: C) -> Self {
        RedirectAgent {
            inner: Rc::new(inner),
            limit: DEFAULT_REDIRECT_LIMIT,
        }
    }

    /// Sets the number of redirects followed.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The wrapped client.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

/// The next request after `status`, or `None` to return the response as it is.
fn next_method(
    status: StatusCode,
    method: &Method,
    replay: Option<RequestBody>,
) -> Option<(Method, Option<RequestBody>)> {
    match status.as_u16() {
        301 | 302 if *method == Method::POST => Some((Method::GET, None)),
        303 if *method == Method::HEAD => Some((Method::HEAD, None)),
        303 => Some((Method::GET, None)),
        301 | 302 | 307 | 308 => replay.map(|body| (method.clone(), Some(body))),
        _ => None,
    }
}

fn follow<C: HttpClient + 'static>(
    inner: Rc<C>,
    method: Method,
    url: RequestUrl,
    headers: HeaderMap,
    body: RequestBody,
    left: usize,
    limit: usize,
) -> Deferred<Response> {
    let replay = body.replay();
    let sent = inner.request(method.clone(), &url, headers.clone(), body);
    sent.and_then(move |response: Response| {
        let location = response.headers.get_str("location").map(str::to_owned);
        let Some(location) = location else {
            return Deferred::succeed(response);
        };
        let Some((next, next_body)) = next_method(response.status, &method, replay) else {
            return Deferred::succeed(response);
        };
        let target = match url.join(&location) {
            Ok(target) => target,
            Err(error) => return Deferred::fail(ClientError::InvalidRedirect(error.to_string())),
        };
        if left == 0 {
            return Deferred::fail(ClientError::TooManyRedirects {
                limit,
                location: target.to_string(),
            });
        }
        let mut headers = headers;
        if target.origin() != url.origin() {
            for name in ["authorization", "proxy-authorization", "cookie"] {
                headers.remove(name);
            }
        }
        let body = match next_body {
            Some(body) => body,
            None => {
                for name in [
                    "content-type",
                    "content-encoding",
                    "content-language",
                    "content-location",
                ] {
                    headers.remove(name);
                }
                RequestBody::empty()
            }
        };
        tracing::debug!(target: "gyre::http", from = %url, to = %target, "following a redirect");
        // Read the small body of the redirect first, so its connection is
        // free again for the next request.
        response
            .read_body(DRAIN_LIMIT)
            .then(move |_: Result<Vec<u8>, gyre_core::Failure>| {
                follow(inner, next, target, headers, body, left - 1, limit)
            })
    })
}

impl<C: HttpClient + 'static> HttpClient for RedirectAgent<C> {
    fn request(
        &self,
        method: Method,
        url: &RequestUrl,
        headers: HeaderMap,
        body: RequestBody,
    ) -> Deferred<Response> {
        follow(
            self.inner.clone(),
            method,
            url.clone(),
            headers,
            body,
            self.limit,
            self.limit,
        )
    }
}
