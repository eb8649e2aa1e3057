//! Reading certificates and keys from PEM files and text.
//!
//! Every loader names the file in its error, because "no certificate found"
//! without a path is the least useful message a server can print at start-up.

use std::path::Path;

use gyre_core::Failure;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::TlsConfigError;

fn config_error(path: &Path, detail: impl std::fmt::Display) -> Failure {
    Failure::new(TlsConfigError::new(detail.to_string(), Some(path.to_path_buf())))
}

/// Every certificate in the PEM file at `path`, in file order (a chain file
/// holds the leaf first, then its intermediates). Fails when the file holds none.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| config_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error(path, e))?;
    if certs.is_empty() {
        return Err(config_error(path, "no CERTIFICATE block found"));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 RSA or SEC1 EC) in the PEM file at `path`.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, Failure> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| config_error(path, e))
}

/// Every certificate in PEM `text` (for certificates kept in memory or
/// generated at run time).
pub fn parse_certificates(text: &[u8]) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let certs = CertificateDer::pem_slice_iter(text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::new(TlsConfigError::new(e.to_string(), None)))?;
    if certs.is_empty() {
        return Err(Failure::new(TlsConfigError::new(
            "no CERTIFICATE block found",
            None,
        )));
    }
    Ok(certs)
}

/// The first private key in PEM `text`.
pub fn parse_private_key(text: &[u8]) -> Result<PrivateKeyDer<'static>, Failure> {
    PrivateKeyDer::from_pem_slice(text).map_err(|e| Failure::new(TlsConfigError::new(e.to_string(), None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_files_name_the_path() {
        let missing = Path::new("/nonexistent/gyre-tls/chain.pem");
        let failure = load_certificates(missing).unwrap_err();
        assert!(failure.is::<TlsConfigError>());
        assert!(failure.to_string().contains("/nonexistent/gyre-tls/chain.pem"));

        let empty = std::env::temp_dir().join(format!("gyre-tls-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, b"not pem at all\n").unwrap();
        let failure = load_certificates(&empty).unwrap_err();
        assert!(failure.to_string().contains("no CERTIFICATE block"), "{failure}");
        assert!(load_private_key(&empty).is_err());
        std::fs::remove_file(&empty).unwrap();
    }

    #[test]
    fn text_without_blocks_is_refused() {
        assert!(parse_certificates(b"").is_err());
        assert!(parse_private_key(b"-----BEGIN NOTHING-----\n").is_err());
    }
}
