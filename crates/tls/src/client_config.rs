//! [`TlsClientConfig`] and its builder: whom a TLS client trusts and what
//! it presents.
//!
//! By default a client trusts the Mozilla root programme (webpki-roots,
//! compiled in, so it behaves the same on every machine), checks the
//! server's name or IP address against the certificate, and sends SNI.
//! The system's trust store and private CA files are opt-in; skipping
//! verification is possible only through the loudly named
//! [`TlsClientBuilder::dangerous`].

use std::path::Path;
use std::sync::Arc;

use gyre_core::Failure;
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::error::TlsConfigError;
use crate::pem::{load_certificates, load_private_key};
use crate::server_config::{provider, rustls_error};
use crate::verify::NoVerification;

/// A TLS client configuration, cheap to clone (one `Arc` inside).
#[derive(Clone, Debug)]
pub struct TlsClientConfig {
    pub(crate) inner: Arc<rustls::ClientConfig>,
}

impl TlsClientConfig {
    /// A builder; `TlsClientConfig::builder().build()` trusts webpki-roots.
    pub fn builder() -> TlsClientBuilder {
        TlsClientBuilder::default()
    }

    /// Wraps an existing rustls configuration, for settings the builder lacks.
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> TlsClientConfig {
        TlsClientConfig { inner: config }
    }

    /// The rustls configuration inside.
    pub fn rustls(&self) -> &Arc<rustls::ClientConfig> {
        &self.inner
    }
}

/// Builds a [`TlsClientConfig`].
///
/// ```
/// # fn main() -> Result<(), gyre_core::Failure> {
/// use gyre_tls::TlsClientConfig;
///
/// // The Mozilla roots, offering HTTP/2 and HTTP/1.1.
/// let config = TlsClientConfig::builder().alpn(["h2", "http/1.1"]).build()?;
/// # let _ = config; Ok(()) }
/// ```
#[derive(Default)]
pub struct TlsClientBuilder {
    webpki_roots: bool,
    system_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    skip_verification: bool,
    client_certificate: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    alpn: Vec<Vec<u8>>,
}

impl TlsClientBuilder {
    /// Trusts the Mozilla root programme (compiled in). This is the default
    /// when no trust roots are named at all.
    pub fn webpki_roots(mut self) -> Self {
        self.webpki_roots = true;
        self
    }

    /// Trusts the operating system's store (`/etc/ssl/certs`, or
    /// `SSL_CERT_FILE`/`SSL_CERT_DIR`), loaded when the configuration is built.
    pub fn system_roots(mut self) -> Self {
        self.system_roots = true;
        self
    }

    /// Trusts the given CA certificates (a private CA, a test CA).
    pub fn ca_certificates(mut self, cas: Vec<CertificateDer<'static>>) -> Self {
        self.extra_roots.extend(cas);
        self
    }

    /// Trusts the CA certificates in a PEM file.
    pub fn ca_file(self, path: &Path) -> Result<Self, Failure> {
        Ok(self.ca_certificates(load_certificates(path)?))
    }

    /// Presents this certificate chain (leaf first) to servers that ask.
    pub fn client_certificate(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.client_certificate = Some((chain, key));
        self
    }

    /// [`client_certificate`](Self::client_certificate) from PEM files.
    pub fn client_certificate_pem_files(self, chain: &Path, key: &Path) -> Result<Self, Failure> {
        Ok(self.client_certificate(load_certificates(chain)?, load_private_key(key)?))
    }

    /// Offers these application protocols by ALPN, most preferred first.
    pub fn alpn<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        self.alpn = protocols.into_iter().map(|p| p.as_ref().to_vec()).collect();
        self
    }

    /// Options that weaken security, kept apart so that code using them says so.
    pub fn dangerous(self) -> DangerousClientBuilder {
        DangerousClientBuilder(self)
    }

    /// Loads the trust roots and builds the configuration. Fails when the
    /// resulting trust store is empty (the system store could not be read,
    /// say), because such a client could never connect.
    pub fn build(self) -> Result<TlsClientConfig, Failure> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(rustls_error)?;
        let builder = if self.skip_verification {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification::new()))
        } else {
            builder.with_root_certificates(self.root_store()?)
        };
        let mut config = match self.client_certificate {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(rustls_error)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn;
        Ok(TlsClientConfig {
            inner: Arc::new(config),
        })
    }

    fn root_store(&self) -> Result<RootCertStore, Failure> {
        let mut store = RootCertStore::empty();
        let nothing_named = !self.system_roots && self.extra_roots.is_empty();
        if self.webpki_roots || nothing_named {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.system_roots {
            let loaded = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(loaded.certs);
            if added == 0 {
                let why = loaded
                    .errors
                    .first()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(Failure::new(TlsConfigError::new(
                    format!("no usable certificate in the system trust store{why}"),
                    None,
                )));
            }
        }
        for ca in &self.extra_roots {
            store.add(ca.clone()).map_err(rustls_error)?;
        }
        Ok(store)
    }
}

/// The options of [`TlsClientBuilder::dangerous`].
pub struct DangerousClientBuilder(TlsClientBuilder);

impl DangerousClientBuilder {
    /// Accepts any server certificate, for any name: the connection is
    /// encrypted but anyone in the middle can read it. For tests and for
    /// peers authenticated some other way only.
    pub fn skip_verification(mut self) -> TlsClientBuilder {
        self.0.skip_verification = true;
        self.0
    }
}

/// Parses a host name or IP address for SNI and certificate checks.
/// Internationalized names are converted to their ASCII (punycode) form
/// first, so `bücher.example` checks against `xn--bcher-kva.example`.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Failure> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    let ascii = idna::domain_to_ascii(host)
        .map_err(|_| Failure::new(TlsConfigError::new(format!("invalid host name {host:?}"), None)))?;
    ServerName::try_from(ascii).map_err(|e| {
        Failure::new(TlsConfigError::new(
            format!("invalid host name {host:?}: {e}"),
            None,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_parse() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(server_name("[::1]").unwrap(), ServerName::IpAddress(_)));
        assert_eq!(
            server_name("Bücher.example").unwrap(),
            ServerName::try_from("xn--bcher-kva.example").unwrap()
        );
        assert!(server_name("bad name!").unwrap_err().is::<TlsConfigError>());
        assert!(server_name("").is_err());
    }

    #[test]
    fn default_builds_with_webpki_roots() {
        let config = TlsClientConfig::builder().alpn(["h2"]).build().unwrap();
        assert_eq!(config.rustls().alpn_protocols, vec![b"h2".to_vec()]);
    }
}
