//! `gyre fetch`: download a URL with the gyre HTTP client (redirects,
//! gzip/deflate, cookies across redirects, HTTPS, proxies).

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::{Deferred, Failure};
use gyre_endpoints::ThreadedResolver;
use gyre_http::client::{
    Agent, BodyEvent, ContentDecoder, CookieAgent, CookieJar, EndpointConnector, HttpClient, RedirectAgent,
    RequestBody, RequestUrl, Response,
};
use gyre_http::{HeaderMap, Method};
use gyre_reactor::Reactor;
use gyre_tls::TlsClientConfig;

use super::{Args, run_subcommand};

/// The text of `gyre fetch --help`.
pub const HELP: &str = "\
gyre fetch: download a URL

Usage: gyre fetch URL [OPTIONS]

Options:
  -o, --output FILE     write the body to FILE (default: standard output)
  --ca FILE             trust only the CA certificates in FILE for https
                        (default: the Mozilla roots)
  --proxy URL           send the request through an HTTP proxy
                        (https goes through a CONNECT tunnel)
  --timeout SECONDS     give up after this long (default: 600)
  -h, --help            this help

Follows redirects, decodes gzip and deflate, keeps cookies across
redirects. The status line goes to standard error, and a progress line
too when the size is known. Exits with 1 when the download fails.

Examples:
  gyre fetch https://example.com/
  gyre fetch http://127.0.0.1:8080/big.iso -o big.iso
  gyre fetch https://localhost:8443/ --ca ca.pem --proxy http://127.0.0.1:3128
";

/// What `gyre fetch` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// The URL to download.
    pub url: String,
    /// Where the body goes (`None`: standard output).
    pub output: Option<String>,
    /// A CA bundle replacing the default roots.
    pub ca: Option<String>,
    /// An HTTP proxy URL.
    pub proxy: Option<String>,
    /// The whole download's deadline.
    pub timeout: Duration,
}

/// Parses the arguments after `fetch`; `Ok(None)` for `--help`.
pub fn parse(args: &[String]) -> Result<Option<FetchOptions>, String> {
    let mut options = FetchOptions {
        url: String::new(),
        output: None,
        ca: None,
        proxy: None,
        timeout: Duration::from_secs(600),
    };
    let mut args = Args::new(args);
    while let Some(option) = args.next() {
        match option.name {
            "-h" | "--help" => return Ok(None),
            "-o" | "--output" => options.output = Some(args.value(&option)?),
            "--ca" => options.ca = Some(args.value(&option)?),
            "--proxy" => options.proxy = Some(args.value(&option)?),
            "--timeout" => {
                let seconds: f64 = args
                    .value(&option)?
                    .parse()
                    .map_err(|_| "--timeout needs a number of seconds".to_owned())?;
                if !(seconds.is_finite() && seconds > 0.0) {
                    return Err("--timeout needs a positive number of seconds".into());
                }
                options.timeout = Duration::from_secs_f64(seconds);
            }
            _ if options.url.is_empty() && !option.arg.starts_with('-') => options.url = option.arg.clone(),
            _ => return Err(format!("unexpected argument {:?}", option.arg)),
        }
    }
    if options.url.is_empty() {
        return Err("a URL is required".into());
    }
    Ok(Some(options))
}

/// Runs `gyre fetch` with the arguments after its name.
pub fn main(args: &[String]) -> ExitCode {
    run_subcommand("gyre fetch", HELP, parse(args), fetch)
}

/// Downloads `options.url` to its output.
fn fetch(options: &FetchOptions) -> Result<(), String> {
    let url = RequestUrl::parse(&options.url).map_err(|e| e.to_string())?;
    let tls = match &options.ca {
        Some(ca) => TlsClientConfig::builder()
            .ca_file(ca.as_ref())
            .and_then(|builder| builder.build()),
        None => TlsClientConfig::builder().webpki_roots().build(),
    }
    .map_err(|e| e.to_string())?;
    let sink: Box<dyn Write> = match &options.output {
        Some(path) => Box::new(File::create(path).map_err(|e| format!("{path}: {e}"))?),
        None => Box::new(std::io::stdout()),
    };
    let reactor = Reactor::new().map_err(|e| e.to_string())?;
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let connector = Rc::new(EndpointConnector::new(reactor.clone(), resolver, tls));
    let mut builder = Agent::builder(Rc::new(reactor.clone()), connector)
        .user_agent(concat!("gyre-fetch/", env!("CARGO_PKG_VERSION")));
    if let Some(proxy) = &options.proxy {
        builder = builder.proxy(RequestUrl::parse(proxy).map_err(|e| e.to_string())?);
    }
    let jar = Rc::new(RefCell::new(CookieJar::new()));
    let client = RedirectAgent::new(CookieAgent::new(ContentDecoder::new(builder.build()), jar));
    let done = client
        .request(Method::GET, &url, HeaderMap::new(), RequestBody::empty())
        .and_then(move |response| write_body(response, sink));
    reactor
        .run_until(done.add_timeout(&reactor, options.timeout))
        .map_err(|failure| failure.to_string())
}

/// Streams `response`'s body into `sink`, with a progress line when the
/// size is known; fires when the body ended.
fn write_body(response: Response, mut sink: Box<dyn Write>) -> Deferred<()> {
    eprintln!(
        "{:?} {} {}",
        response.version,
        response.status.as_u16(),
        response.reason
    );
    let total: Option<u64> = response
        .headers
        .get_str("content-length")
        .and_then(|length| length.trim().parse().ok());
    let (finished, resolver) = Deferred::<()>::new();
    let mut received = 0u64;
    response.body.stream(move |event| match event {
        BodyEvent::Data(data) => {
            received += data.len() as u64;
            if let Err(error) = sink.write_all(data) {
                if !resolver.is_fired() {
                    resolver.errback(Failure::msg(format!("writing: {error}")));
                }
                return;
            }
            if let Some(total) = total.filter(|&total| total > 0) {
                eprint!("\r{received}/{total} bytes ({}%)", received * 100 / total);
            }
        }
        BodyEvent::End(_) => {
            if total.is_some() {
                eprintln!();
            }
            let flushed = sink.flush();
            if !resolver.is_fired() {
                match flushed {
                    Ok(()) => resolver.callback(()),
                    Err(error) => resolver.errback(Failure::msg(format!("writing: {error}"))),
                }
            }
        }
        BodyEvent::Failed(failure) => {
            if !resolver.is_fired() {
                resolver.errback(failure.clone());
            }
        }
    });
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn arguments_parse_or_say_what_is_wrong() {
        let parsed = parse(&args(&[
            "http://h/",
            "-o",
            "out",
            "--ca=ca.pem",
            "--timeout",
            "2.5",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(parsed.url, "http://h/");
        assert_eq!(parsed.output.as_deref(), Some("out"));
        assert_eq!(parsed.ca.as_deref(), Some("ca.pem"));
        assert_eq!(parsed.timeout, Duration::from_millis(2500));
        assert_eq!(parse(&args(&["--help"])), Ok(None));
        assert!(parse(&args(&[])).unwrap_err().contains("URL"));
        assert!(parse(&args(&["u", "-o"])).unwrap_err().contains("needs a value"));
        assert!(
            parse(&args(&["u", "--timeout", "-1"]))
                .unwrap_err()
                .contains("positive")
        );
        assert!(parse(&args(&["u", "v"])).unwrap_err().contains("unexpected"));
    }
}
