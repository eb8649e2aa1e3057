//! `gyre web`: serve a directory over HTTP (or HTTPS with an `ssl:`
//! endpoint) with [`StaticFiles`], optionally behind an [`AccessLog`].

use std::path::PathBuf;
use std::rc::Rc;

use gyre_app::{Configured, Drain, LogDestination, LogOutput, MultiService, ServicePlugin, Worker};
use gyre_core::{Address, SharedFactory};
use gyre_http::server::{AccessLog, Handler, HttpServer};
use gyre_http::static_files::StaticFiles;
use gyre_reactor::Reactor;

/// The text of `gyre web --help`.
pub const HELP: &str = "\
gyre web: serve a directory over HTTP or HTTPS

Usage: gyre web [OPTIONS]

Options:
  --path DIR              the directory to serve (default: .)
  --listen ENDPOINT       where to listen, a server endpoint description;
                          repeatable (default: tcp:8080)
  --index NAME            index file name for directories; repeatable,
                          replaces the default (index.html)
  --mime EXT=TYPE         media type for an extension; repeatable
  --header 'Name: value'  header field added to every answer; repeatable
  --access-log FILE|-     combined-format access log, appended to FILE or
                          written to standard output with -; every request
                          is also an info event of the log (target
                          gyre::http::access, with the connection's peer)
  --proxy PREFIX=URL      forward PREFIX and everything under it to the
                          upstream http(s)://host:port[/path] (a reverse
                          proxy in front of the files); repeatable
  -h, --help              this help

Serves GET and HEAD with byte ranges, conditional requests (ETag,
Last-Modified) and directory listings; `..`, dotfiles and symlinks out
of DIR are refused. SIGINT or SIGTERM stops it cleanly.

Examples:
  gyre web
  gyre web --path ./site --listen tcp:0:interface=127.0.0.1
  gyre web --listen tcp:8080 --listen tcp6:8080:interface=::1
  gyre web --listen ssl:8443:privateKey=key.pem:certKey=cert.pem
  gyre web --index index.htm --mime wasm=application/wasm \\
           --header 'Cache-Control: no-cache' --access-log -
  gyre web --path ./dist --proxy /api=http://127.0.0.1:8081
";

/// What `gyre web` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOptions {
    /// The directory served.
    pub path: PathBuf,
    /// Server endpoint descriptions.
    pub listen: Vec<String>,
    /// Index file names (empty: the default).
    pub index: Vec<String>,
    /// Extension → media type additions.
    pub mime: Vec<(String, String)>,
    /// Extra header fields.
    pub headers: Vec<(String, String)>,
    /// `Some("-")` for standard output, else a file name.
    pub access_log: Option<String>,
    /// `--help` was given.
    pub help: bool,
    /// `(prefix, upstream URL)` reverse proxies in front of the files.
    pub proxies: Vec<(String, String)>,
}

/// Parses the arguments after `web`; `--opt value` and `--opt=value`.
pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<WebOptions, String> {
    let mut options = WebOptions {
        path: PathBuf::from("."),
        listen: Vec::new(),
        index: Vec::new(),
        mime: Vec::new(),
        headers: Vec::new(),
        access_log: None,
        help: false,
        proxies: Vec::new(),
    };
    let mut args = args.iter().map(AsRef::as_ref);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            options.help = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg, None),
        };
        let known = [
            "--path",
            "--listen",
            "--index",
            "--mime",
            "--header",
            "--access-log",
            "--proxy",
        ];
        if !known.contains(&name) {
            return Err(format!("unknown argument {arg:?}"));
        }
        let value = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name {
            "--path" => options.path = PathBuf::from(value),
            "--listen" => options.listen.push(value.to_owned()),
            "--index" => options.index.push(value.to_owned()),
            "--mime" => {
                let (ext, media) = value
                    .split_once('=')
                    .filter(|(ext, media)| !ext.is_empty() && media.contains('/'))
                    .ok_or_else(|| format!("--mime wants EXT=TYPE, not {value:?}"))?;
                options.mime.push((ext.to_owned(), media.to_owned()));
            }
            "--header" => {
                let (field, content) = value
                    .split_once(':')
                    .map(|(field, content)| (field.trim(), content.trim()))
                    .filter(|(field, _)| !field.is_empty())
                    .ok_or_else(|| format!("--header wants 'Name: value', not {value:?}"))?;
                let mut check = gyre_http::HeaderMap::new();
                check
                    .append(field, content)
                    .map_err(|error| format!("--header {value:?}: {error}"))?;
                options.headers.push((field.to_owned(), content.to_owned()));
            }
            "--proxy" => options.proxies.push(super::web_proxy::parse_proxy(value)?),
            _ => options.access_log = Some(value.to_owned()),
        }
    }
    if options.listen.is_empty() {
        options.listen.push("tcp:8080".to_owned());
    }
    Ok(options)
}

/// The site the options describe.
pub fn site(options: &WebOptions) -> StaticFiles {
    let mut site = StaticFiles::new(&options.path);
    if !options.index.is_empty() {
        site = site.index_names(options.index.iter().cloned());
    }
    for (ext, media) in &options.mime {
        site = site.mime_type(ext, media);
    }
    for (name, value) in &options.headers {
        site = site.header(name, value);
    }
    site
}

/// `http://ADDRESS/` (or https) for a listening address, when it has one.
pub fn url(address: &Address, tls: bool) -> Option<String> {
    let scheme = if tls { "https" } else { "http" };
    match address {
        Address::Ipv4 { addr, .. } => Some(format!("{scheme}://{addr}/")),
        Address::Ipv6 { addr, .. } => Some(format!("{scheme}://{addr}/")),
        _ => None,
    }
}

/// The plugin of `gyre web`.
pub const PLUGIN: ServicePlugin = ServicePlugin {
    name: "web",
    summary: "serve a directory over HTTP or HTTPS",
    help: || HELP.to_owned(),
    configure,
};

fn configure(args: &[String]) -> Result<Configured, String> {
    let options = parse(args)?;
    if options.help {
        return Ok(Configured::Help);
    }
    if !options.path.is_dir() {
        return Err(format!("{} is not a directory", options.path.display()));
    }
    // Opened once for every worker (their lines never interleave) and
    // reopened by SIGHUP.
    let access_log = match options.access_log.as_deref() {
        None => None,
        Some("-") => Some(LogOutput::open(&LogDestination::Stdout).map_err(|error| error.to_string())?),
        Some(file) => Some(
            LogOutput::open(&LogDestination::File(file.into()))
                .map_err(|error| format!("cannot open the access log {file}: {error}"))?,
        ),
    };
    let log_files = access_log.iter().cloned().collect();
    let options = (options, access_log);
    Ok(Configured::Run {
        build: std::sync::Arc::new(move |worker| build(&options.0, options.1.as_ref(), worker)),
        log_files,
    })
}

fn handler(
    options: &WebOptions,
    access_log: Option<&LogOutput>,
    reactor: &Reactor,
) -> Result<Box<dyn Fn(gyre_http::server::Request, gyre_http::server::Response)>, String> {
    let files = site(options);
    let routed: Rc<dyn Handler> = if options.proxies.is_empty() {
        Rc::new(files)
    } else {
        Rc::new(super::web_proxy::router(reactor, &options.proxies, files)?)
    };
    let site = move |request, response| routed.handle(request, response);
    // Without --access-log, entries go to the structured log only (target
    // gyre::http::access, level info).
    let mut log = AccessLog::new(site);
    if let Some(output) = access_log {
        log = log.to_writer(output.writer());
    }
    Ok(Box::new(move |request, response| log.handle(request, response)))
}

/// One worker's tree: the site on every `--listen`. On stop, requests in
/// progress are answered and then their connections close.
pub fn build(
    options: &WebOptions,
    access_log: Option<&LogOutput>,
    worker: &Worker,
) -> Result<MultiService, String> {
    let reactor = worker.reactor();
    let handler = handler(options, access_log, reactor)?;
    let server = HttpServer::new(Rc::new(reactor.clone()), move |request, response| {
        handler(request, response)
    });
    let root = std::fs::canonicalize(&options.path).unwrap_or_else(|_| options.path.clone());
    let announce = move |host: &Address, description: &str| {
        let link =
            url(host, description.starts_with("ssl:")).map_or(String::new(), |url| format!(" ({url})"));
        format!("listening on {host}{link}, serving {}", root.display())
    };
    let draining = server.clone();
    let drain = Drain::With(Rc::new(move || draining.shut_down()));
    let factory = SharedFactory::new(server);
    super::serve::listen_all(worker, &options.listen, ("web", "http"), factory, drain, announce)
}
