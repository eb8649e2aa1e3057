//! `gyre echo|discard|chargen|daytime|time|qotd`: the simple internet
//! services of inetd over TCP, each on the endpoints given with `--listen`
//! (default: the well-known port plus 8000, so no privileges are needed).

use gyre_app::{Configured, Drain, MultiService, ServicePlugin, Worker};
use gyre_protocols::inetd::{Quote, Service, WallClock};

use super::Args;

/// What one of these commands was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetdOptions {
    /// Server endpoint descriptions.
    pub listen: Vec<String>,
    /// The quote `qotd` tells (`None`: the built-in one).
    pub quote: Option<String>,
}

/// The help of `gyre SERVICE --help`.
pub fn help(service: Service) -> String {
    let port = default_port(service);
    let quote = if service == Service::Qotd {
        "  --quote TEXT            the quote to tell (at most 511 bytes)\n"
    } else {
        ""
    };
    format!(
        "gyre {name}: the {name} service (RFC {rfc}) over TCP\n\n\
         Usage: gyre {name} [OPTIONS]\n\nOptions:\n\
         \x20 --listen ENDPOINT       where to listen, a server endpoint description;\n\
         \x20                         repeatable (default: tcp:{port})\n{quote}\
         \x20 -h, --help              this help\n\n\
         SIGINT or SIGTERM stops it cleanly.\n\nExamples:\n\
         \x20 gyre {name}\n\x20 gyre {name} --listen tcp:{well_known}   (as root)\n\
         \x20 gyre {name} --listen unix:/run/{name}.sock\n",
        name = service.name(),
        rfc = rfc(service),
        well_known = service.port(),
    )
}

fn rfc(service: Service) -> u16 {
    match service {
        Service::Echo => 862,
        Service::Discard => 863,
        Service::Chargen => 864,
        Service::Qotd => 865,
        Service::Daytime => 867,
        Service::Time => 868,
    }
}

/// The default port: the well-known one plus 8000 (8007 for echo).
pub fn default_port(service: Service) -> u16 {
    service.port() + 8000
}

/// Parses the arguments after the service name; `Ok(None)` for `--help`.
pub fn parse(service: Service, args: &[String]) -> Result<Option<InetdOptions>, String> {
    let mut options = InetdOptions {
        listen: Vec::new(),
        quote: None,
    };
    let mut args = Args::new(args);
    while let Some(option) = args.next() {
        match option.name {
            "-h" | "--help" => return Ok(None),
            "--listen" => options.listen.push(args.value(&option)?),
            "--quote" if service == Service::Qotd => options.quote = Some(args.value(&option)?),
            _ => return Err(format!("unexpected argument {:?}", option.arg)),
        }
    }
    if options.listen.is_empty() {
        options.listen.push(format!("tcp:{}", default_port(service)));
    }
    Ok(Some(options))
}

/// The plugin of `gyre SERVICE`.
pub fn plugin(service: Service, name: &'static str, summary: &'static str) -> ServicePlugin {
    // One function per service: plugins hold plain function pointers.
    macro_rules! entry {
        ($($variant:ident),*) => {
            match service {
                $(Service::$variant => ServicePlugin {
                    name,
                    summary,
                    help: || help(Service::$variant),
                    configure: |args| configure(Service::$variant, args),
                },)*
            }
        };
    }
    entry!(Echo, Discard, Chargen, Qotd, Daytime, Time)
}

fn configure(service: Service, args: &[String]) -> Result<Configured, String> {
    let parsed = parse(service, args).map(|options| options.map(|options| (service, options)));
    super::serve::configured(parsed, build)
}

fn build((service, options): &(Service, InetdOptions), worker: &Worker) -> Result<MultiService, String> {
    let quote = match &options.quote {
        Some(text) => Quote::new(text).map_err(|error| error.to_string())?,
        None => Quote::default(),
    };
    let factory = service.tcp_factory(&WallClock::system(), &quote);
    let name = service.name();
    super::serve::listen_all(
        worker,
        &options.listen,
        (name, name),
        factory,
        Drain::Close,
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
    fn defaults_and_options() {
        let echo = parse(Service::Echo, &args(&[])).unwrap().unwrap();
        assert_eq!(echo.listen, ["tcp:8007"]);
        let qotd = parse(Service::Qotd, &args(&["--quote=hi", "--listen", "tcp:0"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (qotd.listen, qotd.quote),
            (vec!["tcp:0".to_owned()], Some("hi".to_owned()))
        );
        assert!(parse(Service::Echo, &args(&["--quote", "x"])).is_err());
        assert!(
            parse(Service::Time, &args(&["--listen"]))
                .unwrap_err()
                .contains("needs a value")
        );
        assert_eq!(parse(Service::Daytime, &args(&["-h"])), Ok(None));
        assert!(help(Service::Chargen).contains("RFC 864") && help(Service::Chargen).contains("tcp:8019"));
    }
}
