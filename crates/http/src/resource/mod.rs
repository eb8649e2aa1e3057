//! A resource tree like Twisted's `Site`/`Resource`, done the Rust way.
//!
//! ```text
//!   HttpServer ─▶ Site (Handler) ─ split_path ─▶ SiteRequest { segments, position }
//!                  │ render_tree(root)
//!                  ▼
//!   root.child("a") ─▶ a.child("b") ─▶ … ─▶ leaf / last ─▶ render(request, Reply)
//! ```
//!
//! * A [`Resource`] is an object-safe trait shared as `Rc<dyn Resource>`:
//!   [`child`](Resource::child) looks up one decoded path segment (a static
//!   map is [`Children`], Twisted's `putChild`), a [`leaf`](Resource::is_leaf)
//!   stops the walk and reads the rest from [`SiteRequest::postpath`], and
//!   [`render`](Resource::render) answers. A child that is not found is a
//!   `404` ([`ErrorPage::not_found`], Twisted's `NoResource`); a trailing
//!   slash (a last empty segment) with no `""` child renders the resource
//!   itself.
//! * Per-method rendering is a [`Methods`] table the resource builds — no
//!   `render_GET` name lookup: `HEAD` uses `GET`'s handler (the connection
//!   drops the body), `OPTIONS` lists the methods, others get `405` with
//!   `Allow`. [`Node`] is children + methods, ready to use.
//! * Rendering writes through a [`Reply`], now or later (keep the clones
//!   of the reply and the request in a Deferred callback). Wrapping
//!   resources ([`BasicAuth`], [`GzipEncoding`], [`NameVirtualHost`]) are
//!   leaves that continue the walk with [`render_tree`], possibly
//!   asynchronously, through a transformed reply; [`DeferredResource`]
//!   continues it in a resource a Deferred gives (rendering that returns a
//!   Deferred).
//! * Paths are split by [`split_path`]: per-segment percent-decoding (an
//!   encoded slash stays inside its segment), literal dot segments
//!   normalized, encoded ones refused (`400`).
//! * Cookies ([`parse_cookies`], [`SetCookie`]), sessions on the clock
//!   ([`SessionStore`], cookie `GYRE_SESSION`), HTTP Basic auth through a
//!   pluggable [`CredentialChecker`], and gzip with [`GzipEncoding`].
//!
//! ```
//! use std::rc::Rc;
//! use gyre_http::resource::{Data, Node, Redirect, Site};
//! use gyre_http::server::HttpServer;
//! use gyre_http::{Method, StatusCode};
//! use gyre_testing::{ManualClock, StringTransportWithDisconnection};
//!
//! let root = Node::new()
//!     .on(Method::GET, |_request, reply| {
//!         reply.send(StatusCode::OK, "text/plain", b"home\n").unwrap();
//!     })
//!     .with_child("old", Rc::new(Redirect::found("/new").unwrap()))
//!     .with_child("new", Rc::new(Data::new(b"new\n".to_vec(), "text/plain")));
//! let clock = Rc::new(ManualClock::new());
//! let server = HttpServer::new(clock.clone(), Site::new(clock, Rc::new(root)));
//! let mut connection = StringTransportWithDisconnection::new(server.protocol());
//! connection.data_received(b"GET /new HTTP/1.1\r\nHost: x\r\n\r\nDELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
//! let answer = String::from_utf8(connection.transport().take()).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.contains("HTTP/1.1 405 Method Not Allowed\r\n"));
//! assert!(answer.contains("Allow: GET, HEAD, OPTIONS\r\n"));
//! ```

mod auth;
mod cookie;
mod deferred;
mod gzip;
mod methods;
mod path;
mod ready;
mod reply;
mod request;
mod session;
mod site;

use std::rc::Rc;

pub(crate) use auth::basic_credentials;
pub use auth::{BasicAuth, CredentialChecker, InMemoryChecker, Unauthorized, decode_base64};
pub use cookie::{CookieError, SameSite, SetCookie, http_date, parse_cookies};
pub use deferred::DeferredResource;
pub use gzip::{GzipEncoding, accepts_gzip};
pub use methods::{Children, Methods, Node};
pub(crate) use path::percent_unescape;
pub use path::{MAX_SEGMENTS, PathError, decode_segment, split_path};
pub use ready::{Data, ErrorPage, NameVirtualHost, Redirect, escape_html};
pub use reply::{Reply, ReplySink};
pub use request::SiteRequest;
pub use session::{DEFAULT_MAX_SESSIONS, SESSION_COOKIE, Session, SessionStore};
pub use site::Site;

/// One node of a resource tree (Twisted's `IResource`), shared as
/// `Rc<dyn Resource>`.
pub trait Resource: 'static {
    /// The child for the decoded path `segment` (already counted in
    /// [`SiteRequest::prepath`]), or `None` for a 404. Default: no
    /// children.
    fn child(&self, segment: &str, request: &SiteRequest) -> Option<Rc<dyn Resource>> {
        let _ = (segment, request);
        None
    }

    /// Whether the walk stops here, leaving the rest of the path in
    /// [`SiteRequest::postpath`] for [`render`](Self::render).
    fn is_leaf(&self) -> bool {
        false
    }

    /// Answers the request, now or later, through `reply`.
    fn render(&self, request: &SiteRequest, reply: Reply);
}

/// Walks from `resource` along the request's remaining segments and
/// renders where the walk ends (a leaf, or the last segment); a missing
/// child is answered `404`. Wrapping resources call it to continue the
/// walk in the tree they wrap.
pub fn render_tree(resource: Rc<dyn Resource>, request: &SiteRequest, reply: Reply) {
    let mut current = resource;
    while !current.is_leaf() {
        let Some(segment) = request.postpath().first().cloned() else {
            break;
        };
        request.advance();
        match current.child(&segment, request) {
            Some(child) => current = child,
            None if segment.is_empty() && request.postpath().is_empty() => break,
            None => {
                methods::log_send(ErrorPage::not_found().send(&reply));
                return;
            }
        }
    }
    current.render(request, reply);
}
