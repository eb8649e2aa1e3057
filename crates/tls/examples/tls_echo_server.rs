//! A TLS echo server: every byte a client sends comes back, encrypted. With
//! `--http` it answers each request with a tiny HTTP response instead (for
//! `curl`).
//!
//! ```text
//! cargo run -p gyre-tls --example tls_echo_server -- --listen 8443 --cert chain.pem --key key.pem
//! openssl s_client -connect 127.0.0.1:8443 -CAfile ca.pem -servername localhost
//! ```
//!
//! A test CA, and a server certificate and key it signed for `localhost`:
//!
//! ```text
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
//!   -subj "/CN=test CA" -keyout ca.key -out ca.pem \
//!   -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
//! openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
//!   -keyout key.pem -out server.csr
//! openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out chain.pem \
//!   -extfile <(printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
//! ```
//!
//! Arguments:
//! - `--listen PORT` or `--listen ADDR`: where to listen (`127.0.0.1:PORT`
//!   for a bare port; port 0 picks a free one). The first line printed is
//!   `listening on ADDR`.
//! - `--cert CHAIN.pem --key KEY.pem`: the default certificate chain and key.
//! - `--sni NAME=CHAIN.pem,KEY.pem` (repeatable): a certificate for clients
//!   asking for NAME by SNI (`*.domain` for a wildcard).
//! - `--alpn P1,P2`: application protocols offered by ALPN.
//! - `--client-ca CA.pem`: ask for client certificates issued by this CA;
//!   add `--require-client-cert` to refuse clients without one.
//! - `--http`: answer each request with `HTTP/1.1 200 OK` and close.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use gyre_core::capability::{NegotiatedAlpn, PeerCertificates, ServerName};
use gyre_core::prelude::*;
use gyre_reactor::{ListenOptions, Reactor};
use gyre_tls::{TlsServerConfig, TlsSession, wrap_server_factory};

/// Writes back whatever arrives.
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// Answers one HTTP request with what TLS negotiated, then closes.
#[derive(Default)]
struct TinyHttp {
    request: Vec<u8>,
}

impl Protocol for TinyHttp {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.request.extend_from_slice(data);
        if !self.request.windows(4).any(|w| w == b"\r\n\r\n") {
            return;
        }
        let version = transport
            .capability::<TlsSession>()
            .ok()
            .and_then(|s| s.protocol_version);
        let alpn = transport.capability::<NegotiatedAlpn>().ok().flatten();
        let sni = transport.capability::<ServerName>().ok().flatten();
        let client_certs = transport
            .capability::<PeerCertificates>()
            .map(|c| c.len())
            .unwrap_or(0);
        let body = format!(
            "hello from gyre over {version:?}; alpn={:?}; sni={sni:?}; client certificates={client_certs}\n",
            alpn.map(|a| String::from_utf8_lossy(&a).into_owned())
        );
        transport.write(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        transport.lose_connection();
    }
}

struct Options {
    listen: SocketAddr,
    config: TlsServerConfig,
    http: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 8443));
    let (mut cert, mut key, mut client_ca) = (None::<PathBuf>, None::<PathBuf>, None::<PathBuf>);
    let (mut sni, mut alpn) = (Vec::new(), Vec::new());
    let (mut require, mut http) = (false, false);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let text = value()?;
                listen = match text.parse::<u16>() {
                    Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
                    Err(_) => text.parse().map_err(|e| format!("--listen: {e}"))?,
                };
            }
            "--cert" => cert = Some(value()?.into()),
            "--key" => key = Some(value()?.into()),
            "--client-ca" => client_ca = Some(value()?.into()),
            "--require-client-cert" => require = true,
            "--http" => http = true,
            "--alpn" => alpn = value()?.split(',').map(str::to_owned).collect(),
            "--sni" => {
                let text = value()?;
                let (name, files) = text.split_once('=').ok_or("--sni wants NAME=CHAIN,KEY")?;
                let (chain, key) = files.split_once(',').ok_or("--sni wants NAME=CHAIN,KEY")?;
                sni.push((name.to_owned(), PathBuf::from(chain), PathBuf::from(key)));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err("--cert and --key are required".into());
    };
    let build = || -> Result<TlsServerConfig, Failure> {
        let mut builder = TlsServerConfig::builder().pem_files(&cert, &key)?.alpn(&alpn);
        for (name, chain, key) in &sni {
            builder = builder.sni_pem_files(name, chain, key)?;
        }
        builder = match (&client_ca, require) {
            (Some(ca), true) => builder.require_client_certificates_from(ca)?,
            (Some(ca), false) => builder.optional_client_certificates_from(ca)?,
            (None, _) => builder,
        };
        builder.build()
    };
    let config = build().map_err(|e| e.to_string())?;
    Ok(Options { listen, config, http })
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("tls_echo_server: {message}");
            }
            eprintln!(
                "usage: tls_echo_server --listen PORT --cert CHAIN.pem --key KEY.pem \
                 [--sni NAME=CHAIN,KEY]... [--alpn P1,P2] [--client-ca CA.pem [--require-client-cert]] [--http]"
            );
            return ExitCode::from(2);
        }
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let factory = if options.http {
        SharedFactory::new(protocol_factory(|_peer| TinyHttp::default()))
    } else {
        SharedFactory::new(protocol_factory(|_peer| Echo))
    };
    let factory = wrap_server_factory(options.config, factory);
    let _port = match reactor.listen_tcp_with(options.listen, factory, ListenOptions::default()) {
        Ok(port) => {
            println!(
                "listening on {}",
                port.host().socket_addr().expect("an IP address")
            );
            port
        }
        Err(failure) => {
            eprintln!("tls_echo_server: {failure}");
            return ExitCode::FAILURE;
        }
    };
    match reactor.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tls_echo_server: {error}");
            ExitCode::FAILURE
        }
    }
}
