//! [`ClientError`]: every way a client request fails that is not the
//! network's own error (those arrive as the transport's `Failure`).

use std::fmt;

use crate::HttpError;

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Establishing the connection (including TLS set-up by the endpoint).
    Connect,
    /// Waiting for the response head once the request was sent.
    ResponseHead,
    /// No response body byte for too long while the body was being read.
    BodyIdle,
}

/// A client request failed; found in the `Failure` with `downcast_ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The URL could not be used.
    InvalidUrl(String),
    /// The request could not be written (a bad header, say).
    InvalidRequest(String),
    /// A deadline passed.
    Timeout(TimeoutPhase),
    /// The server's bytes were refused or it closed mid-response.
    Protocol(HttpError),
    /// The connection ended before the response was complete.
    ConnectionLost(String),
    /// The body was larger than the limit given to `read_body`.
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The decompressed body grew past the decoder's limit (a zip bomb).
    DecodedTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The compressed body was malformed.
    Decoding(String),
    /// More redirects than allowed; the last URL is kept.
    TooManyRedirects {
        /// The limit.
        limit: usize,
        /// The URL that would have been followed next.
        location: String,
    },
    /// A redirect without a usable `Location`.
    InvalidRedirect(String),
    /// The proxy refused to open a tunnel (its status code).
    ProxyRefused(u16),
    /// The response body was dropped or abandoned before it ended.
    BodyAbandoned,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            ClientError::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            ClientError::Timeout(phase) => write!(f, "timed out ({phase:?})"),
            ClientError::Protocol(error) => write!(f, "HTTP protocol error: {error}"),
            ClientError::ConnectionLost(why) => write!(f, "connection lost: {why}"),
            ClientError::BodyTooLarge { limit } => write!(f, "response body larger than {limit} bytes"),
            ClientError::DecodedTooLarge { limit } => {
                write!(f, "decompressed body larger than {limit} bytes")
            }
            ClientError::Decoding(why) => write!(f, "content decoding failed: {why}"),
            ClientError::TooManyRedirects { limit, location } => {
                write!(f, "more than {limit} redirects (next: {location})")
            }
            ClientError::InvalidRedirect(why) => write!(f, "invalid redirect: {why}"),
            ClientError::ProxyRefused(status) => write!(f, "proxy refused the tunnel with {status}"),
            ClientError::BodyAbandoned => f.write_str("response body abandoned"),
        }
    }
}

impl std::error::Error for ClientError {}
