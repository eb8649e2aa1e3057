//! [`ForwardProxy`]: an HTTP proxy handler (Twisted's `proxy.Proxy`) for
//! absolute-form requests, plus `CONNECT` tunnels, which Twisted lacks.

use std::rc::Rc;

use gyre_core::{Failure, Protocol, Transport};
use gyre_endpoints::ClientEndpoint;
use gyre_protocols::portforward::{Relay, RelayConfig};

use crate::client::{HttpClient, RequestUrl, Scheme};
use crate::resource::{Reply, ReplySink};
use crate::server::{Handler, Request, Response};
use crate::{Method, ResponseHead, StatusCode, TargetForm};

use super::exchange::{Outgoing, body_framing, forward};
use super::headers::{Forwarding, add_forwarding, client_address, strip_hop_by_hop};
use super::policy::{AccessPolicy, DefaultPolicy, ProxyAuth};
use super::reverse::DEFAULT_VIA_NAME;

/// Opens the TCP connection of a `CONNECT` tunnel to `host:port`
/// (a `HostnameEndpoint` in production, an in-memory endpoint in tests).
/// Closures `Fn(&str, u16) -> Rc<dyn ClientEndpoint>` are dialers.
pub trait TunnelDialer: 'static {
    /// The endpoint to `host:port`.
    fn endpoint(&self, host: &str, port: u16) -> Rc<dyn ClientEndpoint>;
}

impl<F: Fn(&str, u16) -> Rc<dyn ClientEndpoint> + 'static> TunnelDialer for F {
    fn endpoint(&self, host: &str, port: u16) -> Rc<dyn ClientEndpoint> {
        self(host, port)
    }
}

/// A forward proxy: `GET http://host/path` is forwarded like the reverse
/// proxy does (streamed both ways, hop-by-hop fields and
/// `Proxy-Authorization` removed, `Host` set to the target, forwarding
/// fields added); `CONNECT host:port` opens a TCP tunnel, answered
/// `200 Connection Established` once connected (`502` when it cannot be).
/// Every target goes through an [`AccessPolicy`] (`403` when refused;
/// default [`DefaultPolicy`]: tunnels to 443 only) and, when configured,
/// [`ProxyAuth`] (`407` with `Proxy-Authenticate`).
pub struct ForwardProxy {
    inner: Rc<Inner>,
}

#[derive(Clone)]
struct Inner {
    client: Rc<dyn HttpClient>,
    dialer: Rc<dyn TunnelDialer>,
    policy: Rc<dyn AccessPolicy>,
    auth: Option<ProxyAuth>,
    relay: RelayConfig,
    via_name: Rc<str>,
}

impl ForwardProxy {
    /// A proxy forwarding through `client` and tunnelling through `dialer`.
    pub fn new(client: Rc<dyn HttpClient>, dialer: Rc<dyn TunnelDialer>) -> ForwardProxy {
        ForwardProxy {
            inner: Rc::new(Inner {
                client,
                dialer,
                policy: Rc::new(DefaultPolicy::default()),
                auth: None,
                relay: RelayConfig::default(),
                via_name: Rc::from(DEFAULT_VIA_NAME),
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Rc::make_mut(&mut self.inner)
    }

    /// Replaces the access policy.
    pub fn policy(mut self, policy: Rc<dyn AccessPolicy>) -> Self {
        self.inner_mut().policy = policy;
        self
    }

    /// Requires proxy authentication.
    pub fn auth(mut self, auth: ProxyAuth) -> Self {
        self.inner_mut().auth = Some(auth);
        self
    }

    /// The name written in `Via`.
    pub fn via_name(mut self, name: &str) -> Self {
        self.inner_mut().via_name = Rc::from(name);
        self
    }
}

impl Handler for ForwardProxy {
    fn handle(&self, request: Request, response: Response) {
        let Some(auth) = self.inner.auth.clone() else {
            self.inner.dispatch(request, response);
            return;
        };
        let inner = self.inner.clone();
        auth.check(&request.head().headers).then(move |result| {
            match result {
                Ok(_user) => inner.dispatch(request, response),
                Err(_) => {
                    let mut head = simple_head(407, "Proxy Authentication Required");
                    let _ = head.headers.append("Proxy-Authenticate", auth.challenge());
                    send_text(&response, head, "407 Proxy Authentication Required\n");
                }
            }
            Ok::<(), Failure>(())
        });
    }
}

fn simple_head(code: u16, reason: &str) -> ResponseHead {
    let status = StatusCode::new(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let head = ResponseHead::new(status);
    head.clone().with_reason(reason).unwrap_or(head)
}

fn send_text(response: &Response, mut head: ResponseHead, text: &str) {
    let _ = head.headers.append("Content-Type", "text/plain; charset=utf-8");
    let _ = head.headers.append("Content-Length", text.len().to_string());
    let sent = response
        .send_head(head)
        .and_then(|()| response.write(text.as_bytes()))
        .and_then(|()| response.finish());
    if let Err(error) = sent {
        tracing::debug!(target: "gyre::proxy", %error, "could not answer");
    }
}

/// `host` and `port` of a `CONNECT` target (`host:port`, `[v6]:port`).
fn split_authority(authority: &str) -> Option<(String, u16)> {
    let (host, port) = authority.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

impl Inner {
    fn dispatch(self: &Rc<Self>, request: Request, response: Response) {
        if request.head().method == Method::CONNECT {
            self.tunnel(request, response);
            return;
        }
        let target = &request.head().target;
        if target.form() != TargetForm::Absolute {
            send_text(
                &response,
                simple_head(400, "Bad Request"),
                "400 not a proxy request (absolute-form target expected)\n",
            );
            return;
        }
        let url = match RequestUrl::parse(target.as_str()) {
            Ok(url) if url.scheme() == Scheme::Http => url,
            _ => {
                send_text(
                    &response,
                    simple_head(400, "Bad Request"),
                    "400 only http:// targets (use CONNECT for https)\n",
                );
                return;
            }
        };
        let origin = url.origin().clone();
        if !self.policy.allows(&origin.host, origin.port, false) {
            send_text(
                &response,
                simple_head(403, "Forbidden"),
                "403 destination refused by the proxy policy\n",
            );
            return;
        }
        let head = request.head();
        let mut headers = head.headers.clone();
        let framing = body_framing(&headers);
        let client_host = headers.get_str("host").map(str::to_owned);
        strip_hop_by_hop(&mut headers);
        headers.remove("content-length");
        headers.remove("host");
        add_forwarding(
            &mut headers,
            &Forwarding {
                client: client_address(request.peer()),
                proto: "http",
                host: client_host,
                version: head.version,
                via_name: &self.via_name,
            },
        );
        let outgoing = Outgoing {
            method: head.method.clone(),
            url,
            headers,
            framing,
            body: request.body().clone(),
            via_name: self.via_name.clone(),
        };
        forward(&*self.client, outgoing, Reply::from_response(response));
    }

    fn tunnel(&self, request: Request, response: Response) {
        let Some((host, port)) = request.head().target.authority().and_then(split_authority) else {
            send_text(
                &response,
                simple_head(400, "Bad Request"),
                "400 CONNECT needs host:port\n",
            );
            return;
        };
        if !self.policy.allows(&host, port, true) {
            send_text(
                &response,
                simple_head(403, "Forbidden"),
                "403 tunnel refused by the proxy policy\n",
            );
            return;
        }
        let Some(inbound) = response.transport() else {
            return;
        };
        let relay = Relay::new(&inbound, self.relay);
        let (on_connect, relay_in) = (response.clone(), relay.clone());
        relay.when_connected(move |_, _| {
            let head = simple_head(200, "Connection Established");
            if let Err(error) = on_connect.upgrade(head, Inbound(relay_in)) {
                tracing::debug!(target: "gyre::proxy", %error, "could not open the tunnel");
                on_connect.abort();
            }
        });
        let target = format!("{host}:{port}");
        relay.when_failed(move |inbound, failure| {
            tracing::info!(target: "gyre::proxy", %failure, %target, "tunnel target unreachable");
            inbound.resume_reading();
            send_text(
                &response,
                simple_head(502, "Bad Gateway"),
                "502 tunnel target unreachable\n",
            );
        });
        relay.connect(&*self.dialer.endpoint(&host, port));
    }
}

/// The client's side of a tunnel once the server handed the connection over.
struct Inbound(Relay);

impl Protocol for Inbound {
    fn connection_made(&mut self, _: &Transport) {}

    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.0.data_received(data);
    }

    fn read_connection_lost(&mut self, _: &Transport) {
        self.0.read_connection_lost();
    }

    fn connection_lost(&mut self, _: &Transport, _: Failure) {
        self.0.connection_lost();
    }
}
