//! Typed, sans-IO forms of the built-in endpoint descriptions. Each
//! `parse` checks every argument and reports the wrong one; building the
//! endpoint from a spec (in `registry.rs`) is the only step that needs a
//! reactor.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use gyre_core::address::UnixAddress;

use crate::args::Arguments;
use crate::error::{ParseError, ParseErrorKind};
use crate::grammar::{Description, Token};
pub use crate::tls_spec::{SslServerSpec, TlsClientSpec, TlsTrust};

/// Twisted's default listen queue length.
pub const DEFAULT_BACKLOG: u32 = 50;
/// Twisted's default connect timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `tcp:PORT[:interface=IP][:backlog=N]` and `tcp6:...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpServerSpec {
    /// The address to bind (interface and port).
    pub address: SocketAddr,
    /// Listen queue length.
    pub backlog: u32,
}

impl TcpServerSpec {
    /// Parses the arguments of `tcp:` (`ipv6: Some(false)`), `tcp6:`
    /// (`Some(true)`) or either family (`None`, IPv4 by default).
    pub fn parse(args: &mut Arguments<'_>, ipv6: Option<bool>) -> Result<Self, ParseError> {
        let port_token = args.required("port")?;
        let port = args.port("port", port_token)?;
        let interface = match args.keyword("interface") {
            Some(token) => {
                let ip: IpAddr = args.parse("interface", token, "an IP address")?;
                match ipv6 {
                    Some(true) if !ip.is_ipv6() => {
                        return Err(args.invalid("interface", token, "an IPv6 address"));
                    }
                    Some(false) if ip.is_ipv6() => {
                        return Err(args.invalid("interface", token, "an IPv4 address (use tcp6: for IPv6)"));
                    }
                    _ => ip,
                }
            }
            None if ipv6 == Some(true) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let backlog = args
            .optional("backlog", "a queue length")?
            .unwrap_or(DEFAULT_BACKLOG);
        Ok(TcpServerSpec {
            address: SocketAddr::new(interface, port),
            backlog,
        })
    }
}

/// Parses a Unix socket name: a path, or `@name` for a Linux abstract name.
pub fn unix_address(args: &Arguments<'_>, argument: &str, token: &Token) -> Result<UnixAddress, ParseError> {
    if token.value.is_empty() {
        return Err(args.invalid(argument, token, "a socket path"));
    }
    match token.value.strip_prefix('@') {
        Some(name) if cfg!(target_os = "linux") => Ok(UnixAddress::Abstract(name.as_bytes().to_vec())),
        Some(_) => Err(args.description().error(
            ParseErrorKind::Unsupported("abstract Unix socket names (Linux only)".into()),
            token.start,
        )),
        None => Ok(UnixAddress::Path(PathBuf::from(&token.value))),
    }
}

/// `unix:PATH[:mode=660][:lockfile=1][:backlog=N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixServerSpec {
    /// Where to listen.
    pub address: UnixAddress,
    /// Socket file permissions (octal in the string).
    pub mode: Option<u32>,
    /// Hold `PATH.lock` while listening.
    pub lockfile: bool,
    /// Listen queue length.
    pub backlog: u32,
}

impl UnixServerSpec {
    /// Parses the arguments of `unix:` for a server.
    pub fn parse(args: &mut Arguments<'_>) -> Result<Self, ParseError> {
        let token = args.required("address")?;
        let address = unix_address(args, "address", token)?;
        let mode = match args.keyword("mode") {
            Some(token) => Some(
                u32::from_str_radix(&token.value, 8)
                    .ok()
                    .filter(|mode| *mode <= 0o7777)
                    .ok_or_else(|| args.invalid("mode", token, "octal permissions such as 660"))?,
            ),
            None => None,
        };
        let lockfile = args.flag("lockfile")?.unwrap_or(false);
        let backlog = args
            .optional("backlog", "a queue length")?
            .unwrap_or(DEFAULT_BACKLOG);
        Ok(UnixServerSpec {
            address,
            mode,
            lockfile,
            backlog,
        })
    }
}

/// The socket family named by `systemd:domain=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemdDomain {
    /// `INET`: an IPv4 socket.
    Inet,
    /// `INET6`: an IPv6 socket.
    Inet6,
    /// `UNIX`: a Unix stream socket.
    Unix,
}

/// `systemd:domain=INET:index=0`: the `index`th socket systemd passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdSpec {
    /// The family the socket must have.
    pub domain: SystemdDomain,
    /// Which passed socket (0 is descriptor 3).
    pub index: usize,
}

impl SystemdSpec {
    /// Parses the arguments of `systemd:`.
    pub fn parse(args: &mut Arguments<'_>) -> Result<Self, ParseError> {
        let token = args.required("domain")?;
        let domain = match token.value.as_str() {
            "INET" => SystemdDomain::Inet,
            "INET6" => SystemdDomain::Inet6,
            "UNIX" => SystemdDomain::Unix,
            _ => return Err(args.invalid("domain", token, "INET, INET6 or UNIX")),
        };
        let token = args.required("index")?;
        let index = args.parse("index", token, "a socket index from 0")?;
        Ok(SystemdSpec { domain, index })
    }
}

/// `tcp:host=H:port=P[:timeout=S][:bindAddress=IP]` (or `tcp:H:P`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpClientSpec {
    /// Host name or IP literal.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Connect timeout per attempt.
    pub timeout: Duration,
    /// Local address to bind first (port 0 unless given as `IP:PORT`).
    pub bind_address: Option<SocketAddr>,
}

impl TcpClientSpec {
    /// Parses the arguments of a client `tcp:` (also the address part of `tls:`).
    pub fn parse(args: &mut Arguments<'_>) -> Result<Self, ParseError> {
        let host_token = args.required("host")?;
        if host_token.value.is_empty() {
            return Err(args.invalid("host", host_token, "a host name or IP address"));
        }
        let port_token = args.required("port")?;
        let port = args.port("port", port_token)?;
        let timeout = args.timeout("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
        let bind_address = match args.keyword("bindAddress") {
            Some(token) => Some(match token.value.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, 0),
                Err(_) => args.parse("bindAddress", token, "an IP address or IP:PORT")?,
            }),
            None => None,
        };
        Ok(TcpClientSpec {
            host: host_token.value.clone(),
            port,
            timeout,
            bind_address,
        })
    }
}

/// `unix:path=P[:timeout=S]` (or `unix:P`) for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixClientSpec {
    /// Where to connect.
    pub address: UnixAddress,
    /// Connect timeout.
    pub timeout: Duration,
}

impl UnixClientSpec {
    /// Parses the arguments of a client `unix:`.
    pub fn parse(args: &mut Arguments<'_>) -> Result<Self, ParseError> {
        let token = args.required("path")?;
        let address = unix_address(args, "path", token)?;
        let timeout = args.timeout("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
        Ok(UnixClientSpec { address, timeout })
    }
}

/// Parses `description` with `parse`, then rejects arguments it did not use.
pub fn parse_with<T>(
    description: &Description,
    parse: impl FnOnce(&mut Arguments<'_>) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    let mut args = Arguments::new(description);
    let spec = parse(&mut args)?;
    args.finish()?;
    Ok(spec)
}

/// A built-in server description, parsed without a reactor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSpec {
    /// `tcp:` or `tcp6:`.
    Tcp(TcpServerSpec),
    /// `unix:`.
    Unix(UnixServerSpec),
    /// `ssl:`.
    Ssl(SslServerSpec),
    /// `systemd:`.
    Systemd(SystemdSpec),
    /// `stdio:`.
    Stdio,
}

impl ServerSpec {
    /// Parses a built-in server description; `Ok(None)` for another prefix.
    pub fn parse(description: &Description) -> Result<Option<ServerSpec>, ParseError> {
        let spec = match description.prefix.value.to_ascii_lowercase().as_str() {
            "tcp" => ServerSpec::Tcp(parse_with(description, |a| TcpServerSpec::parse(a, Some(false)))?),
            "tcp6" => ServerSpec::Tcp(parse_with(description, |a| TcpServerSpec::parse(a, Some(true)))?),
            "unix" => ServerSpec::Unix(parse_with(description, UnixServerSpec::parse)?),
            "ssl" => ServerSpec::Ssl(parse_with(description, SslServerSpec::parse)?),
            "systemd" => ServerSpec::Systemd(parse_with(description, SystemdSpec::parse)?),
            "stdio" => parse_with(description, |_| Ok(ServerSpec::Stdio))?,
            _ => return Ok(None),
        };
        Ok(Some(spec))
    }
}

/// A built-in client description, parsed without a reactor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSpec {
    /// `tcp:`.
    Tcp(TcpClientSpec),
    /// `tls:`.
    Tls(TlsClientSpec),
    /// `unix:`.
    Unix(UnixClientSpec),
}

impl ClientSpec {
    /// Parses a built-in client description; `Ok(None)` for another prefix.
    pub fn parse(description: &Description) -> Result<Option<ClientSpec>, ParseError> {
        let spec = match description.prefix.value.to_ascii_lowercase().as_str() {
            "tcp" => ClientSpec::Tcp(parse_with(description, TcpClientSpec::parse)?),
            "tls" => ClientSpec::Tls(parse_with(description, TlsClientSpec::parse)?),
            "unix" => ClientSpec::Unix(parse_with(description, UnixClientSpec::parse)?),
            _ => return Ok(None),
        };
        Ok(Some(spec))
    }
}
