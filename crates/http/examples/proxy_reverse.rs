//! A reverse proxy in front of one upstream.
//!
//! `cargo run -p gyre-http --example proxy_reverse -- --listen tcp:8080:interface=127.0.0.1 --upstream http://127.0.0.1:8081 [--mount api]`
//!
//! Without `--mount` every request is forwarded (the `Handler` form); with
//! it, only `/api/...` (the `Resource` form in a site), the rest is a 404.

use std::rc::Rc;

use gyre_core::{Address, SharedFactory};
use gyre_endpoints::listen_and_run;
use gyre_endpoints::{EndpointRegistry, ThreadedResolver};
use gyre_http::client::{Agent, EndpointConnector, HttpClient};
use gyre_http::proxy::ReverseProxy;
use gyre_http::resource::{Node, Site};
use gyre_http::server::HttpServer;
use gyre_reactor::Reactor;
use gyre_tls::TlsClientConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: proxy_reverse --listen ENDPOINT --upstream URL [--mount SEGMENT]";
    let (mut listen, mut upstream, mut mount) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(usage)?;
        match flag.as_str() {
            "--listen" => listen = Some(value),
            "--upstream" => upstream = Some(value),
            "--mount" => mount = Some(value),
            _ => return Err(usage.into()),
        }
    }
    let (listen, upstream) = (listen.ok_or(usage)?, upstream.ok_or(usage)?);
    let reactor = Reactor::new()?;
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let tls = TlsClientConfig::builder()
        .webpki_roots()
        .build()
        .map_err(|failure| failure.to_string())?;
    let connector = Rc::new(EndpointConnector::new(reactor.clone(), resolver, tls));
    let agent: Rc<dyn HttpClient> = Rc::new(Agent::builder(Rc::new(reactor.clone()), connector).build());
    let proxy = ReverseProxy::new(agent, &upstream).map_err(|error| error.to_string())?;
    let clock = Rc::new(reactor.clone());
    let server = match mount {
        Some(segment) => {
            let root = Node::new().with_child(&segment, Rc::new(proxy));
            HttpServer::new(clock.clone(), Site::new(clock, Rc::new(root)))
        }
        None => HttpServer::new(clock, proxy),
    };
    let endpoint = EndpointRegistry::default()
        .server_from_string(&reactor, &listen)
        .map_err(|error| error.to_string())?;
    let announce = |address: &Address| println!("listening on {address}");
    listen_and_run(&reactor, &*endpoint, SharedFactory::new(server), announce).map_err(|f| f.to_string())?;
    Ok(())
}
