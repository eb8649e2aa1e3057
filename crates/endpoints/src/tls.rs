//! TLS endpoints over gyre-tls: `ssl:` servers (a TCP server whose
//! factory is wrapped in TLS) and `tls:` clients (a [`HostnameEndpoint`]
//! whose protocol is wrapped, verifying and sending SNI for the host
//! name). Certificate files are read when the description is parsed, as
//! Twisted does, so a wrong path is reported before anything listens.

use std::path::Path;
use std::rc::Rc;

use gyre_core::connector::ListeningPort;
use gyre_core::deferred::Deferred;
use gyre_core::{Failure, SharedFactory};
use gyre_reactor::Reactor;
use gyre_tls::{TlsClientConfig, TlsServerConfig, wrap_client_protocol, wrap_server_factory};

use crate::endpoint::{ClientEndpoint, ServerEndpoint};
use crate::error::{ParseError, ParseErrorKind};
use crate::grammar::Description;
use crate::hostname::{HostnameEndpoint, ascii_host};
use crate::resolver::HostResolver;
use crate::shared_ports::SharedPorts;
use crate::tcp::TcpServerEndpoint;
use crate::tls_spec::{SslServerSpec, TlsClientSpec, TlsTrust};

/// Serves TLS on another server endpoint (Twisted's `ssl:`).
pub struct TlsServerEndpoint {
    inner: Rc<dyn ServerEndpoint>,
    config: TlsServerConfig,
}

impl TlsServerEndpoint {
    /// TLS with `config` over `inner` (TCP, Unix, systemd...).
    pub fn new(inner: Rc<dyn ServerEndpoint>, config: TlsServerConfig) -> Self {
        TlsServerEndpoint { inner, config }
    }
}

impl ServerEndpoint for TlsServerEndpoint {
    fn listen(&self, factory: SharedFactory) -> Deferred<ListeningPort> {
        self.inner
            .listen(wrap_server_factory(self.config.clone(), factory))
    }
}

/// A TLS client endpoint to `host:port`: resolution and happy eyeballs,
/// then TLS verifying `host` (Twisted's `tls:`).
pub fn tls_hostname_endpoint(
    reactor: &Reactor,
    resolver: Rc<dyn HostResolver>,
    host: &str,
    port: u16,
    config: TlsClientConfig,
) -> HostnameEndpoint<Reactor> {
    let name = verified_name(host);
    HostnameEndpoint::new(reactor.clone(), resolver, host, port).wrap_protocol(Rc::new(move |protocol| {
        wrap_client_protocol(config.clone(), &name, protocol)
    }))
}

/// The name a TLS client verifies and sends by SNI for `host`: an IP
/// literal as it is, a host name in its ASCII (IDNA) form, as it appears in
/// certificates. A name IDNA refuses is left for the TLS check to reject.
fn verified_name(host: &str) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host.to_owned();
    }
    ascii_host(host).unwrap_or_else(|_| host.to_owned())
}

/// A file named by `key` could not be used.
fn unusable(description: &Description, key: &str, failure: Failure) -> ParseError {
    let position = description
        .kwargs
        .iter()
        .find(|(k, _)| k.value == key)
        .map_or(0, |(_, v)| v.start);
    let kind = ParseErrorKind::Unusable {
        argument: key.to_owned(),
        detail: failure.to_string(),
    };
    description.error(kind, position)
}

pub(crate) fn ssl_server(
    reactor: &Reactor,
    description: &Description,
    spec: SslServerSpec,
    shared: Option<&SharedPorts>,
) -> Result<Rc<dyn ServerEndpoint>, ParseError> {
    let mut builder = TlsServerConfig::builder()
        .pem_files(&spec.cert_key, &spec.private_key)
        .map_err(|failure| unusable(description, "certKey", failure))?;
    if let Some(chain) = &spec.extra_cert_chain {
        let certificates = gyre_tls::pem::load_certificates(chain)
            .map_err(|failure| unusable(description, "extraCertChain", failure))?;
        builder = builder.extra_chain_certificates(certificates);
    }
    if !spec.alpn.is_empty() {
        builder = builder.alpn(&spec.alpn);
    }
    if let Some(ca) = &spec.client_ca {
        builder = if spec.require_client_cert {
            builder.require_client_certificates_from(ca)
        } else {
            builder.optional_client_certificates_from(ca)
        }
        .map_err(|failure| unusable(description, "clientCA", failure))?;
    }
    let config = builder
        .build()
        .map_err(|failure| unusable(description, "privateKey", failure))?;
    let mut tcp = TcpServerEndpoint::new(reactor.clone(), spec.tcp.address).backlog(spec.tcp.backlog);
    if let Some(ports) = shared {
        tcp = tcp.shared(ports.clone());
    }
    Ok(Rc::new(TlsServerEndpoint::new(Rc::new(tcp), config)))
}

pub(crate) fn tls_client(
    reactor: &Reactor,
    resolver: Rc<dyn HostResolver>,
    description: &Description,
    spec: TlsClientSpec,
) -> Result<Rc<dyn ClientEndpoint>, ParseError> {
    let mut builder = TlsClientConfig::builder();
    builder = match &spec.trust {
        TlsTrust::WebpkiRoots => builder.webpki_roots(),
        TlsTrust::SystemRoots => builder.system_roots(),
        TlsTrust::CaFile(roots) => builder
            .ca_file(roots)
            .map_err(|failure| unusable(description, "trustRoots", failure))?,
        TlsTrust::DangerousSkipVerification => builder.dangerous().skip_verification(),
    };
    if !spec.alpn.is_empty() {
        builder = builder.alpn(&spec.alpn);
    }
    if let Some(certificate) = &spec.certificate {
        let key: &Path = spec.private_key.as_deref().unwrap_or(certificate);
        builder = builder
            .client_certificate_pem_files(certificate, key)
            .map_err(|failure| unusable(description, "certificate", failure))?;
    }
    let trust_key = match spec.trust {
        TlsTrust::SystemRoots => "systemRoots",
        _ => "trustRoots",
    };
    let config = builder
        .build()
        .map_err(|failure| unusable(description, trust_key, failure))?;
    let name = verified_name(spec.verified_name());
    gyre_tls::server_name(&name).map_err(|_| {
        let (argument, at) = match description.kwargs.iter().find(|(k, _)| k.value == "serverName") {
            Some((_, value)) => ("serverName", value.start),
            None => ("host", description.args.first().map_or(0, |t| t.start)),
        };
        description.error(
            ParseErrorKind::InvalidValue {
                argument: argument.into(),
                value: name.clone(),
                expected: "a DNS name or IP address to verify",
            },
            at,
        )
    })?;
    let endpoint = HostnameEndpoint::new(reactor.clone(), resolver, &spec.tcp.host, spec.tcp.port)
        .wrap_protocol(Rc::new(move |protocol| {
            wrap_client_protocol(config.clone(), &name, protocol)
        }))
        .timeout(spec.tcp.timeout)
        .bind_address(spec.tcp.bind_address);
    Ok(Rc::new(endpoint))
}
