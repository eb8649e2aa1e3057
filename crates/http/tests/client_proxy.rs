//! Proxies in memory: plain HTTP through a proxy in absolute form (one
//! pooled connection to the proxy for every origin), and HTTPS through a
//! CONNECT tunnel with TLS to the origin inside it (test CA, name
//! verified), including a proxy refusing the tunnel.

mod client_support;

use std::cell::RefCell;
use std::rc::Rc;

use client_support::{MemNet, Routed, answer};
use gyre_core::{Deferred, Protocol, SharedFactory, Transport};
use gyre_endpoints::Connection;
use gyre_http::client::{
    Agent, ClientError, Connector, HttpClient, PoolKey, RequestBody, RequestUrl, Response, connect_tunnel,
};
use gyre_http::server::{HttpServer, Request, Response as ServerResponse};
use gyre_http::{HeaderMap, Method, StatusCode};
use gyre_testing::certs::TestCa;
use gyre_testing::{ManualClock, failure_result_of, success_result_of};
use gyre_tls::{TlsClientConfig, TlsServerConfig, wrap_client_protocol, wrap_server_protocol};

type Log = Rc<RefCell<Vec<String>>>;

fn get(agent: &Agent, net: &MemNet, url: &str) -> Deferred<Response> {
    let response = agent.request(
        Method::GET,
        &RequestUrl::parse(url).unwrap(),
        HeaderMap::new(),
        RequestBody::empty(),
    );
    net.pump();
    response
}

fn text(net: &MemNet, response: Deferred<Response>) -> String {
    let body = success_result_of(response).read_body(1 << 16);
    net.pump();
    String::from_utf8(success_result_of(body)).unwrap()
}

#[test]
fn plain_http_goes_to_the_proxy_in_absolute_form() {
    let log = Log::default();
    let server_log = log.clone();
    let net = MemNet::new(move |_| {
        let route: client_support::Route =
            Rc::new(|head: &str| answer(200, &[], head.lines().next().unwrap()));
        Box::new(Routed::new(route, server_log.clone()))
    });
    let proxy = RequestUrl::parse("http://proxy.example:3128").unwrap();
    let agent = Agent::builder(Rc::new(ManualClock::new()), net.clone())
        .proxy(proxy)
        .build();
    assert_eq!(
        text(&net, get(&agent, &net, "http://a.example/x?y=1")),
        "GET http://a.example/x?y=1 HTTP/1.1"
    );
    assert_eq!(
        text(&net, get(&agent, &net, "http://b.example:8080/")),
        "GET http://b.example:8080/ HTTP/1.1"
    );
    assert_eq!(
        net.connections(),
        1,
        "one keep-alive connection to the proxy serves both origins"
    );
    assert_eq!(net.attempts.borrow()[0].origin.authority(), "proxy.example:3128");
    assert!(log.borrow()[1].contains("Host: b.example:8080\r\n"));
}

/// A proxy that grants `CONNECT good.example:443` only and then runs TLS
/// with an HTTP server inside the tunnel.
struct FakeProxy {
    seen: Vec<u8>,
    inner: Option<Box<dyn Protocol>>,
    tunnel: Option<Box<dyn Protocol>>,
    log: Log,
}

impl Protocol for FakeProxy {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if let Some(tunnel) = &mut self.tunnel {
            tunnel.data_received(transport, data);
            return;
        }
        self.seen.extend_from_slice(data);
        let Some(end) = self.seen.windows(4).position(|w| w == b"\r\n\r\n") else {
            return;
        };
        let head = String::from_utf8_lossy(&self.seen[..end + 4]).into_owned();
        let rest = self.seen.split_off(end + 4);
        self.log.borrow_mut().push(head.clone());
        if !head.starts_with("CONNECT good.example:443 HTTP/1.1\r\n") {
            transport.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let mut inner = self.inner.take().unwrap();
        inner.connection_made(transport);
        if !rest.is_empty() {
            inner.data_received(transport, &rest);
        }
        self.tunnel = Some(inner);
    }
    fn connection_lost(&mut self, transport: &Transport, reason: gyre_core::Failure) {
        if let Some(tunnel) = &mut self.tunnel {
            tunnel.connection_lost(transport, reason);
        }
    }
}

/// Reaches the proxy through a MemNet, then tunnels with TLS trusting `ca`.
struct TunnelNet {
    proxy: Rc<MemNet>,
    tls: TlsClientConfig,
}

impl Connector for TunnelNet {
    fn connect(&self, key: &PoolKey, factory: SharedFactory) -> Deferred<Connection> {
        let proxy_key = PoolKey {
            origin: key.tunnel.clone().expect("only tunnels here"),
            tunnel: None,
        };
        let (tls, name) = (self.tls.clone(), key.origin.bare_host().to_owned());
        let wrap = Rc::new(move |protocol| wrap_client_protocol(tls.clone(), &name, protocol));
        let proxy = self.proxy.clone();
        connect_tunnel(
            move |factory| proxy.connect(&proxy_key, factory),
            &key.origin,
            Some(wrap),
            factory,
        )
    }
}

fn tunnel_setup() -> (Rc<MemNet>, Agent, Log) {
    let ca = TestCa::new("tunnel test CA");
    let issued = ca.server(&["good.example"]);
    let key = gyre_tls::pem::parse_private_key(issued.key_pem.as_bytes()).unwrap();
    let server_tls = TlsServerConfig::builder()
        .certificate(issued.chain.clone(), key)
        .build()
        .unwrap();
    let client_tls = TlsClientConfig::builder()
        .ca_certificates(vec![ca.der()])
        .build()
        .unwrap();
    let clock = ManualClock::new();
    let server = HttpServer::new(
        Rc::new(clock.clone()),
        |request: Request, response: ServerResponse| {
            let text = format!("tls {} {}", request.head().method, request.head().target.as_str());
            response
                .send(StatusCode::OK, "text/plain", text.as_bytes())
                .unwrap();
        },
    );
    let log = Log::default();
    let proxy_log = log.clone();
    let proxy = MemNet::new(move |_| {
        Box::new(FakeProxy {
            seen: Vec::new(),
            inner: Some(wrap_server_protocol(
                server_tls.clone(),
                Box::new(server.protocol()),
            )),
            tunnel: None,
            log: proxy_log.clone(),
        })
    });
    let connector = Rc::new(TunnelNet {
        proxy: proxy.clone(),
        tls: client_tls,
    });
    let agent = Agent::builder(Rc::new(clock), connector)
        .proxy(RequestUrl::parse("http://proxy.example:3128").unwrap())
        .build();
    (proxy, agent, log)
}

#[test]
fn https_goes_through_a_connect_tunnel_with_tls_inside() {
    let (net, agent, log) = tunnel_setup();
    assert_eq!(
        text(&net, get(&agent, &net, "https://good.example/secret?q")),
        "tls GET /secret?q"
    );
    assert_eq!(
        text(&net, get(&agent, &net, "https://good.example/again")),
        "tls GET /again"
    );
    assert_eq!(net.connections(), 1, "the tunnel is pooled and reused");
    let connect = log.borrow()[0].clone();
    assert_eq!(
        connect,
        "CONNECT good.example:443 HTTP/1.1\r\nHost: good.example:443\r\n\r\n"
    );
    let key = agent.pool_key(&RequestUrl::parse("https://good.example/").unwrap());
    assert_eq!(key.tunnel.as_ref().unwrap().authority(), "proxy.example:3128");
}

#[test]
fn a_refused_tunnel_fails_with_the_proxy_status() {
    let (net, agent, _) = tunnel_setup();
    let failure = failure_result_of(get(&agent, &net, "https://bad.example/"));
    assert_eq!(
        failure.downcast_ref::<ClientError>(),
        Some(&ClientError::ProxyRefused(403))
    );
    net.pump();
    assert!(!net.is_connected(0));
}
