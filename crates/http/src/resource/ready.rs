//! Ready-made resources: [`ErrorPage`], [`Data`], [`Redirect`],
//! [`NameVirtualHost`].

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::SendError;
use crate::wire::{Method, ResponseHead, StatusCode};

use super::methods::{Methods, log_send};
use super::{Reply, Resource, SiteRequest, render_tree};

pub use crate::static_files::escape_html;

/// A small HTML error page with a status (Twisted's `ErrorPage`;
/// [`ErrorPage::not_found`] is its `NoResource`). A leaf: whatever follows
/// in the path gets the same page. Text is escaped.
pub struct ErrorPage {
    status: StatusCode,
    brief: String,
    detail: String,
}

impl ErrorPage {
    /// A page answering `status` with a title and a detail line.
    pub fn new(status: StatusCode, brief: &str, detail: &str) -> ErrorPage {
        ErrorPage {
            status,
            brief: brief.to_owned(),
            detail: detail.to_owned(),
        }
    }

    /// `404 No Such Resource` (Twisted's `NoResource`).
    pub fn not_found() -> ErrorPage {
        ErrorPage::new(
            StatusCode::NOT_FOUND,
            "No Such Resource",
            "No such child resource.",
        )
    }

    /// `403 Forbidden` (Twisted's `ForbiddenResource`).
    pub fn forbidden() -> ErrorPage {
        ErrorPage::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Access to this resource is forbidden.",
        )
    }

    /// The HTML body.
    pub fn body(&self) -> String {
        let brief = escape_html(&self.brief);
        format!(
            "<html>\n  <head><title>{} - {brief}</title></head>\n  <body>\n    <h1>{brief}</h1>\n    <p>{}</p>\n  </body>\n</html>\n",
            self.status.as_u16(),
            escape_html(&self.detail)
        )
    }

    /// Sends the page through `reply`.
    pub fn send(&self, reply: &Reply) -> Result<(), SendError> {
        reply.send(self.status, "text/html; charset=utf-8", self.body().as_bytes())
    }
}

impl Resource for ErrorPage {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, _request: &SiteRequest, reply: Reply) {
        log_send(self.send(&reply));
    }
}

/// Static bytes with a content type (Twisted's `static.Data`), answering
/// `GET` and `HEAD` (and `OPTIONS`; other methods get 405).
pub struct Data {
    methods: Methods,
}

impl Data {
    /// Serves `body` as `content_type`.
    pub fn new(body: Vec<u8>, content_type: &str) -> Data {
        let body: Rc<[u8]> = body.into();
        let content_type = content_type.to_owned();
        let methods = Methods::new().on(Method::GET, move |_, reply| {
            log_send(reply.send(StatusCode::OK, &content_type, &body));
        });
        Data { methods }
    }
}

impl Resource for Data {
    fn render(&self, request: &SiteRequest, reply: Reply) {
        self.methods.dispatch(request, reply);
    }
}

/// A redirect to a fixed location (Twisted's `util.Redirect`), with any of
/// the redirect statuses; a leaf, so everything below it redirects too.
pub struct Redirect {
    status: StatusCode,
    location: String,
}

impl Redirect {
    /// Redirects with `status` (301, 302, 303, 307 or 308) to `location`;
    /// `None` for another status or a location that is not a URI
    /// reference in visible ASCII (percent-encode anything else), so no
    /// header can be injected.
    pub fn new(status: StatusCode, location: &str) -> Option<Redirect> {
        let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
        let clean = !location.is_empty() && location.bytes().all(|b| b.is_ascii_graphic());
        (redirect && clean).then(|| Redirect {
            status,
            location: location.to_owned(),
        })
    }

    /// `302 Found` to `location`, like Twisted's `redirectTo`.
    pub fn found(location: &str) -> Option<Redirect> {
        Redirect::new(StatusCode::FOUND, location)
    }
}

impl Resource for Redirect {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, _request: &SiteRequest, reply: Reply) {
        let location = escape_html(&self.location);
        let body = format!("<html><body><a href=\"{location}\">click here</a></body></html>\n");
        let mut head = ResponseHead::new(self.status);
        let sent = head
            .headers
            .append("Location", &self.location)
            .and_then(|headers| headers.append("Content-Type", "text/html; charset=utf-8"))
            .and_then(|headers| headers.append("Content-Length", body.len().to_string()))
            .map(drop)
            .and_then(|()| reply.send_head(head))
            .and_then(|()| reply.write(body.as_bytes()))
            .and_then(|()| reply.finish());
        log_send(sent);
    }
}

/// Chooses a tree by the `Host` header (Twisted's `vhost.NameVirtualHost`):
/// the name is compared lowercased without its port; unknown hosts go to
/// the default tree, or get 404 without one.
#[derive(Default)]
pub struct NameVirtualHost {
    hosts: HashMap<String, Rc<dyn Resource>>,
    default: Option<Rc<dyn Resource>>,
}

impl NameVirtualHost {
    /// No hosts, no default.
    pub fn new() -> NameVirtualHost {
        NameVirtualHost::default()
    }

    /// The same with a tree for `name` (case-insensitive).
    pub fn with_host(mut self, name: &str, tree: Rc<dyn Resource>) -> NameVirtualHost {
        self.hosts.insert(name.to_ascii_lowercase(), tree);
        self
    }

    /// The same with a tree for unknown hosts.
    pub fn with_default(mut self, tree: Rc<dyn Resource>) -> NameVirtualHost {
        self.default = Some(tree);
        self
    }
}

impl Resource for NameVirtualHost {
    /// A leaf that continues the walk in the chosen tree.
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, request: &SiteRequest, reply: Reply) {
        let chosen = request
            .host_name()
            .and_then(|name| self.hosts.get(&name).cloned());
        match chosen.or_else(|| self.default.clone()) {
            Some(tree) => render_tree(tree, request, reply),
            None => {
                let page = ErrorPage::new(StatusCode::NOT_FOUND, "No Such Resource", "host not found");
                log_send(page.send(&reply));
            }
        }
    }
}
