//! A forward HTTP proxy: absolute-form requests and `CONNECT` tunnels.
//!
//! `cargo run -p gyre-http --example proxy_forward -- --listen tcp:3128:interface=127.0.0.1 [--connect-port 8443]... [--user NAME:PASSWORD]`
//!
//! Then `curl --proxy http://127.0.0.1:3128 http://example.com/` or, for
//! HTTPS through a tunnel, `curl -p --proxy http://127.0.0.1:3128 https://example.com/`.
//! Tunnels go to port 443 only unless `--connect-port` adds others; with
//! `--user`, clients must authenticate (`curl --proxy-user NAME:PASSWORD`).

use std::rc::Rc;

use gyre_core::{Address, SharedFactory};
use gyre_endpoints::listen_and_run;
use gyre_endpoints::{ClientEndpoint, EndpointRegistry, HostnameEndpoint, ThreadedResolver};
use gyre_http::client::{Agent, EndpointConnector, HttpClient};
use gyre_http::proxy::{DefaultPolicy, ForwardProxy, ProxyAuth};
use gyre_http::resource::InMemoryChecker;
use gyre_http::server::HttpServer;
use gyre_reactor::Reactor;
use gyre_tls::TlsClientConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: proxy_forward --listen ENDPOINT [--connect-port PORT]... [--user NAME:PASSWORD]";
    let (mut listen, mut policy, mut user) = (None, DefaultPolicy::default(), None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(usage)?;
        match flag.as_str() {
            "--listen" => listen = Some(value),
            "--connect-port" => policy = policy.allow_connect_port(value.parse()?),
            "--user" => user = Some(value),
            _ => return Err(usage.into()),
        }
    }
    let listen = listen.ok_or(usage)?;
    let reactor = Reactor::new()?;
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let tls = TlsClientConfig::builder()
        .webpki_roots()
        .build()
        .map_err(|failure| failure.to_string())?;
    let connector = Rc::new(EndpointConnector::new(reactor.clone(), resolver.clone(), tls));
    let agent: Rc<dyn HttpClient> = Rc::new(Agent::builder(Rc::new(reactor.clone()), connector).build());
    let dial_reactor = reactor.clone();
    let dialer = move |host: &str, port: u16| -> Rc<dyn ClientEndpoint> {
        Rc::new(HostnameEndpoint::new(
            dial_reactor.clone(),
            resolver.clone(),
            host,
            port,
        ))
    };
    let mut proxy = ForwardProxy::new(agent, Rc::new(dialer)).policy(Rc::new(policy));
    if let Some(user) = user {
        let (name, password) = user.split_once(':').ok_or(usage)?;
        let checker = InMemoryChecker::new().with_user(name, password);
        proxy = proxy.auth(ProxyAuth::basic("gyre proxy", Rc::new(checker)));
    }
    let server = HttpServer::new(Rc::new(reactor.clone()), proxy);
    let endpoint = EndpointRegistry::default()
        .server_from_string(&reactor, &listen)
        .map_err(|error| error.to_string())?;
    let announce = |address: &Address| println!("listening on {address}");
    listen_and_run(&reactor, &*endpoint, SharedFactory::new(server), announce).map_err(|f| f.to_string())?;
    Ok(())
}
