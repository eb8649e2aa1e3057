//! [`DeferredResource`]: a resource found asynchronously (Twisted's
//! `util.DeferredResource`), so rendering can "return a Deferred".

use std::rc::Rc;

use gyre_core::{Deferred, Failure};

use crate::wire::StatusCode;

use super::methods::log_send;
use super::ready::ErrorPage;
use super::{Reply, Resource, SiteRequest, render_tree};

type Find = dyn Fn(&SiteRequest) -> Deferred<Rc<dyn Resource>>;

/// A leaf whose subtree is the result of a Deferred computed per request
/// (a database lookup, an RPC): when it fires the walk continues in the
/// resource it gives; when it fails the answer is `500`.
///
/// With [`Data`](super::Data) as the result, this is rendering that
/// returns a Deferred of the page.
///
/// ```
/// use std::rc::Rc;
/// use gyre_core::Deferred;
/// use gyre_http::resource::{Data, DeferredResource, Resource};
///
/// let later = DeferredResource::new(|request| {
///     let page = format!("you asked for {:?}\n", request.postpath());
///     Deferred::succeed(Rc::new(Data::new(page.into_bytes(), "text/plain")) as Rc<dyn Resource>)
/// });
/// assert!(later.is_leaf());
/// ```
pub struct DeferredResource {
    find: Rc<Find>,
}

impl DeferredResource {
    /// A resource answered by the resource `find` eventually gives.
    pub fn new(find: impl Fn(&SiteRequest) -> Deferred<Rc<dyn Resource>> + 'static) -> DeferredResource {
        DeferredResource { find: Rc::new(find) }
    }
}

impl Resource for DeferredResource {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, request: &SiteRequest, reply: Reply) {
        let found = (self.find)(request);
        let request = request.clone();
        found.add_both(move |result| -> Result<Rc<dyn Resource>, Failure> {
            match result {
                Ok(resource) => {
                    render_tree(resource.clone(), &request, reply);
                    Ok(resource)
                }
                Err(failure) => {
                    tracing::warn!(%failure, "resource: a deferred resource failed");
                    let page = ErrorPage::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", "");
                    log_send(page.send(&reply));
                    Ok(Rc::new(page))
                }
            }
        });
    }
}
