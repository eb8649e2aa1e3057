//! [`TlsServerConfig`] and its builder: what a TLS server presents and
//! whom it accepts.
//!
//! The defaults are the secure ones: TLS 1.3 preferred, TLS 1.2 the
//! minimum, rustls's safe cipher suites with the *ring* provider, no client
//! certificate asked for. Everything a server may want to change is a
//! builder method, and every file it reads is named in its errors.

use std::path::Path;
use std::sync::Arc;

use gyre_core::Failure;
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::TlsConfigError;
use crate::pem::{load_certificates, load_private_key};
use crate::sni::SniResolver;

/// The ring crypto provider every gyre TLS configuration uses.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn rustls_error(error: rustls::Error) -> Failure {
    Failure::new(TlsConfigError::new(error.to_string(), None))
}

/// A TLS server configuration, cheap to clone (one `Arc` inside) and shared
/// by every connection of a listening port.
#[derive(Clone, Debug)]
pub struct TlsServerConfig {
    pub(crate) inner: Arc<rustls::ServerConfig>,
}

impl TlsServerConfig {
    /// One certificate chain (leaf first) and its private key, from PEM files,
    /// with the defaults: what `ssl:PORT:privateKey=…:certKey=…` needs.
    pub fn from_pem_files(cert_chain: &Path, private_key: &Path) -> Result<TlsServerConfig, Failure> {
        TlsServerConfig::builder()
            .pem_files(cert_chain, private_key)?
            .build()
    }

    /// A builder for SNI, ALPN and client certificates.
    pub fn builder() -> TlsServerBuilder {
        TlsServerBuilder::default()
    }

    /// Wraps an existing rustls configuration, for settings the builder lacks.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> TlsServerConfig {
        TlsServerConfig { inner: config }
    }

    /// The rustls configuration inside.
    pub fn rustls(&self) -> &Arc<rustls::ServerConfig> {
        &self.inner
    }
}

/// Whether and how a server asks for client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    Optional,
    Required,
}

/// Builds a [`TlsServerConfig`].
///
/// ```no_run
/// # fn main() -> Result<(), gyre_core::Failure> {
/// use std::path::Path;
/// use gyre_tls::TlsServerConfig;
///
/// let config = TlsServerConfig::builder()
///     .pem_files(Path::new("default.pem"), Path::new("default.key"))?
///     .sni_pem_files("mail.example.com", Path::new("mail.pem"), Path::new("mail.key"))?
///     .alpn(["h2", "http/1.1"])
///     .require_client_certificates_from(Path::new("clients-ca.pem"))?
///     .build()?;
/// # let _ = config; Ok(()) }
/// ```
pub struct TlsServerBuilder {
    resolver: SniResolver,
    extra_chain: Vec<CertificateDer<'static>>,
    pending: Vec<(
        Option<String>,
        Vec<CertificateDer<'static>>,
        PrivateKeyDer<'static>,
    )>,
    alpn: Vec<Vec<u8>>,
    client_auth: ClientAuth,
    client_roots: RootCertStore,
}

impl Default for TlsServerBuilder {
    fn default() -> Self {
        TlsServerBuilder {
            resolver: SniResolver::new(),
            extra_chain: Vec::new(),
            pending: Vec::new(),
            alpn: Vec::new(),
            client_auth: ClientAuth::None,
            client_roots: RootCertStore::empty(),
        }
    }
}

impl TlsServerBuilder {
    /// The default certificate chain (leaf first) and key, served when the
    /// client names no known site.
    pub fn certificate(mut self, chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        self.pending.push((None, chain, key));
        self
    }

    /// [`certificate`](Self::certificate) from PEM files.
    pub fn pem_files(self, cert_chain: &Path, private_key: &Path) -> Result<Self, Failure> {
        Ok(self.certificate(load_certificates(cert_chain)?, load_private_key(private_key)?))
    }

    /// The certificate for clients asking for `name` by SNI (`*.domain`
    /// for a wildcard).
    pub fn sni_certificate(
        mut self,
        name: &str,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.pending.push((Some(name.to_owned()), chain, key));
        self
    }

    /// [`sni_certificate`](Self::sni_certificate) from PEM files.
    pub fn sni_pem_files(self, name: &str, cert_chain: &Path, private_key: &Path) -> Result<Self, Failure> {
        Ok(self.sni_certificate(
            name,
            load_certificates(cert_chain)?,
            load_private_key(private_key)?,
        ))
    }

    /// Intermediate certificates appended to every chain (Twisted's
    /// `extraCertChain`), for chain files that hold only the leaf.
    pub fn extra_chain_certificates(mut self, certs: Vec<CertificateDer<'static>>) -> Self {
        self.extra_chain.extend(certs);
        self
    }

    /// The application protocols offered by ALPN, most preferred first
    /// (`"h2"`, `"http/1.1"`). A client offering ALPN with none of these
    /// fails the handshake, as RFC 7301 asks.
    pub fn alpn<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        self.alpn = protocols.into_iter().map(|p| p.as_ref().to_vec()).collect();
        self
    }

    /// Asks for a client certificate issued by one of `cas`; clients
    /// without one are still accepted (check `PeerCertificates`).
    pub fn optional_client_certificates(self, cas: Vec<CertificateDer<'static>>) -> Result<Self, Failure> {
        self.client_auth(ClientAuth::Optional, cas)
    }

    /// Requires a client certificate issued by one of `cas`; the handshake
    /// fails without one.
    pub fn require_client_certificates(self, cas: Vec<CertificateDer<'static>>) -> Result<Self, Failure> {
        self.client_auth(ClientAuth::Required, cas)
    }

    /// [`optional_client_certificates`](Self::optional_client_certificates)
    /// with the CA bundle from a PEM file.
    pub fn optional_client_certificates_from(self, ca_file: &Path) -> Result<Self, Failure> {
        self.optional_client_certificates(load_certificates(ca_file)?)
    }

    /// [`require_client_certificates`](Self::require_client_certificates)
    /// with the CA bundle from a PEM file.
    pub fn require_client_certificates_from(self, ca_file: &Path) -> Result<Self, Failure> {
        self.require_client_certificates(load_certificates(ca_file)?)
    }

    fn client_auth(mut self, mode: ClientAuth, cas: Vec<CertificateDer<'static>>) -> Result<Self, Failure> {
        for ca in cas {
            self.client_roots.add(ca).map_err(rustls_error)?;
        }
        self.client_auth = mode;
        Ok(self)
    }

    /// Checks every key against its certificate and builds the configuration.
    pub fn build(mut self) -> Result<TlsServerConfig, Failure> {
        let provider = provider();
        for (name, mut chain, key) in std::mem::take(&mut self.pending) {
            chain.extend(self.extra_chain.iter().cloned());
            let signer = provider
                .key_provider
                .load_private_key(key)
                .map_err(rustls_error)?;
            let certified = CertifiedKey::new(chain, signer);
            certified.keys_match().map_err(|e| {
                rustls_error(e).context(format!(
                    "certificate for {}",
                    name.as_deref().unwrap_or("the default")
                ))
            })?;
            let certified = Arc::new(certified);
            match name {
                Some(name) => self.resolver.add(&name, certified),
                None => self.resolver.set_default(certified),
            }
        }
        if self.resolver.is_empty() {
            return Err(Failure::new(TlsConfigError::new(
                "a TLS server needs a certificate",
                None,
            )));
        }
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(rustls_error)?;
        let builder = match self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            mode => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(self.client_roots), provider);
                let verifier = if mode == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| Failure::new(TlsConfigError::new(e.to_string(), None)))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(self.resolver));
        config.alpn_protocols = self.alpn;
        Ok(TlsServerConfig {
            inner: Arc::new(config),
        })
    }
}
