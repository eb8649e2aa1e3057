//! Certificates made at test time with rcgen: a throw-away certificate
//! authority per test, server and client certificates it signs, written
//! to PEM files when a third-party peer (openssl, curl) needs files.
//! Nothing here is fit for production; it exists so TLS tests never depend
//! on checked-in keys that expire.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls_pki_types::CertificateDer;

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate chain (leaf, then the CA) and its private key.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The leaf certificate followed by the CA's, in DER.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key in PEM (PKCS#8).
    pub key_pem: String,
    /// The chain in PEM, leaf first.
    pub chain_pem: String,
}

impl Issued {
    /// The leaf certificate in DER.
    pub fn leaf(&self) -> Vec<u8> {
        self.chain[0].to_vec()
    }

    /// Writes `STEM.pem` (chain) and `STEM.key` under `dir`; returns both paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let chain = dir.join(format!("{stem}.pem"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&chain, &self.chain_pem).expect("writing a test certificate");
        std::fs::write(&key, &self.key_pem).expect("writing a test key");
        (chain, key)
    }
}

impl TestCa {
    /// A new CA whose common name is `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("generating a key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("self-signing the CA");
        TestCa { issuer }
    }

    /// The CA certificate in DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// The CA certificate in PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA certificate to `dir/STEM.pem` and returns the path.
    pub fn write(&self, dir: &Path, stem: &str) -> PathBuf {
        let path = dir.join(format!("{stem}.pem"));
        std::fs::write(&path, self.pem()).expect("writing the test CA");
        path
    }

    /// A server certificate for `names` (host names or IP addresses; the
    /// first is also the common name).
    pub fn server(&self, names: &[&str]) -> Issued {
        self.issue(names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate with common name `name`.
    pub fn client(&self, name: &str) -> Issued {
        self.issue(&[name], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("valid names");
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("generating a key");
        let cert = params.signed_by(&key, &self.issuer).expect("signing");
        Issued {
            chain: vec![cert.der().clone(), self.der()],
            key_pem: key.serialize_pem(),
            chain_pem: format!("{}{}", cert.pem(), self.pem()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_chains_end_with_the_ca() {
        let ca = TestCa::new("test CA");
        let server = ca.server(&["localhost", "127.0.0.1"]);
        assert_eq!(server.chain.len(), 2);
        assert_eq!(server.chain[1], ca.der());
        assert!(server.chain_pem.matches("BEGIN CERTIFICATE").count() == 2);
        assert!(server.key_pem.contains("PRIVATE KEY"));
        assert_ne!(ca.client("me").leaf(), server.leaf());
    }
}
