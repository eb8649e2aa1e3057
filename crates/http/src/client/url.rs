//! Request URLs: `http://` and `https://` only, parsed by the `url` crate
//! (WHATWG URL Standard: IDNA host names to punycode, IPv6 literals,
//! default ports dropped, existing percent-encoding kept as it is).
//!
//! The `url` crate is used rather than a parser of our own because URL
//! parsing is where clients and servers disagree in dangerous ways; the
//! WHATWG algorithm is what browsers do, and the crate is fuzzed and
//! maintained by the Servo project. This module only narrows it: a scheme
//! other than http/https, a missing host, or user info is refused.

use std::fmt;

use crate::client::error::ClientError;

/// The scheme of a request URL; decides the default port and TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (port 80).
    Http,
    /// HTTP over TLS (port 443).
    Https,
}

impl Scheme {
    /// The scheme as written in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Where a request goes: the key of the connection pool, since connections
/// to the same scheme, host and port are interchangeable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The scheme.
    pub scheme: Scheme,
    /// The host in ASCII: a punycode name, an IPv4 literal or a bracketed IPv6 literal.
    pub host: String,
    /// The port (the scheme's default when the URL had none).
    pub port: u16,
}

impl Origin {
    /// `host[:port]` as sent in `Host`, the port left out when it is the default.
    pub fn authority(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The host without IPv6 brackets, as a resolver or TLS name check wants it.
    pub fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }
}

/// A parsed, validated `http`/`https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrl {
    url: url::Url,
    origin: Origin,
}

impl RequestUrl {
    /// Parses an absolute URL. The fragment is dropped (it is never sent).
    pub fn parse(text: &str) -> Result<RequestUrl, ClientError> {
        let url = url::Url::parse(text).map_err(|error| ClientError::InvalidUrl(error.to_string()))?;
        RequestUrl::from_url(url)
    }

    fn from_url(mut url: url::Url) -> Result<RequestUrl, ClientError> {
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(ClientError::InvalidUrl(format!("unsupported scheme {other:?}"))),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClientError::InvalidUrl(
                "user info in URLs is not supported".into(),
            ));
        }
        let host = match url.host_str() {
            Some(host) if !host.is_empty() => host.to_owned(),
            _ => return Err(ClientError::InvalidUrl("no host".into())),
        };
        url.set_fragment(None);
        let port = url.port().unwrap_or(scheme.default_port());
        Ok(RequestUrl {
            origin: Origin { scheme, host, port },
            url,
        })
    }

    /// Resolves `reference` (a `Location` value) against this URL.
    pub fn join(&self, reference: &str) -> Result<RequestUrl, ClientError> {
        let url = self
            .url
            .join(reference)
            .map_err(|error| ClientError::InvalidUrl(error.to_string()))?;
        RequestUrl::from_url(url)
    }

    /// Scheme, host and port.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.origin.scheme
    }

    /// The path (URL-encoded, at least `/`).
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// Path and query: the origin-form request target.
    pub fn path_and_query(&self) -> String {
        match self.url.query() {
            Some(query) => format!("{}?{}", self.url.path(), query),
            None => self.url.path().to_owned(),
        }
    }

    /// The whole URL (the absolute-form target sent to a proxy).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

impl fmt::Display for RequestUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_ports_and_targets() {
        let url = RequestUrl::parse("http://Example.COM/a%2Fb/c?x=1%20&y#frag").unwrap();
        assert_eq!(url.origin().host, "example.com");
        assert_eq!(url.origin().port, 80);
        assert_eq!(url.path_and_query(), "/a%2Fb/c?x=1%20&y");
        assert_eq!(url.origin().authority(), "example.com");
        assert_eq!(url.as_str(), "http://example.com/a%2Fb/c?x=1%20&y");

        let url = RequestUrl::parse("https://[::1]:8443").unwrap();
        assert_eq!(url.origin().host, "[::1]");
        assert_eq!(url.origin().bare_host(), "::1");
        assert_eq!(url.origin().authority(), "[::1]:8443");
        assert_eq!(url.path_and_query(), "/");

        let url = RequestUrl::parse("https://bücher.example:443/").unwrap();
        assert_eq!(url.origin().host, "xn--bcher-kva.example");
        assert_eq!(url.origin().port, 443);
    }

    #[test]
    fn refusals() {
        for bad in [
            "ftp://x/",
            "http://",
            "http://user:pw@x/",
            "/relative",
            "http://[::1/",
            "http://x:99999/",
        ] {
            assert!(RequestUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_references() {
        let base = RequestUrl::parse("http://a.example/b/c?q").unwrap();
        assert_eq!(base.join("d").unwrap().as_str(), "http://a.example/b/d");
        assert_eq!(base.join("/e?f").unwrap().as_str(), "http://a.example/e?f");
        assert_eq!(base.join("//other:81/").unwrap().origin().authority(), "other:81");
        assert!(base.join("ftp://x/").is_err());
    }
}
