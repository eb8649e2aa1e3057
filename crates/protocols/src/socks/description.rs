//! The `socks5:` client endpoint description, for an [`EndpointRegistry`]:
//!
//! ```text
//! socks5:PROXYHOST:PROXYPORT:host=HOST:port=PORT[:user=USER:password=PASSWORD][:timeout=SECONDS]
//! ```
//!
//! `PROXYHOST` is resolved locally (happy eyeballs, like `tcp:`) and
//! `timeout` applies to reaching the proxy; `HOST` is sent to the proxy as
//! given (an IP literal as an address, anything else as a name the proxy
//! resolves, like curl's `socks5h://`). `user` and `password` go together.
//! Parsing needs no reactor ([`Socks5ClientSpec::parse`]), so it is tested
//! and fuzzed like the built-in descriptions.
//!
//! ```no_run
//! use gyre_endpoints::EndpointRegistry;
//! use gyre_protocols::socks::register_socks5_client;
//!
//! let mut registry = EndpointRegistry::default();
//! register_socks5_client(&mut registry);
//! let reactor = gyre_reactor::Reactor::new().unwrap();
//! let endpoint = registry
//!     .client_from_string(&reactor, "socks5:127.0.0.1:1080:host=example.com:port=80")
//!     .unwrap();
//! # let _ = endpoint;
//! ```

use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use gyre_endpoints::args::Arguments;
use gyre_endpoints::error::ParseErrorKind;
use gyre_endpoints::spec::parse_with;
use gyre_endpoints::{
    ClientEndpoint, Description, EndpointRegistry, HostnameEndpoint, ParseError, ThreadedResolver,
};
use gyre_reactor::Reactor;

use super::client::Socks5ClientEndpoint;
use super::wire::TargetAddr;

/// The connect timeout to the proxy when `timeout` is not given (as `tcp:`).
pub const DEFAULT_PROXY_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed `socks5:` description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socks5ClientSpec {
    /// The proxy's host name or IP address.
    pub proxy_host: String,
    /// The proxy's port.
    pub proxy_port: u16,
    /// Where the proxy is asked to connect.
    pub target: TargetAddr,
    /// Username and password, when given.
    pub credentials: Option<(String, String)>,
    /// Connect timeout to the proxy.
    pub timeout: Duration,
}

impl Socks5ClientSpec {
    /// Parses a `socks5:` description (the prefix is not checked, so it can
    /// be registered under another name too).
    pub fn parse(description: &Description) -> Result<Self, ParseError> {
        parse_with(description, |args| {
            let proxy_host = non_empty(args, "proxyHost")?;
            let token = args.required("proxyPort")?;
            let proxy_port = args.port("proxyPort", token)?;
            let host_token = args.required("host")?;
            let host = host_token.value.clone();
            let token = args.required("port")?;
            let port = args.port("port", token)?;
            let target = match host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
            {
                Ok(ip) => TargetAddr::Ip((ip, port).into()),
                Err(_) => TargetAddr::domain(&host, port)
                    .map_err(|_| args.invalid("host", host_token, "a host name of 1 to 255 bytes"))?,
            };
            let user = args.keyword("user").map(|t| t.value.clone());
            let password = args.keyword("password").map(|t| t.value.clone());
            let credentials = match (user, password) {
                (Some(user), Some(password)) => Some((user, password)),
                (None, None) => None,
                (Some(_), None) => return Err(missing(args, "password")),
                (None, Some(_)) => return Err(missing(args, "user")),
            };
            if let Some((user, password)) = &credentials
                && (user.len() > 255 || password.len() > 255)
            {
                let token = args.keyword("user").expect("taken above");
                return Err(args.invalid("user", token, "a user and password of at most 255 bytes each"));
            }
            let timeout = args.timeout("timeout")?.unwrap_or(DEFAULT_PROXY_TIMEOUT);
            Ok(Socks5ClientSpec {
                proxy_host,
                proxy_port,
                target,
                credentials,
                timeout,
            })
        })
    }

    /// The endpoint this description names, on `reactor`, resolving the
    /// proxy's name with the system resolver on the thread pool.
    pub fn endpoint(&self, reactor: &Reactor) -> Socks5ClientEndpoint {
        let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
        let proxy = HostnameEndpoint::new(reactor.clone(), resolver, &self.proxy_host, self.proxy_port)
            .timeout(self.timeout);
        let endpoint = Socks5ClientEndpoint::new(Rc::new(proxy), self.target.clone());
        match &self.credentials {
            Some((user, password)) => endpoint.with_credentials(user.as_str(), password.as_str()),
            None => endpoint,
        }
    }
}

fn non_empty(args: &mut Arguments<'_>, key: &'static str) -> Result<String, ParseError> {
    let token = args.required(key)?;
    if token.value.is_empty() {
        return Err(args.invalid(key, token, "a host name or IP address"));
    }
    Ok(token.value.clone())
}

fn missing(args: &Arguments<'_>, key: &'static str) -> ParseError {
    let description = args.description();
    description.error(ParseErrorKind::MissingArgument(key), description.source.len())
}

/// Registers the `socks5:` client prefix on `registry`.
pub fn register_socks5_client(registry: &mut EndpointRegistry) {
    registry.register_client("socks5", |reactor, description| {
        let spec = Socks5ClientSpec::parse(description)?;
        Ok(Rc::new(spec.endpoint(reactor)) as Rc<dyn ClientEndpoint>)
    });
}
