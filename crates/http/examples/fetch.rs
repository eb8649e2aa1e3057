//! Fetches a URL with the gyre HTTP client and writes the body:
//!
//! ```text
//! cargo run -p gyre-http --example fetch -- https://example.com/
//! cargo run -p gyre-http --example fetch -- http://127.0.0.1:8080/big -o /tmp/big
//! cargo run -p gyre-http --example fetch -- https://localhost:8443/ --ca ca.pem --proxy http://127.0.0.1:3128
//! ```
//!
//! Prints the status line on stderr, follows redirects, decodes gzip and
//! deflate, keeps cookies across redirects, and writes the body to
//! standard output or to the file given with `-o`. When the size is known,
//! a progress line is kept up to date on stderr. Exits with 1 on failure.

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::Deferred;
use gyre_endpoints::ThreadedResolver;
use gyre_http::client::{
    Agent, BodyEvent, ContentDecoder, CookieAgent, CookieJar, EndpointConnector, HttpClient, RedirectAgent,
    RequestBody, RequestUrl,
};
use gyre_http::{HeaderMap, Method};
use gyre_reactor::Reactor;
use gyre_tls::TlsClientConfig;

struct Options {
    url: String,
    output: Option<String>,
    ca: Option<String>,
    proxy: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut output, mut ca, mut proxy) = (None, None, None, None);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-o" => output = Some(value("-o")?),
            "--ca" => ca = Some(value("--ca")?),
            "--proxy" => proxy = Some(value("--proxy")?),
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let url = url.ok_or("usage: fetch URL [-o FILE] [--ca CA.pem] [--proxy http://HOST:PORT]")?;
    Ok(Options {
        url,
        output,
        ca,
        proxy,
    })
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = fetch(options) {
        eprintln!("fetch: {message}");
        std::process::exit(1);
    }
}

fn fetch(options: Options) -> Result<(), String> {
    let url = RequestUrl::parse(&options.url).map_err(|e| e.to_string())?;
    let tls = match &options.ca {
        Some(ca) => TlsClientConfig::builder()
            .ca_file(ca.as_ref())
            .and_then(|b| b.build()),
        None => TlsClientConfig::builder().webpki_roots().build(),
    }
    .map_err(|e| e.to_string())?;
    let mut sink: Box<dyn Write> = match &options.output {
        Some(path) => Box::new(File::create(path).map_err(|e| format!("{path}: {e}"))?),
        None => Box::new(std::io::stdout()),
    };

    let reactor = Reactor::new().map_err(|e| e.to_string())?;
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let connector = Rc::new(EndpointConnector::new(reactor.clone(), resolver, tls));
    let mut builder = Agent::builder(Rc::new(reactor.clone()), connector).user_agent("gyre-fetch/0.1");
    if let Some(proxy) = &options.proxy {
        builder = builder.proxy(RequestUrl::parse(proxy).map_err(|e| e.to_string())?);
    }
    let jar = Rc::new(RefCell::new(CookieJar::new()));
    let client = RedirectAgent::new(CookieAgent::new(ContentDecoder::new(builder.build()), jar));

    let done = client
        .request(Method::GET, &url, HeaderMap::new(), RequestBody::empty())
        .and_then(move |response| {
            eprintln!(
                "{:?} {} {}",
                response.version,
                response.status.as_u16(),
                response.reason
            );
            let total: Option<u64> = response
                .headers
                .get_str("content-length")
                .and_then(|v| v.parse().ok());
            let (finished, resolver) = Deferred::<()>::new();
            let mut received = 0u64;
            response.body.stream(move |event| match event {
                BodyEvent::Data(data) => {
                    received += data.len() as u64;
                    if let Err(error) = sink.write_all(data) {
                        if !resolver.is_fired() {
                            resolver.errback(gyre_core::Failure::msg(format!("writing: {error}")));
                        }
                        return;
                    }
                    if let Some(total) = total.filter(|&t| t > 0) {
                        eprint!("\r{received}/{total} bytes ({}%)", received * 100 / total);
                    }
                }
                BodyEvent::End(_) => {
                    if total.is_some() {
                        eprintln!();
                    }
                    let _ = sink.flush();
                    if !resolver.is_fired() {
                        resolver.callback(());
                    }
                }
                BodyEvent::Failed(failure) => {
                    if !resolver.is_fired() {
                        resolver.errback(failure.clone());
                    }
                }
            });
            finished
        });
    reactor
        .run_until(done.add_timeout(&reactor, Duration::from_secs(600)))
        .map_err(|failure| failure.to_string())
}
