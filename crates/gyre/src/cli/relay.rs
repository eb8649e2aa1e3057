//! `gyre portforward` and `gyre socks`: the relaying servers of
//! gyre-protocols on the command line.

use std::rc::Rc;

use gyre_app::{Drain, MultiService, ServicePlugin, Worker};
use gyre_core::SharedFactory;
use gyre_endpoints::{HostnameEndpoint, ThreadedResolver};
use gyre_protocols::portforward::PortForwardFactory;
use gyre_protocols::socks::{SocksServerFactory, StaticPasswords};

use super::Args;

/// The text of `gyre portforward --help`.
pub const PORTFORWARD_HELP: &str = "\
gyre portforward: relay every connection to a fixed destination

Usage: gyre portforward --dest HOST:PORT [OPTIONS]

Options:
  --dest HOST:PORT       where each connection is relayed (host names are
                         resolved, IPv6 literals in brackets)
  --listen ENDPOINT      where to listen; repeatable (default: tcp:8000)
  -h, --help             this help

Flow control works both ways (a slow reader pauses the other side) and a
half-close is forwarded. SIGINT or SIGTERM stops it cleanly.

Examples:
  gyre portforward --dest example.com:80
  gyre portforward --listen tcp:2222:interface=127.0.0.1 --dest [::1]:22
";

/// The text of `gyre socks --help`.
pub const SOCKS_HELP: &str = "\
gyre socks: a SOCKS4, SOCKS4a and SOCKS5 proxy

Usage: gyre socks [OPTIONS]

Options:
  --listen ENDPOINT      where to listen; repeatable (default: tcp:1080)
  --user NAME            require SOCKS5 username/password authentication
  --password TEXT        (with --user; SOCKS4 is then refused)
  -h, --help             this help

CONNECT in every version, BIND, and SOCKS5 UDP ASSOCIATE; host names are
resolved by the proxy. SIGINT or SIGTERM stops it cleanly.

Examples:
  gyre socks --listen tcp:1080:interface=127.0.0.1
  curl --socks5-hostname 127.0.0.1:1080 http://example.com/
";

/// Options shared by both commands: `--listen`s and the command's own pairs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RelayOptions {
    /// Server endpoint descriptions.
    pub listen: Vec<String>,
    /// `--dest` (portforward).
    pub dest: Option<(String, u16)>,
    /// `--user` and `--password` (socks).
    pub credentials: Option<(String, String)>,
}

/// Parses `args` of `command` (`portforward` or `socks`); `Ok(None)` for `--help`.
pub fn parse(command: &str, args: &[String]) -> Result<Option<RelayOptions>, String> {
    let mut options = RelayOptions::default();
    let (mut user, mut password) = (None, None);
    let mut args = Args::new(args);
    while let Some(option) = args.next() {
        match (command, option.name) {
            (_, "-h" | "--help") => return Ok(None),
            (_, "--listen") => options.listen.push(args.value(&option)?),
            ("portforward", "--dest") => options.dest = Some(host_port(&args.value(&option)?)?),
            ("socks", "--user") => user = Some(args.value(&option)?),
            ("socks", "--password") => password = Some(args.value(&option)?),
            _ => return Err(format!("unexpected argument {:?}", option.arg)),
        }
    }
    options.credentials = match (user, password) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        _ => return Err("--user and --password go together".into()),
    };
    if command == "portforward" && options.dest.is_none() {
        return Err("--dest HOST:PORT is required".into());
    }
    if options.listen.is_empty() {
        let port = if command == "socks" { 1080 } else { 8000 };
        options.listen.push(format!("tcp:{port}"));
    }
    Ok(Some(options))
}

/// `HOST:PORT`, with an IPv6 literal in brackets.
fn host_port(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text.rsplit_once(':').ok_or("--dest wants HOST:PORT")?;
    let port = port.parse().map_err(|_| format!("--dest: bad port {port:?}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err("--dest wants HOST:PORT".into());
    }
    Ok((host.to_owned(), port))
}

/// The plugin of `gyre portforward`.
pub const PORTFORWARD: ServicePlugin = ServicePlugin {
    name: "portforward",
    summary: "relay connections to a fixed HOST:PORT",
    help: || PORTFORWARD_HELP.to_owned(),
    configure: |args| super::serve::configured(parse("portforward", args), build),
};

/// The plugin of `gyre socks`.
pub const SOCKS: ServicePlugin = ServicePlugin {
    name: "socks",
    summary: "a SOCKS4/4a/5 proxy",
    help: || SOCKS_HELP.to_owned(),
    configure: |args| super::serve::configured(parse("socks", args), build),
};

/// One worker's tree: the relay on every `--listen`. Relayed transfers
/// finish on stop ([`Drain::Wait`]), up to the shutdown deadline.
fn build(options: &RelayOptions, worker: &Worker) -> Result<MultiService, String> {
    let reactor = worker.reactor();
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let (name, factory) = match &options.dest {
        Some((host, port)) => {
            let destination = HostnameEndpoint::new(reactor.clone(), resolver, host, *port);
            let factory = SharedFactory::new(PortForwardFactory::new(Rc::new(destination)));
            ("portforward", factory)
        }
        None => {
            let mut socks = SocksServerFactory::new(reactor.clone(), resolver);
            if let Some((user, password)) = &options.credentials {
                let table = StaticPasswords::new().with_user(user.as_bytes(), password.as_bytes());
                socks = socks.with_password_checker(Rc::new(table));
            }
            ("socks", SharedFactory::new(socks))
        }
    };
    super::serve::listen_all(
        worker,
        &options.listen,
        (name, name),
        factory,
        Drain::Wait,
        super::serve::listening_as(name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn arguments_parse_or_say_what_is_wrong() {
        let forward = parse("portforward", &args(&["--dest", "[::1]:22"]))
            .unwrap()
            .unwrap();
        assert_eq!(forward.dest, Some(("::1".to_owned(), 22)));
        assert_eq!(forward.listen, ["tcp:8000"]);
        assert!(parse("portforward", &args(&[])).unwrap_err().contains("--dest"));
        assert!(parse("portforward", &args(&["--dest", "nohost"])).is_err());
        assert!(parse("portforward", &args(&["--user", "u"])).is_err());
        let socks = parse("socks", &args(&["--user=u", "--password", "p"]))
            .unwrap()
            .unwrap();
        assert_eq!(socks.credentials, Some(("u".to_owned(), "p".to_owned())));
        assert_eq!(socks.listen, ["tcp:1080"]);
        assert!(
            parse("socks", &args(&["--user", "u"]))
                .unwrap_err()
                .contains("together")
        );
        assert_eq!(parse("socks", &args(&["--help"])), Ok(None));
    }
}
