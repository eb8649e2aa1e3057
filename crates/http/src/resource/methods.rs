//! Per-method rendering: a [`Methods`] table, a [`Children`] map and the
//! ready-made [`Node`] resource combining both.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::wire::{Method, ResponseHead, StatusCode};

use super::ready::ErrorPage;
use super::{Reply, Resource, SiteRequest};

type Handler = Rc<dyn Fn(&SiteRequest, Reply)>;

/// A method → handler table built by a resource (no name reflection).
///
/// [`dispatch`](Self::dispatch) answers what the table does not hold:
/// `HEAD` goes to the `GET` handler (the connection drops the body),
/// `OPTIONS` gets `204` with `Allow`, anything else `405` with `Allow`.
#[derive(Clone, Default)]
pub struct Methods {
    table: Vec<(Method, Handler)>,
}

impl Methods {
    /// An empty table (every method answered 405).
    pub fn new() -> Methods {
        Methods::default()
    }

    /// Adds (or replaces) the handler of `method`.
    pub fn on(mut self, method: Method, handler: impl Fn(&SiteRequest, Reply) + 'static) -> Methods {
        self.table.retain(|(known, _)| *known != method);
        self.table.push((method, Rc::new(handler)));
        self
    }

    /// The methods answered, as listed in `Allow`.
    pub fn allowed(&self) -> Vec<Method> {
        let mut allowed: Vec<Method> = self.table.iter().map(|(method, _)| method.clone()).collect();
        for implied in [Method::HEAD, Method::OPTIONS] {
            let implied_by_get = implied != Method::HEAD || allowed.contains(&Method::GET);
            if implied_by_get && !allowed.contains(&implied) {
                allowed.push(implied);
            }
        }
        allowed
    }

    /// The `Allow` header value.
    pub fn allow_header(&self) -> String {
        let allowed = self.allowed();
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        names.join(", ")
    }

    fn find(&self, method: &Method) -> Option<&Handler> {
        self.table
            .iter()
            .find(|(known, _)| known == method)
            .map(|(_, handler)| handler)
    }

    /// Renders `request` with the matching handler (see the type's docs).
    pub fn dispatch(&self, request: &SiteRequest, reply: Reply) {
        let method = request.method();
        if let Some(handler) = self.find(method) {
            return handler(request, reply);
        }
        if *method == Method::HEAD
            && let Some(handler) = self.find(&Method::GET)
        {
            return handler(request, reply);
        }
        let allow = self.allow_header();
        if *method == Method::OPTIONS {
            let mut head = ResponseHead::new(StatusCode::NO_CONTENT);
            let sent = head
                .headers
                .append("Allow", &allow)
                .map(drop)
                .and_then(|()| reply.send_head(head))
                .and_then(|()| reply.finish());
            log_send(sent);
            return;
        }
        log_send(reply.add_header("Allow", &allow));
        let detail = format!("Allowed: {allow}");
        ErrorPage::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed", &detail).render(request, reply);
    }
}

pub(crate) fn log_send(result: Result<(), crate::SendError>) {
    if let Err(error) = result {
        tracing::debug!(%error, "resource: the response could not be written");
    }
}

/// A static map of children by segment (Twisted's `putChild`), usable by
/// any resource; interior mutability so children can be added after the
/// resource is shared.
#[derive(Default)]
pub struct Children {
    map: RefCell<HashMap<String, Rc<dyn Resource>>>,
}

impl Children {
    /// No children.
    pub fn new() -> Children {
        Children::default()
    }

    /// Adds (or replaces) the child at `segment` (decoded; `""` is the
    /// child for a trailing slash).
    pub fn put(&self, segment: &str, child: Rc<dyn Resource>) {
        self.map.borrow_mut().insert(segment.to_owned(), child);
    }

    /// The child at `segment`.
    pub fn get(&self, segment: &str) -> Option<Rc<dyn Resource>> {
        self.map.borrow().get(segment).cloned()
    }

    /// The segments with a child, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.map.borrow().keys().cloned().collect();
        names.sort();
        names
    }
}

/// A resource made of a [`Children`] map and a [`Methods`] table: enough
/// for most trees without writing a type.
///
/// ```
/// use std::rc::Rc;
/// use gyre_http::resource::{Data, Node};
/// use gyre_http::{Method, StatusCode};
///
/// let root = Node::new().on(Method::GET, |_request, reply| {
///     reply.send(StatusCode::OK, "text/plain", b"root\n").unwrap();
/// });
/// root.put_child("about", Rc::new(Data::new(b"about\n".to_vec(), "text/plain")));
/// ```
#[derive(Default)]
pub struct Node {
    children: Children,
    methods: Methods,
}

impl Node {
    /// No children, no methods.
    pub fn new() -> Node {
        Node::default()
    }

    /// The same node answering `method` with `handler`.
    pub fn on(mut self, method: Method, handler: impl Fn(&SiteRequest, Reply) + 'static) -> Node {
        self.methods = self.methods.on(method, handler);
        self
    }

    /// The same node with a child.
    pub fn with_child(self, segment: &str, child: Rc<dyn Resource>) -> Node {
        self.children.put(segment, child);
        self
    }

    /// Adds a child (Twisted's `putChild`).
    pub fn put_child(&self, segment: &str, child: Rc<dyn Resource>) {
        self.children.put(segment, child);
    }

    /// Its method table.
    pub fn methods(&self) -> &Methods {
        &self.methods
    }
}

impl Resource for Node {
    fn child(&self, segment: &str, _request: &SiteRequest) -> Option<Rc<dyn Resource>> {
        self.children.get(segment)
    }

    fn render(&self, request: &SiteRequest, reply: Reply) {
        self.methods.dispatch(request, reply);
    }
}
