//! Typed, sans-IO forms of the TLS descriptions: server `ssl:` and client
//! `tls:`. Kept apart from `spec.rs` because their options (trust, ALPN,
//! client certificates) are many and are checked against each other:
//! contradictory choices such as a CA file *and* skipped verification are
//! refused when the string is parsed, not discovered at handshake time.

use std::path::PathBuf;

use crate::args::Arguments;
use crate::error::{ParseError, ParseErrorKind};
use crate::spec::{TcpClientSpec, TcpServerSpec};

/// `ssl:PORT:privateKey=KEY[:certKey=CERT][:extraCertChain=CHAIN][:alpn=P1,P2]`
/// `[:clientCA=CA.pem[:requireClientCert=1]][:interface=IP][:backlog=N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslServerSpec {
    /// The TCP part.
    pub tcp: TcpServerSpec,
    /// PEM file with the private key.
    pub private_key: PathBuf,
    /// PEM file with the certificate chain (defaults to `privateKey`, as in
    /// Twisted, for files holding both).
    pub cert_key: PathBuf,
    /// PEM file with more chain certificates to send.
    pub extra_cert_chain: Option<PathBuf>,
    /// Application protocols offered by ALPN, most preferred first.
    pub alpn: Vec<String>,
    /// CA bundle that client certificates are verified against; clients are
    /// asked for a certificate only when this is given.
    pub client_ca: Option<PathBuf>,
    /// Refuse clients that present no certificate (needs `clientCA`).
    pub require_client_cert: bool,
}

impl SslServerSpec {
    /// Parses the arguments of `ssl:`.
    pub fn parse(args: &mut Arguments<'_>) -> Result<Self, ParseError> {
        // ssl:PORT:interface=::1 is fine: the family follows the interface.
        let tcp = TcpServerSpec::parse(args, None)?;
        let end = args.description().source.len();
        let private_key = args.path("privateKey")?.ok_or_else(|| {
            args.description()
                .error(ParseErrorKind::MissingArgument("privateKey"), end)
        })?;
        let cert_key = args.path("certKey")?.unwrap_or_else(|| private_key.clone());
        let extra_cert_chain = args.path("extraCertChain")?;
        let alpn = alpn_list(args)?;
        let client_ca = args.path("clientCA")?;
        let require_client_cert = args.flag("requireClientCert")?.unwrap_or(false);
        if require_client_cert && client_ca.is_none() {
            let at = args.keyword("requireClientCert").map_or(end, |t| t.start);
            return Err(args
                .description()
                .error(ParseErrorKind::MissingArgument("clientCA"), at));
        }
        Ok(SslServerSpec {
            tcp,
            private_key,
            cert_key,
            extra_cert_chain,
            alpn,
            client_ca,
            require_client_cert,
        })
    }
}

/// Which certificates a `tls:` client accepts from the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsTrust {
    /// The Mozilla root program, compiled in (webpki-roots): the default,
    /// and the same on every machine.
    #[default]
    WebpkiRoots,
    /// The operating system's store (`systemRoots=1`).
    SystemRoots,
    /// Only CAs from this PEM bundle (`trustRoots=CA.pem`).
    CaFile(PathBuf),
    /// No verification at all (`dangerousSkipVerification=1`): anyone on
    /// the path can read and change the traffic. For tests and debugging.
    DangerousSkipVerification,
}

/// `tls:H:P[:trustRoots=CA.pem|:systemRoots=1|:dangerousSkipVerification=1]`
/// `[:serverName=NAME][:alpn=P1,P2][:certificate=CERT.pem][:privateKey=KEY.pem]`
/// plus the `tcp:` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClientSpec {
    /// Where to connect; `host` is also the name verified and sent as SNI
    /// unless `server_name` is given.
    pub tcp: TcpClientSpec,
    /// How the server's certificate is checked.
    pub trust: TlsTrust,
    /// The name to verify and send by SNI instead of the host (for
    /// connecting to an IP address or an alias).
    pub server_name: Option<String>,
    /// Application protocols offered by ALPN, most preferred first.
    pub alpn: Vec<String>,
    /// PEM client certificate chain to present.
    pub certificate: Option<PathBuf>,
    /// PEM key for `certificate` (defaults to the certificate file).
    pub private_key: Option<PathBuf>,
}

impl TlsClientSpec {
    /// Parses the arguments of `tls:`.
    pub fn parse(args: &mut Arguments<'_>) -> Result<Self, ParseError> {
        let tcp = TcpClientSpec::parse(args)?;
        let trust = trust(args)?;
        let server_name = match args.keyword("serverName") {
            Some(token) if token.value.is_empty() => {
                return Err(args.invalid("serverName", token, "a DNS name or IP address"));
            }
            Some(token) => Some(token.value.clone()),
            None => None,
        };
        let alpn = alpn_list(args)?;
        let certificate = args.path("certificate")?;
        let private_key = args.path("privateKey")?;
        if private_key.is_some() && certificate.is_none() {
            let token = args.keyword("privateKey").map_or(0, |t| t.start);
            return Err(args
                .description()
                .error(ParseErrorKind::MissingArgument("certificate"), token));
        }
        Ok(TlsClientSpec {
            tcp,
            trust,
            server_name,
            alpn,
            certificate,
            private_key,
        })
    }

    /// The name verified against the certificate and sent by SNI.
    pub fn verified_name(&self) -> &str {
        self.server_name
            .as_deref()
            .unwrap_or_else(|| self.tcp.host.trim_start_matches('[').trim_end_matches(']'))
    }
}

/// The one trust choice among `trustRoots`, `systemRoots` and
/// `dangerousSkipVerification`; naming two is an error.
fn trust(args: &mut Arguments<'_>) -> Result<TlsTrust, ParseError> {
    let ca_file = args.path("trustRoots")?;
    let system = args.flag("systemRoots")?.unwrap_or(false);
    let skip = args.flag("dangerousSkipVerification")?.unwrap_or(false);
    let chosen = [ca_file.is_some(), system, skip];
    if chosen.iter().filter(|&&on| on).count() > 1 {
        let key = if skip {
            "dangerousSkipVerification"
        } else {
            "systemRoots"
        };
        let token = args.keyword(key).expect("a chosen trust option was given");
        return Err(args.invalid(
            key,
            token,
            "only one of trustRoots, systemRoots and dangerousSkipVerification",
        ));
    }
    Ok(match (ca_file, system, skip) {
        (Some(path), _, _) => TlsTrust::CaFile(path),
        (None, true, _) => TlsTrust::SystemRoots,
        (None, false, true) => TlsTrust::DangerousSkipVerification,
        (None, false, false) => TlsTrust::WebpkiRoots,
    })
}

/// `alpn=P1,P2`: protocol names, none empty, at most 255 bytes each (the
/// limit of the ALPN wire format).
fn alpn_list(args: &mut Arguments<'_>) -> Result<Vec<String>, ParseError> {
    let Some(token) = args.keyword("alpn") else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = token.value.split(',').map(str::to_owned).collect();
    if names.iter().any(|name| name.is_empty() || name.len() > 255) {
        return Err(args.invalid(
            "alpn",
            token,
            "comma-separated protocol names such as h2,http/1.1",
        ));
    }
    Ok(names)
}
