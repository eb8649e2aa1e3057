//! [`EndpointRegistry`]: description prefixes → endpoint parsers. An
//! explicit value rather than a global, so a program decides which
//! prefixes it accepts and other crates add theirs (`haproxy:` wrapping
//! another description, say) with [`register_server`](EndpointRegistry::register_server).

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use gyre_reactor::Reactor;

use crate::endpoint::{ClientEndpoint, ServerEndpoint};
use crate::error::{ParseError, ParseErrorKind};
use crate::grammar::Description;
use crate::hostname::HostnameEndpoint;
use crate::resolver::{HostResolver, ThreadedResolver};
use crate::shared_ports::SharedPorts;
use crate::spec::{ClientSpec, ServerSpec};
use crate::stdio::StdioEndpoint;
use crate::systemd::SystemdEndpoint;
use crate::tcp::TcpServerEndpoint;
use crate::unix::{UnixClientEndpoint, UnixServerEndpoint};

/// Builds a server endpoint from a parsed description.
pub type ServerParser = Rc<dyn Fn(&Reactor, &Description) -> Result<Rc<dyn ServerEndpoint>, ParseError>>;
/// Builds a server endpoint that wraps another (`haproxy:tcp:8080`): it
/// receives its own description (its prefix and the keyword arguments
/// written before the inner description) and the inner endpoint, already
/// built from the rest of the string by the same registry.
pub type ServerWrapper =
    Rc<dyn Fn(&Reactor, &Description, Rc<dyn ServerEndpoint>) -> Result<Rc<dyn ServerEndpoint>, ParseError>>;
/// Builds a client endpoint from a parsed description.
pub type ClientParser = Rc<dyn Fn(&Reactor, &Description) -> Result<Rc<dyn ClientEndpoint>, ParseError>>;

/// The known description prefixes (matched without regard to ASCII case).
#[derive(Clone)]
pub struct EndpointRegistry {
    servers: HashMap<String, ServerParser>,
    server_wrappers: HashMap<String, ServerWrapper>,
    clients: HashMap<String, ClientParser>,
}

impl Default for EndpointRegistry {
    /// The built-ins: servers `tcp`, `tcp6`, `unix`, `ssl`, `systemd`,
    /// `stdio`; clients `tcp`, `tls`, `unix`.
    fn default() -> Self {
        let mut registry = EndpointRegistry::empty();
        for prefix in BUILTIN_SERVERS {
            registry.register_server(prefix, |reactor, description| {
                builtin_server(reactor, description, None)
            });
        }
        for prefix in ["tcp", "tls", "unix"] {
            registry.register_client(prefix, builtin_client);
        }
        registry
    }
}

/// The server prefixes [`EndpointRegistry::default`] knows.
const BUILTIN_SERVERS: [&str; 6] = ["tcp", "tcp6", "unix", "ssl", "systemd", "stdio"];

impl EndpointRegistry {
    /// The same registry with its built-in server prefixes made for worker
    /// threads that share ports: `tcp:`, `tcp6:` and `ssl:` listen with
    /// `SO_REUSEPORT` through `ports` (see [`SharedPorts`]); `unix:`,
    /// `systemd:` and `stdio:`, which one process cannot bind several
    /// times, are refused with a parse error that says so. Wrappers such as
    /// `haproxy:` build their inner endpoint through these parsers, so they
    /// are shared too.
    pub fn shared_ports(mut self, ports: SharedPorts) -> Self {
        for prefix in BUILTIN_SERVERS {
            let ports = ports.clone();
            self.register_server(prefix, move |reactor, description| {
                builtin_server(reactor, description, Some(&ports))
            });
        }
        self
    }

    /// A registry that knows no prefix.
    pub fn empty() -> Self {
        EndpointRegistry {
            servers: HashMap::new(),
            server_wrappers: HashMap::new(),
            clients: HashMap::new(),
        }
    }

    /// Adds (or replaces) the server parser for `prefix`.
    pub fn register_server(
        &mut self,
        prefix: &str,
        parser: impl Fn(&Reactor, &Description) -> Result<Rc<dyn ServerEndpoint>, ParseError> + 'static,
    ) {
        self.server_wrappers.remove(&prefix.to_ascii_lowercase());
        self.servers.insert(prefix.to_ascii_lowercase(), Rc::new(parser));
    }

    /// Adds (or replaces) a server prefix that wraps another description:
    /// `PREFIX[:key=value...]:INNER`, where `INNER` (from the first
    /// positional argument on) is parsed by this registry, whatever was
    /// registered after this call, and the keyword arguments before it are
    /// the wrapper's own.
    pub fn register_server_wrapper(
        &mut self,
        prefix: &str,
        wrapper: impl Fn(
            &Reactor,
            &Description,
            Rc<dyn ServerEndpoint>,
        ) -> Result<Rc<dyn ServerEndpoint>, ParseError>
        + 'static,
    ) {
        self.servers.remove(&prefix.to_ascii_lowercase());
        self.server_wrappers
            .insert(prefix.to_ascii_lowercase(), Rc::new(wrapper));
    }

    /// Adds (or replaces) the client parser for `prefix`.
    pub fn register_client(
        &mut self,
        prefix: &str,
        parser: impl Fn(&Reactor, &Description) -> Result<Rc<dyn ClientEndpoint>, ParseError> + 'static,
    ) {
        self.clients.insert(prefix.to_ascii_lowercase(), Rc::new(parser));
    }

    /// A server endpoint from a description such as `tcp:8080:interface=127.0.0.1`.
    pub fn server_from_string(
        &self,
        reactor: &Reactor,
        description: &str,
    ) -> Result<Rc<dyn ServerEndpoint>, ParseError> {
        let parsed = Description::parse(description)?;
        if let Some(wrapper) = self
            .server_wrappers
            .get(&parsed.prefix.value.to_ascii_lowercase())
        {
            return self.wrapped_server(reactor, &parsed, wrapper);
        }
        let parser = self
            .servers
            .get(&parsed.prefix.value.to_ascii_lowercase())
            .ok_or_else(|| parsed.error(ParseErrorKind::UnknownPrefix(parsed.prefix.value.clone()), 0))?;
        parser(reactor, &parsed)
    }

    /// Splits a wrapper's description at its first positional argument,
    /// builds the inner endpoint from the rest (errors point into the
    /// whole string) and hands both to the wrapper.
    fn wrapped_server(
        &self,
        reactor: &Reactor,
        parsed: &Description,
        wrapper: &ServerWrapper,
    ) -> Result<Rc<dyn ServerEndpoint>, ParseError> {
        let Some(first) = parsed.args.first() else {
            let end = parsed.source.len();
            return Err(parsed.error(ParseErrorKind::MissingArgument("endpoint"), end));
        };
        let own = Description {
            prefix: parsed.prefix.clone(),
            args: Vec::new(),
            kwargs: parsed
                .kwargs
                .iter()
                .filter(|(key, _)| key.start < first.start)
                .cloned()
                .collect(),
            source: parsed.source.clone(),
        };
        let inner = self
            .server_from_string(reactor, &parsed.source[first.start..])
            .map_err(|error| parsed.error(error.kind().clone(), error.position() + first.start))?;
        wrapper(reactor, &own, inner)
    }

    /// A client endpoint from a description such as `tcp:host=example.com:port=80`.
    pub fn client_from_string(
        &self,
        reactor: &Reactor,
        description: &str,
    ) -> Result<Rc<dyn ClientEndpoint>, ParseError> {
        let parsed = Description::parse(description)?;
        let parser = self
            .clients
            .get(&parsed.prefix.value.to_ascii_lowercase())
            .ok_or_else(|| parsed.error(ParseErrorKind::UnknownPrefix(parsed.prefix.value.clone()), 0))?;
        parser(reactor, &parsed)
    }

    /// The server prefixes known, sorted.
    pub fn server_prefixes(&self) -> Vec<String> {
        let mut prefixes: Vec<String> = self
            .servers
            .keys()
            .chain(self.server_wrappers.keys())
            .cloned()
            .collect();
        prefixes.sort();
        prefixes
    }

    /// The client prefixes known, sorted.
    pub fn client_prefixes(&self) -> Vec<String> {
        let mut prefixes: Vec<String> = self.clients.keys().cloned().collect();
        prefixes.sort();
        prefixes
    }
}

impl fmt::Debug for EndpointRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointRegistry")
            .field("servers", &self.server_prefixes())
            .field("clients", &self.client_prefixes())
            .finish()
    }
}

fn builtin_server(
    reactor: &Reactor,
    description: &Description,
    shared: Option<&SharedPorts>,
) -> Result<Rc<dyn ServerEndpoint>, ParseError> {
    let spec = ServerSpec::parse(description)?.ok_or_else(|| {
        description.error(ParseErrorKind::UnknownPrefix(description.prefix.value.clone()), 0)
    })?;
    let shareable = matches!(spec, ServerSpec::Tcp(_) | ServerSpec::Ssl(_));
    if shared.is_some() && !shareable {
        let what = format!(
            "{}: with several workers (only tcp:, tcp6: and ssl: ports can be shared)",
            description.prefix.value
        );
        return Err(description.error(ParseErrorKind::Unsupported(what), 0));
    }
    Ok(match spec {
        ServerSpec::Tcp(tcp) => {
            let endpoint = TcpServerEndpoint::new(reactor.clone(), tcp.address).backlog(tcp.backlog);
            match shared {
                Some(ports) => Rc::new(endpoint.shared(ports.clone())),
                None => Rc::new(endpoint),
            }
        }
        ServerSpec::Unix(unix) => Rc::new(UnixServerEndpoint::new(reactor.clone(), unix)),
        ServerSpec::Ssl(ssl) => crate::tls::ssl_server(reactor, description, ssl, shared)?,
        ServerSpec::Systemd(systemd) => Rc::new(SystemdEndpoint::new(reactor.clone(), systemd)),
        ServerSpec::Stdio => Rc::new(StdioEndpoint::new(reactor.clone())),
    })
}

fn builtin_client(
    reactor: &Reactor,
    description: &Description,
) -> Result<Rc<dyn ClientEndpoint>, ParseError> {
    let spec = ClientSpec::parse(description)?.ok_or_else(|| {
        description.error(ParseErrorKind::UnknownPrefix(description.prefix.value.clone()), 0)
    })?;
    let resolver: Rc<dyn HostResolver> = Rc::new(ThreadedResolver::new(reactor.clone()));
    Ok(match spec {
        ClientSpec::Tcp(tcp) => Rc::new(
            HostnameEndpoint::new(reactor.clone(), resolver, &tcp.host, tcp.port)
                .timeout(tcp.timeout)
                .bind_address(tcp.bind_address),
        ),
        ClientSpec::Tls(tls) => crate::tls::tls_client(reactor, resolver, description, tls)?,
        ClientSpec::Unix(unix) => {
            Rc::new(UnixClientEndpoint::new(reactor.clone(), unix.address).timeout(unix.timeout))
        }
    })
}
