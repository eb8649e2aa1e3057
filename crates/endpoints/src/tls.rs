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
use crate::hostname::HostnameEndpoint;
use crate::resolver::HostResolver;
use crate::spec::{SslServerSpec, TlsClientSpec};
use crate::tcp::TcpServerEndpoint;

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
    let name = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    HostnameEndpoint::new(reactor.clone(), resolver, host, port).wrap_protocol(Rc::new(move |protocol| {
        wrap_client_protocol(config.clone(), &name, protocol)
    }))
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
) -> Result<Rc<dyn ServerEndpoint>, ParseError> {
    let mut builder = TlsServerConfig::builder()
        .pem_files(&spec.cert_key, &spec.private_key)
        .map_err(|failure| unusable(description, "certKey", failure))?;
    if let Some(chain) = &spec.extra_cert_chain {
        let certificates = gyre_tls::pem::load_certificates(chain)
            .map_err(|failure| unusable(description, "extraCertChain", failure))?;
        builder = builder.extra_chain_certificates(certificates);
    }
    let config = builder
        .build()
        .map_err(|failure| unusable(description, "privateKey", failure))?;
    let tcp = TcpServerEndpoint::new(reactor.clone(), spec.tcp.address).backlog(spec.tcp.backlog);
    Ok(Rc::new(TlsServerEndpoint::new(Rc::new(tcp), config)))
}

pub(crate) fn tls_client(
    reactor: &Reactor,
    resolver: Rc<dyn HostResolver>,
    description: &Description,
    spec: TlsClientSpec,
) -> Result<Rc<dyn ClientEndpoint>, ParseError> {
    let mut builder = TlsClientConfig::builder();
    if let Some(roots) = &spec.trust_roots {
        builder = builder
            .ca_file(roots)
            .map_err(|failure| unusable(description, "trustRoots", failure))?;
    }
    if let Some(certificate) = &spec.certificate {
        let key: &Path = spec.private_key.as_deref().unwrap_or(certificate);
        builder = builder
            .client_certificate_pem_files(certificate, key)
            .map_err(|failure| unusable(description, "certificate", failure))?;
    }
    let config = builder
        .build()
        .map_err(|failure| unusable(description, "trustRoots", failure))?;
    gyre_tls::server_name(spec.tcp.host.trim_start_matches('[').trim_end_matches(']')).map_err(|_| {
        let host = description.args.first().map_or(0, |t| t.start);
        description.error(
            ParseErrorKind::InvalidValue {
                argument: "host".into(),
                value: spec.tcp.host.clone(),
                expected: "a DNS name or IP address to verify",
            },
            host,
        )
    })?;
    let endpoint = tls_hostname_endpoint(reactor, resolver, &spec.tcp.host, spec.tcp.port, config)
        .timeout(spec.tcp.timeout)
        .bind_address(spec.tcp.bind_address);
    Ok(Rc::new(endpoint))
}
