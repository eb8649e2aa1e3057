//! A small resource tree served over HTTP: a page, redirects, a session
//! counter, a Basic-auth area, gzip and a second virtual host.
//!
//! ```text
//! cargo run -p gyre-http --example resource_site                     # tcp:8080:interface=127.0.0.1
//! cargo run -p gyre-http --example resource_site -- --listen tcp:0:interface=127.0.0.1
//! curl -L http://127.0.0.1:8080/old                                  # 302 → /page
//! curl -c jar -b jar http://127.0.0.1:8080/counter                   # 1, 2, 3, … per session
//! curl -u user:pass http://127.0.0.1:8080/private/                   # 401 without -u
//! curl --compressed http://127.0.0.1:8080/big                        # gzip on the wire
//! curl -H 'Host: other.example' http://127.0.0.1:8080/               # the other virtual host
//! curl -X DELETE http://127.0.0.1:8080/page                          # 405, Allow: GET, HEAD, OPTIONS
//! ```
//!
//! Prints `listening on ADDRESS` once ready; Ctrl-C stops it.

use std::cell::Cell;
use std::rc::Rc;

use gyre_core::{Address, SharedFactory};
use gyre_endpoints::{EndpointRegistry, listen_and_run};
use gyre_http::resource::{
    BasicAuth, Data, GzipEncoding, InMemoryChecker, NameVirtualHost, Node, Redirect, Reply, Site, SiteRequest,
};
use gyre_http::server::HttpServer;
use gyre_http::{Method, StatusCode};
use gyre_reactor::Reactor;

const HOME: &str = "<html><body><h1>gyre resource site</h1><ul>\
    <li><a href=\"/page\">a page</a></li><li><a href=\"/old\">a redirect</a></li>\
    <li><a href=\"/counter\">a session counter</a></li><li><a href=\"/private/\">a private area</a></li>\
    <li><a href=\"/big\">a big gzip-encoded text</a></li></ul></body></html>\n";

/// Counts the visits of this session.
fn counter(request: &SiteRequest, reply: Reply) {
    let session = request.session(&reply);
    let visits = session.get_or_insert_with(|| Cell::new(0u64));
    visits.set(visits.get() + 1);
    let body = format!("visit {}\n", visits.get());
    let _ = reply.send(StatusCode::OK, "text/plain; charset=utf-8", body.as_bytes());
}

/// Ends this session.
fn logout(request: &SiteRequest, reply: Reply) {
    request.session(&reply).expire();
    let _ = reply.send(StatusCode::OK, "text/plain; charset=utf-8", b"session ended\n");
}

fn private(request: &SiteRequest, reply: Reply) {
    let body = format!("welcome, {}\n", request.user().unwrap_or_default());
    let _ = reply.send(StatusCode::OK, "text/plain; charset=utf-8", body.as_bytes());
}

fn tree() -> Rc<NameVirtualHost> {
    let big: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("line {i}: gyre compresses this\n").into_bytes())
        .collect();
    let checker = InMemoryChecker::new().with_user("user", "pass");
    let private = Node::new().on(Method::GET, private);
    let root = Node::new()
        .on(Method::GET, |_: &SiteRequest, reply: Reply| {
            let _ = reply.send(StatusCode::OK, "text/html; charset=utf-8", HOME.as_bytes());
        })
        .with_child(
            "page",
            Rc::new(Data::new(b"a page\n".to_vec(), "text/plain; charset=utf-8")),
        )
        .with_child(
            "old",
            Rc::new(Redirect::found("/page").expect("a valid redirect")),
        )
        .with_child("counter", Rc::new(Node::new().on(Method::GET, counter)))
        .with_child("logout", Rc::new(Node::new().on(Method::GET, logout)))
        .with_child(
            "private",
            Rc::new(BasicAuth::new("gyre example", Rc::new(checker), Rc::new(private))),
        )
        .with_child(
            "big",
            Rc::new(GzipEncoding::new(Rc::new(Data::new(
                big,
                "text/plain; charset=utf-8",
            )))),
        );
    let other = Data::new(b"the other host\n".to_vec(), "text/plain; charset=utf-8");
    Rc::new(
        NameVirtualHost::new()
            .with_host("other.example", Rc::new(other))
            .with_default(Rc::new(root)),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let description = match (args.next().as_deref(), args.next()) {
        (None, _) => "tcp:8080:interface=127.0.0.1".to_owned(),
        (Some("--listen"), Some(description)) => description,
        _ => return Err("usage: resource_site [--listen <server endpoint description>]".into()),
    };
    let reactor = Reactor::new()?;
    let endpoint = EndpointRegistry::default()
        .server_from_string(&reactor, &description)
        .map_err(|error| error.to_string())?;
    let site = Site::new(Rc::new(reactor.clone()), tree());
    let server = HttpServer::new(Rc::new(reactor.clone()), site);
    let announce = |address: &Address| println!("listening on {address}");
    listen_and_run(&reactor, &*endpoint, SharedFactory::new(server), announce)
        .map_err(|failure| failure.to_string())?;
    Ok(())
}
