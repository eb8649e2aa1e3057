//! [`SiteRequest`]: a request being walked through a resource tree.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gyre_core::Address;

use crate::server::{Request, RequestBody};
use crate::wire::{HeaderMap, Method, RequestHead};

use super::cookie::parse_cookies;
use super::reply::Reply;
use super::session::{Session, SessionStore};

struct RequestState {
    head: RequestHead,
    body: RequestBody,
    peer: Address,
    host: Address,
    segments: Vec<String>,
    position: Cell<usize>,
    sessions: SessionStore,
    user: RefCell<Option<String>>,
}

/// One request as resources see it: the head and body, the decoded path
/// segments with the walk's position in them (Twisted's `prepath` and
/// `postpath`), cookies, the session and the authenticated user.
///
/// Cheap to clone (shared state), so an asynchronous renderer keeps it.
#[derive(Clone)]
pub struct SiteRequest {
    state: Rc<RequestState>,
}

impl SiteRequest {
    pub(crate) fn new(request: Request, segments: Vec<String>, sessions: SessionStore) -> SiteRequest {
        let peer = request.peer().clone();
        let host = request.host().clone();
        let (head, body) = request.into_parts();
        SiteRequest {
            state: Rc::new(RequestState {
                head,
                body,
                peer,
                host,
                segments,
                position: Cell::new(0),
                sessions,
                user: RefCell::new(None),
            }),
        }
    }

    /// The request line and header fields.
    pub fn head(&self) -> &RequestHead {
        &self.state.head
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.state.head.method
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.state.head.headers
    }

    /// The body, read as it arrives.
    pub fn body(&self) -> &RequestBody {
        &self.state.body
    }

    /// The client's address.
    pub fn peer(&self) -> &Address {
        &self.state.peer
    }

    /// The address the client connected to.
    pub fn host(&self) -> &Address {
        &self.state.host
    }

    /// The `Host` header's name, lowercased, without its port or a
    /// trailing dot; `None`
    /// without a `Host` header (HTTP/1.0).
    pub fn host_name(&self) -> Option<String> {
        let host = self.headers().get_str("host")?.trim();
        let name = if let Some(rest) = host.strip_prefix('[') {
            rest.split(']').next().unwrap_or(rest)
        } else {
            host.rsplit_once(':').map_or(host, |(name, _)| name)
        };
        Some(name.trim_end_matches('.').to_ascii_lowercase())
    }

    /// The query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.state.head.target.query()
    }

    /// All the decoded path segments.
    pub fn segments(&self) -> &[String] {
        &self.state.segments
    }

    /// The segments already walked (Twisted's `prepath`).
    pub fn prepath(&self) -> &[String] {
        &self.state.segments[..self.state.position.get()]
    }

    /// The segments not walked yet (Twisted's `postpath`): what a leaf
    /// resource interprets itself.
    pub fn postpath(&self) -> &[String] {
        &self.state.segments[self.state.position.get()..]
    }

    pub(crate) fn advance(&self) {
        let position = self.state.position.get();
        if position < self.state.segments.len() {
            self.state.position.set(position + 1);
        }
    }

    /// The value of the first cookie called `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Every cookie the client sent, in order (all `Cookie` fields).
    pub fn cookies(&self) -> Vec<(String, String)> {
        let mut cookies = Vec::new();
        for value in self.headers().get_all("cookie") {
            if let Ok(value) = std::str::from_utf8(value) {
                cookies.extend(parse_cookies(value));
            }
        }
        cookies
    }

    /// The site's session store.
    pub fn sessions(&self) -> &SessionStore {
        &self.state.sessions
    }

    /// The client's session, created (and its cookie added to `reply`) if
    /// it has none or it expired; using it resets its inactivity timer.
    pub fn session(&self, reply: &Reply) -> Session {
        self.state.sessions.session_for(self, reply)
    }

    /// The user an authentication wrapper let in, if any.
    pub fn user(&self) -> Option<String> {
        self.state.user.borrow().clone()
    }

    pub(crate) fn set_user(&self, user: String) {
        *self.state.user.borrow_mut() = Some(user);
    }
}
