//! The typed failures of a TLS connection.
//!
//! A protocol running over TLS learns *why* its connection ended from the
//! reason given to `connection_lost`, so the ways a TLS connection can end
//! each have their own type:
//!
//! | what happened                                         | reason                 |
//! |-------------------------------------------------------|------------------------|
//! | either side sent close_notify and the link closed     | `ConnectionDone`       |
//! | the link ended without close_notify after handshaking | [`TlsTruncated`]       |
//! | the handshake failed (bad certificate, no common ALPN)| [`TlsHandshakeFailed`] |
//! | a record was bad after the handshake                  | [`TlsProtocolError`]   |
//! | configuration could not be loaded or built            | [`TlsConfigError`]     |
//!
//! Truncation matters because an attacker who can cut a TCP connection
//! could otherwise make a partial response look complete; `TlsTruncated`
//! says "the peer did not say it was done". Its `source()` is
//! `ConnectionLost`, so code that only asks `is::<ConnectionLost>()` still
//! treats it as an unclean close.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;

use gyre_core::errors::ConnectionLost;

/// The TLS handshake failed: the rustls error says why (an unknown issuer,
/// a name mismatch, a missing client certificate, an alert from the peer).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsHandshakeFailed {
    /// What rustls reported.
    pub error: rustls::Error,
}

impl TlsHandshakeFailed {
    /// The handshake failed with `error`.
    pub fn new(error: rustls::Error) -> Self {
        TlsHandshakeFailed { error }
    }
}

impl fmt::Display for TlsHandshakeFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS handshake failed: {}", self.error)
    }
}

impl Error for TlsHandshakeFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// The TLS session failed after its handshake: a corrupt or forged record,
/// or a fatal alert from the peer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsProtocolError {
    /// What rustls reported.
    pub error: rustls::Error,
}

impl TlsProtocolError {
    /// The session failed with `error`.
    pub fn new(error: rustls::Error) -> Self {
        TlsProtocolError { error }
    }
}

impl fmt::Display for TlsProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS session failed: {}", self.error)
    }
}

impl Error for TlsProtocolError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// The underlying connection ended without a TLS close_notify after the
/// handshake: the data received may have been cut short.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsTruncated {
    lost: ConnectionLost,
}

impl TlsTruncated {
    /// Makes the error.
    pub fn new() -> Self {
        TlsTruncated::default()
    }
}

impl fmt::Display for TlsTruncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TLS connection was truncated: closed without close_notify")
    }
}

impl Error for TlsTruncated {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.lost)
    }
}

/// A TLS configuration could not be built: an unreadable or malformed PEM
/// file, a key that does not match its certificate, an empty trust store.
#[derive(Debug)]
#[non_exhaustive]
pub struct TlsConfigError {
    /// What was wrong.
    pub detail: String,
    /// The file involved, if any.
    pub path: Option<PathBuf>,
}

impl TlsConfigError {
    /// Configuration failed because of `detail`, about `path` if given.
    pub fn new(detail: impl Into<String>, path: Option<PathBuf>) -> Self {
        TlsConfigError {
            detail: detail.into(),
            path,
        }
    }
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(
                f,
                "TLS configuration error in {}: {}",
                path.display(),
                self.detail
            ),
            None => write!(f, "TLS configuration error: {}", self.detail),
        }
    }
}

impl Error for TlsConfigError {}

/// `start_tls` was asked of a connection that already speaks TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlreadyTls;

impl AlreadyTls {
    /// Makes the error.
    pub fn new() -> Self {
        AlreadyTls
    }
}

impl fmt::Display for AlreadyTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the connection already speaks TLS")
    }
}

impl Error for AlreadyTls {}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_core::Failure;

    #[test]
    fn truncation_is_also_an_unclean_close() {
        let failure = Failure::new(TlsTruncated::new());
        assert!(failure.is::<TlsTruncated>());
        assert!(failure.is::<ConnectionLost>());
    }

    #[test]
    fn handshake_failure_keeps_the_rustls_error() {
        let failure = Failure::new(TlsHandshakeFailed::new(rustls::Error::NoCertificatesPresented));
        assert!(failure.is::<rustls::Error>());
        assert_eq!(
            failure.to_string(),
            "TLS handshake failed: peer sent no certificates"
        );
    }
}
