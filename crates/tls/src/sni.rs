//! Choosing the server certificate by the name the client asked for (SNI).
//!
//! One listening port can serve several sites, each with its own
//! certificate: the client names the site in its hello, and
//! [`SniResolver`] hands rustls the matching certificate, or the default
//! when the name is unknown or the client sent none (old clients, clients
//! connecting by IP address). Twisted's TLS offers no SNI selection.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Certificates by server name, with a default.
///
/// Names are matched case-insensitively. A name registered as
/// `*.example.com` serves any single label below `example.com`
/// (`www.example.com`, not `a.b.example.com` nor `example.com`), as
/// certificate wildcards do; an exact name wins over a wildcard.
#[derive(Default)]
pub struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl SniResolver {
    /// An empty resolver: every handshake fails until certificates are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `key` to clients asking for `name` (or a wildcard `*.domain`).
    pub fn add(&mut self, name: &str, key: Arc<CertifiedKey>) {
        self.by_name.insert(normalize(name), key);
    }

    /// Serves `key` when no name matches.
    pub fn set_default(&mut self, key: Arc<CertifiedKey>) {
        self.default = Some(key);
    }

    /// Whether any certificate was added.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.default.is_none()
    }

    /// The certificate for a client asking for `name` (`None`: no SNI).
    pub fn lookup(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let found = name.and_then(|name| {
            let name = normalize(name);
            self.by_name.get(&name).cloned().or_else(|| {
                let (_, parent) = name.split_once('.')?;
                self.by_name.get(&format!("*.{parent}")).cloned()
            })
        });
        found.or_else(|| self.default.clone())
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.lookup(client_hello.server_name())
    }
}

impl fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.by_name.keys().collect();
        names.sort();
        f.debug_struct("SniResolver")
            .field("names", &names)
            .field("default", &self.default.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::sign::SigningKey;

    /// A certified key told apart by its (fake) certificate bytes; lookups
    /// never touch the key.
    fn key(tag: &[u8]) -> Arc<CertifiedKey> {
        #[derive(Debug)]
        struct NoKey;
        impl SigningKey for NoKey {
            fn choose_scheme(&self, _: &[rustls::SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
                None
            }
            fn algorithm(&self) -> rustls::SignatureAlgorithm {
                rustls::SignatureAlgorithm::ECDSA
            }
        }
        Arc::new(CertifiedKey::new(vec![tag.to_vec().into()], Arc::new(NoKey)))
    }

    fn tag(found: Option<Arc<CertifiedKey>>) -> Option<Vec<u8>> {
        found.map(|k| k.cert[0].to_vec())
    }

    #[test]
    fn exact_then_wildcard_then_default() {
        let mut resolver = SniResolver::new();
        assert!(resolver.is_empty());
        resolver.add("Alpha.Test", key(b"alpha"));
        resolver.add("*.wild.test", key(b"wild"));
        resolver.add("exact.wild.test", key(b"exact"));
        assert_eq!(tag(resolver.lookup(Some("alpha.test."))), Some(b"alpha".to_vec()));
        assert_eq!(tag(resolver.lookup(Some("x.WILD.test"))), Some(b"wild".to_vec()));
        assert_eq!(
            tag(resolver.lookup(Some("exact.wild.test"))),
            Some(b"exact".to_vec())
        );
        assert_eq!(tag(resolver.lookup(Some("a.b.wild.test"))), None);
        assert_eq!(tag(resolver.lookup(None)), None);
        resolver.set_default(key(b"default"));
        assert_eq!(
            tag(resolver.lookup(Some("a.b.wild.test"))),
            Some(b"default".to_vec())
        );
        assert_eq!(tag(resolver.lookup(None)), Some(b"default".to_vec()));
        assert!(format!("{resolver:?}").contains("alpha.test"));
    }
}
