//! [`Site`]: the server [`Handler`] that walks a resource tree.

use std::rc::Rc;
use std::time::Duration;

use gyre_core::Clock;

use crate::server::{Handler, Request, Response};
use crate::wire::{StatusCode, TargetForm};

use super::methods::log_send;
use super::path::split_path;
use super::ready::ErrorPage;
use super::session::SessionStore;
use super::{Reply, Resource, SiteRequest, render_tree};

/// A resource tree served over HTTP (Twisted's `server.Site`): a
/// [`Handler`] for [`HttpServer`](crate::server::HttpServer) that splits
/// each request path into decoded segments (see [`split_path`]; a refused
/// path is answered `400`) and walks the tree from `root`.
///
/// It owns the [`SessionStore`] of its requests (sessions expire on the
/// clock given here).
pub struct Site {
    root: Rc<dyn Resource>,
    sessions: SessionStore,
}

impl Site {
    /// A site serving `root`, its sessions expiring on `clock` after 15
    /// minutes of inactivity (Twisted's default).
    pub fn new(clock: Rc<dyn Clock>, root: Rc<dyn Resource>) -> Site {
        Site {
            root,
            sessions: SessionStore::new(clock, Duration::from_secs(15 * 60)),
        }
    }

    /// The same site with another session store (another timeout, cookie).
    pub fn with_sessions(mut self, sessions: SessionStore) -> Site {
        self.sessions = sessions;
        self
    }

    /// The session store.
    pub fn sessions(&self) -> &SessionStore {
        &self.sessions
    }
}

impl Handler for Site {
    fn handle(&self, request: Request, response: Response) {
        let reply = Reply::from_response(response);
        let target = &request.head().target;
        // `OPTIONS *` and `CONNECT host:port` name no path: the root answers.
        let segments = if matches!(target.form(), TargetForm::Asterisk | TargetForm::Authority) {
            Ok(Vec::new())
        } else {
            split_path(target.path())
        };
        match segments {
            Ok(segments) => {
                let request = SiteRequest::new(request, segments, self.sessions.clone());
                render_tree(self.root.clone(), &request, reply);
            }
            Err(error) => {
                let page = ErrorPage::new(StatusCode::BAD_REQUEST, "Bad Request", &error.to_string());
                log_send(page.send(&reply));
            }
        }
    }
}
