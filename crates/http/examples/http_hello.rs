//! An HTTP/1.1 server answering every request with "hello":
//!
//! ```text
//! cargo run -p gyre-http --example http_hello                          # tcp:8080:interface=127.0.0.1
//! cargo run -p gyre-http --example http_hello -- --listen tcp:0:interface=127.0.0.1
//! cargo run -p gyre-http --example http_hello -- --listen unix:/tmp/hello.sock
//! curl -v http://127.0.0.1:8080/
//! ```
//!
//! Prints `listening on ADDRESS` once ready (with the real port when asked
//! for port 0); Ctrl-C stops it. `POST`/`PUT` bodies are read (streamed,
//! not kept) and their size is reported, so uploads, `Expect:
//! 100-continue` and chunked requests can be tried against it; `HEAD`
//! gets the headers of `GET`.

use std::rc::Rc;

use gyre_core::{Address, SharedFactory};
use gyre_endpoints::{EndpointRegistry, listen_and_run};
use gyre_http::StatusCode;
use gyre_http::server::{BodyEvent, HttpServer, Request, Response};
use gyre_reactor::Reactor;

/// Answers "hello" once the request body (if any) has been read.
fn hello(request: Request, response: Response) {
    let mut size = 0usize;
    request.body().stream(move |event| match event {
        BodyEvent::Data(data) => size += data.len(),
        BodyEvent::End(_) => {
            let text = if size == 0 {
                "hello\n".to_owned()
            } else {
                format!("hello, {size} bytes received\n")
            };
            let _ = response.send(StatusCode::OK, "text/plain; charset=utf-8", text.as_bytes());
        }
        BodyEvent::Failed(_) => {} // The connection answers the error itself.
    });
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let description = match (args.next().as_deref(), args.next()) {
        (None, _) => "tcp:8080:interface=127.0.0.1".to_owned(),
        (Some("--listen"), Some(description)) => description,
        _ => return Err("usage: http_hello [--listen <server endpoint description>]".into()),
    };
    let reactor = Reactor::new()?;
    let endpoint = EndpointRegistry::default()
        .server_from_string(&reactor, &description)
        .map_err(|error| error.to_string())?;
    let server = HttpServer::new(Rc::new(reactor.clone()), hello);
    let announce = |address: &Address| println!("listening on {address}");
    listen_and_run(&reactor, &*endpoint, SharedFactory::new(server), announce)
        .map_err(|failure| failure.to_string())?;
    Ok(())
}
