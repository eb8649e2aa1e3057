//! The TLS examples against programs nobody here wrote: `openssl s_client`
//! and `curl` talk to `tls_echo_server`; `openssl s_server` serves a gyre
//! TLS client running in this process. Certificates are made with rcgen and
//! written to a temporary directory; every process is killed by PID.
//!
//! Needs the Debian packages `openssl` and `curl`.

mod support;

use std::cell::RefCell;
use std::path::Path;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, Reactor};
use gyre_tls::{ProtocolVersion, TlsClientConfig, TlsSession, wrap_client_factory};
use support::programs::{free_port, require, run, start_server, start_until};
use support::{Ca, temp_dir};

const LIMIT: Duration = Duration::from_secs(30);

/// Files for one test: a CA, a localhost certificate, two SNI certificates
/// and a client certificate from a second CA.
struct Files {
    dir: std::path::PathBuf,
}

impl Files {
    fn new(name: &str) -> Files {
        let dir = temp_dir(name);
        let ca = Ca::new("interop CA");
        ca.write(&dir, "ca");
        ca.server(&["localhost", "127.0.0.1"]).write(&dir, "localhost");
        ca.server(&["alpha.test"]).write(&dir, "alpha");
        ca.server(&["beta.test"]).write(&dir, "beta");
        let clients = Ca::new("interop client CA");
        clients.write(&dir, "client-ca");
        clients.client("alice").write(&dir, "alice");
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `tls_echo_server --http` with the localhost certificate and `extra` arguments.
fn http_server(files: &Files, extra: &[&str]) -> (support::programs::KillOnDrop, std::net::SocketAddr) {
    let (cert, key) = (files.path("localhost.pem"), files.path("localhost.key"));
    let mut args = vec!["--listen", "0", "--cert", &cert, "--key", &key, "--http"];
    args.extend_from_slice(extra);
    start_server("tls_echo_server", &args)
}

/// Runs `openssl s_client` with a request and returns everything it printed.
fn s_client(port: u16, files: &Files, extra: &[&str]) -> (bool, String) {
    require("openssl", "openssl");
    let output = run(
        Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile"])
            .arg(files.path("ca.pem"))
            .args(["-verify_return_error", "-ign_eof"])
            .args(extra),
        b"GET / HTTP/1.0\r\n\r\n",
        LIMIT,
    );
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn s_client_speaks_tls12_and_tls13_with_alpn() {
    let files = Files::new("s-client-versions");
    let (_server, address) = http_server(&files, &["--alpn", "h2,http/1.1"]);
    for (flag, version) in [("-tls1_2", "TLSv1_2"), ("-tls1_3", "TLSv1_3")] {
        let (ok, text) = s_client(
            address.port(),
            &files,
            &[flag, "-servername", "localhost", "-alpn", "http/1.1"],
        );
        assert!(ok, "{flag}: {text}");
        assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
        assert!(text.contains("ALPN protocol: http/1.1"), "{text}");
        let body =
            format!("hello from gyre over Some({version}); alpn=Some(\"http/1.1\"); sni=Some(\"localhost\")");
        assert!(text.contains(&body), "{flag}: {text}");
    }
}

#[test]
fn s_client_gets_the_certificate_for_the_name_it_sends() {
    let files = Files::new("s-client-sni");
    let alpha = format!(
        "alpha.test={},{}",
        files.path("alpha.pem"),
        files.path("alpha.key")
    );
    let beta = format!("beta.test={},{}", files.path("beta.pem"), files.path("beta.key"));
    let (_server, address) = http_server(&files, &["--sni", &alpha, "--sni", &beta]);
    for name in ["alpha.test", "beta.test", "localhost"] {
        let (ok, text) = s_client(
            address.port(),
            &files,
            &["-servername", name, "-verify_hostname", name],
        );
        assert!(ok, "{name}: {text}");
        assert!(text.contains(&format!("subject=CN = {name}")), "{name}: {text}");
        assert!(text.contains(&format!("sni=Some(\"{name}\")")), "{name}: {text}");
    }
}

#[test]
fn s_client_with_and_without_a_required_client_certificate() {
    let files = Files::new("s-client-auth");
    let ca = files.path("client-ca.pem");
    let (_server, address) = http_server(&files, &["--client-ca", &ca, "--require-client-cert"]);
    let (cert, key) = (files.path("alice.pem"), files.path("alice.key"));
    let (ok, text) = s_client(address.port(), &files, &["-cert", &cert, "-key", &key]);
    assert!(ok, "{text}");
    // s_client sends only the leaf of the file unless given -cert_chain.
    assert!(text.contains("client certificates=1"), "{text}");
    let (_, text) = s_client(address.port(), &files, &[]);
    assert!(!text.contains("hello from gyre"), "{text}");
    assert!(text.contains("alert"), "the server says why: {text}");
}

#[test]
fn s_client_echo_round_trip() {
    let files = Files::new("s-client-echo");
    let (cert, key) = (files.path("localhost.pem"), files.path("localhost.key"));
    let (_server, address) = start_server(
        "tls_echo_server",
        &["--listen", "0", "--cert", &cert, "--key", &key],
    );
    require("openssl", "openssl");
    // -quiet prints only the data, and the echoed line signals readiness.
    let (mut client, line) = start_until(
        Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-verify_return_error",
                "-connect",
                &address.to_string(),
                "-CAfile",
            ])
            .arg(files.path("ca.pem")),
        b"echo me\n",
        "echo me",
    );
    assert_eq!(line, "echo me");
    let _ = client.0.kill();
}

#[test]
fn curl_fetches_from_the_tls_server() {
    require("curl", "curl");
    let files = Files::new("curl");
    let (_server, address) = http_server(&files, &["--alpn", "http/1.1"]);
    for (args, version) in [
        (&["--tlsv1.3"][..], "TLSv1_3"),
        (&["--tlsv1.2", "--tls-max", "1.2"][..], "TLSv1_2"),
    ] {
        let output = run(
            Command::new("curl")
                .args(["-sS", "--max-time", "20", "--cacert"])
                .arg(files.path("ca.pem"))
                .args(args)
                .arg(format!("https://localhost:{}/", address.port())),
            b"",
            LIMIT,
        );
        let body = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{body}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            body.contains(&format!(
                "over Some({version}); alpn=Some(\"http/1.1\"); sni=Some(\"localhost\")"
            )),
            "{body}"
        );
    }
}

/// Runs a gyre TLS client against `openssl s_server` (given `server_args`),
/// sends `request`, and returns what came back, the reason the connection
/// ended, and the negotiated version.
fn gyre_client_against_s_server(
    files: &Files,
    server_args: &[&str],
    request: &'static [u8],
    close_after: Option<usize>,
) -> (Vec<u8>, Failure, Option<ProtocolVersion>) {
    require("openssl", "openssl");
    let port = free_port();
    let (_server, _) = start_until(
        Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(files.path("localhost.pem"))
            .arg("-key")
            .arg(files.path("localhost.key"))
            .args(server_args),
        b"",
        "ACCEPT",
    );
    let reactor = Reactor::new().unwrap();
    type Result = (Vec<u8>, Option<Failure>, Option<ProtocolVersion>);
    let result: Rc<RefCell<Result>> = Rc::default();

    struct Client {
        request: &'static [u8],
        close_after: Option<usize>,
        result: Rc<RefCell<Result>>,
        reactor: Reactor,
    }
    impl Protocol for Client {
        fn connection_made(&mut self, transport: &Transport) {
            transport.write(self.request);
        }
        fn data_received(&mut self, transport: &Transport, data: &[u8]) {
            let mut result = self.result.borrow_mut();
            result.0.extend_from_slice(data);
            result.2 = transport.capability::<TlsSession>().unwrap().protocol_version;
            if self.close_after.is_some_and(|n| result.0.len() >= n) {
                transport.lose_connection();
            }
        }
        fn connection_lost(&mut self, _: &Transport, reason: Failure) {
            self.result.borrow_mut().1 = Some(reason);
            let _ = self.reactor.stop();
        }
    }

    let config = TlsClientConfig::builder()
        .ca_file(Path::new(&files.path("ca.pem")))
        .unwrap()
        .build()
        .unwrap();
    let (result_in, reactor_in) = (result.clone(), reactor.clone());
    let factory = SharedClientFactory::new(protocol_factory(move |_| Client {
        request,
        close_after,
        result: result_in.clone(),
        reactor: reactor_in.clone(),
    }));
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let _connector = reactor.connect_tcp_with(
        address,
        wrap_client_factory(config, "localhost", factory),
        ConnectOptions::default(),
    );
    let timed_out = Rc::new(std::cell::Cell::new(false));
    let (flag, stopper) = (timed_out.clone(), reactor.clone());
    let _guard = reactor.call_later(LIMIT, move || {
        flag.set(true);
        let _ = stopper.stop();
    });
    reactor.run().unwrap();
    assert!(
        !timed_out.get(),
        "the exchange with s_server did not finish in time"
    );
    let (data, reason, version) = result.take();
    (data, reason.expect("connection_lost"), version)
}

#[test]
fn gyre_client_against_s_server_www() {
    let files = Files::new("s-server-www");
    let (data, reason, version) =
        gyre_client_against_s_server(&files, &["-www"], b"GET / HTTP/1.0\r\n\r\n", None);
    let text = String::from_utf8_lossy(&data);
    assert!(text.starts_with("HTTP/1.0 200 ok"), "{text}");
    assert!(text.contains("TLSv1.3"), "{text}");
    assert_eq!(version, Some(ProtocolVersion::TLSv1_3));
    assert!(reason.is::<gyre_core::errors::ConnectionDone>(), "{reason}");
}

#[test]
fn gyre_client_against_s_server_rev_over_tls12() {
    let files = Files::new("s-server-rev");
    let (data, reason, version) =
        gyre_client_against_s_server(&files, &["-rev", "-tls1_2"], b"hello gyre\n", Some(11));
    assert_eq!(String::from_utf8_lossy(&data), "eryg olleh\n");
    assert_eq!(version, Some(ProtocolVersion::TLSv1_2));
    assert!(reason.is::<gyre_core::errors::ConnectionDone>(), "{reason}");
}
