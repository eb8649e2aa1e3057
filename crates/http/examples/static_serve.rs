//! Serves a directory with `StaticFiles` (the interop tests' server; the
//! `gyre web` command is the full-featured front end):
//!
//! ```text
//! cargo run -p gyre-http --example static_serve -- DIR                  # tcp:8080:interface=127.0.0.1
//! cargo run -p gyre-http --example static_serve -- DIR tcp:0:interface=127.0.0.1
//! curl -r 0-99 http://127.0.0.1:8080/some/file
//! ```
//!
//! Prints `listening on ADDRESS` once ready; SIGINT/SIGTERM stop it.

use std::rc::Rc;

use gyre_core::{Address, SharedFactory};
use gyre_endpoints::{EndpointRegistry, listen_and_run};
use gyre_http::server::HttpServer;
use gyre_http::static_files::StaticFiles;
use gyre_reactor::Reactor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = args.next().ok_or("usage: static_serve DIR [ENDPOINT]")?;
    let description = args
        .next()
        .unwrap_or_else(|| "tcp:8080:interface=127.0.0.1".to_owned());
    let reactor = Reactor::new()?;
    let endpoint = EndpointRegistry::default()
        .server_from_string(&reactor, &description)
        .map_err(|error| error.to_string())?;
    let server = HttpServer::new(Rc::new(reactor.clone()), StaticFiles::new(root));
    let announce = |address: &Address| println!("listening on {address}");
    listen_and_run(&reactor, &*endpoint, SharedFactory::new(server), announce).map_err(|f| f.to_string())?;
    Ok(())
}
