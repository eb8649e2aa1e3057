//! The TLS options of endpoint descriptions against OpenSSL (Debian
//! package `openssl`), a peer nobody here wrote:
//! - the `tls_client` example, configured only by a `tls:` string, against
//!   `openssl s_server` (trust roots, the server name, skipped
//!   verification, and the refusals that must happen);
//! - an `ssl:` server with `alpn=`, `clientCA=` and `requireClientCert=`
//!   against `openssl s_client`.
//!
//! Certificates are made per test by a throw-away CA (gyre_testing::certs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use gyre_core::capability::{NegotiatedAlpn, PeerCertificates};
use gyre_core::{Address, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::EndpointRegistry;
use gyre_reactor::Reactor;
use gyre_testing::certs::TestCa;
use gyre_testing::peers::{
    KillOnDrop, example_binary, free_port, require_program, run, run_to_end_of_input, start_until,
};
use gyre_testing::success_result_of;

const LIMIT: Duration = Duration::from_secs(20);

/// A temporary directory with a CA (`ca.pem`), a server certificate for
/// localhost (`server.pem`/`server.key`) and a client one
/// (`client.pem`/`client.key`).
struct Files(PathBuf);

impl Files {
    fn new(test: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("gyre-endpoints-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = TestCa::new("gyre endpoints test CA");
        ca.write(&dir, "ca");
        ca.server(&["localhost", "127.0.0.1"]).write(&dir, "server");
        ca.client("alice").write(&dir, "client");
        Files(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openssl s_server -rev` (answers each line reversed) on a free port.
fn s_server(files: &Files) -> (KillOnDrop, u16) {
    require_program("openssl", "openssl");
    let port = free_port();
    let (server, _) = start_until(
        Command::new("openssl")
            .args(["s_server", "-rev", "-accept", &format!("127.0.0.1:{port}")])
            .args([
                "-cert",
                &files.path("server.pem"),
                "-key",
                &files.path("server.key"),
            ]),
        b"",
        "ACCEPT",
    );
    (server, port)
}

/// Runs the `tls_client` example with `description`, sending one line.
fn tls_client(description: &str) -> Output {
    tls_client_with(description, &[])
}

/// [`tls_client`] with extra environment variables.
fn tls_client_with(description: &str, env: &[(&str, &str)]) -> Output {
    let client = example_binary(Path::new(env!("CARGO_MANIFEST_DIR")), "tls_client");
    run_to_end_of_input(
        Command::new(client)
            .args(["--connect", description, "--close-after", "6"])
            .envs(env.iter().copied()),
        b"hello\n",
        LIMIT,
    )
}

#[test]
fn tls_client_strings_against_openssl_s_server() {
    let files = Files::new("s-server");
    let (_server, port) = s_server(&files);
    let ca = files.path("ca.pem");

    let trusted = tls_client(&format!("tls:localhost:{port}:trustRoots={ca}"));
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert_eq!(trusted.stdout, b"olleh\n");

    // An IP address is verified against the certificate's IP SAN.
    let by_ip = tls_client(&format!("tls:127.0.0.1:{port}:trustRoots={ca}"));
    assert!(
        by_ip.status.success(),
        "{}",
        String::from_utf8_lossy(&by_ip.stderr)
    );

    // The default roots (Mozilla's) do not know the test CA.
    let untrusted = tls_client(&format!("tls:localhost:{port}"));
    assert!(!untrusted.status.success());
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(
        stderr.contains("handshake failed") && stderr.contains("UnknownIssuer"),
        "{stderr}"
    );

    // systemRoots=1 reads the operating system's store, which honours
    // SSL_CERT_FILE as OpenSSL does: pointed at the test CA, it trusts it.
    let system = tls_client_with(
        &format!("tls:localhost:{port}:systemRoots=1"),
        &[("SSL_CERT_FILE", ca.as_str())],
    );
    assert!(
        system.status.success(),
        "{}",
        String::from_utf8_lossy(&system.stderr)
    );

    // serverName replaces the host as the verified name: a wrong one fails.
    let wrong_name = tls_client(&format!(
        "tls:127.0.0.1:{port}:trustRoots={ca}:serverName=other.example"
    ));
    assert!(!wrong_name.status.success());
    let stderr = String::from_utf8_lossy(&wrong_name.stderr);
    assert!(
        stderr.contains("not valid for name \"other.example\""),
        "{stderr}"
    );

    // ... and skipping verification accepts anything, as its name warns.
    let reckless = tls_client(&format!("tls:localhost:{port}:dangerousSkipVerification=1"));
    assert!(
        reckless.status.success(),
        "{}",
        String::from_utf8_lossy(&reckless.stderr)
    );
    assert_eq!(reckless.stdout, b"olleh\n");
}

/// Answers each read with the negotiated ALPN protocol and the number of
/// client certificates seen, then closes.
struct Reporter;

impl Protocol for Reporter {
    fn data_received(&mut self, transport: &Transport, _data: &[u8]) {
        let alpn = transport
            .capability::<NegotiatedAlpn>()
            .ok()
            .and_then(|alpn| alpn)
            .map_or("none".to_owned(), |p| String::from_utf8_lossy(&p).into_owned());
        let certificates = transport.capability::<PeerCertificates>().map_or(0, |c| c.len());
        transport.write(format!("alpn={alpn} client-certificates={certificates}\n").as_bytes());
        transport.lose_connection();
    }
}

/// `openssl s_client` trusting `ca` against `127.0.0.1:port`, with `extra` arguments.
fn s_client(ca: &str, port: u16, extra: &[&str]) -> Output {
    run(
        Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-verify_return_error",
                "-servername",
                "localhost",
            ])
            .args(["-connect", &format!("127.0.0.1:{port}"), "-CAfile", ca])
            .args(extra),
        b"hi\n",
        LIMIT,
    )
}

#[test]
fn ssl_server_alpn_and_client_certificates_against_openssl_s_client() {
    require_program("openssl", "openssl");
    let files = Files::new("s-client");
    let reactor = Reactor::new().unwrap();
    let server = EndpointRegistry::default()
        .server_from_string(
            &reactor,
            &format!(
                "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}:alpn=h2,http/1.1:clientCA={}:requireClientCert=1",
                files.path("server.key"),
                files.path("server.pem"),
                files.path("ca.pem"),
            ),
        )
        .unwrap();
    let port = success_result_of(server.listen(SharedFactory::new(protocol_factory(|_: &Address| Reporter))));
    let number = port.host().port().unwrap();
    // The peers run on pool threads while the reactor serves them.
    let (ca, cert, key) = (
        files.path("ca.pem"),
        files.path("client.pem"),
        files.path("client.key"),
    );
    let results = reactor.defer_to_thread(move || {
        let certificate = ["-cert", cert.as_str(), "-key", key.as_str()];
        let h2 = s_client(&ca, number, &[&["-alpn", "h2"], &certificate[..]].concat());
        let http11 = s_client(
            &ca,
            number,
            &[&["-alpn", "spdy/1,http/1.1"], &certificate[..]].concat(),
        );
        let anonymous = s_client(&ca, number, &["-alpn", "h2"]);
        Ok::<_, std::io::Error>((h2, http11, anonymous))
    });
    let (h2, http11, anonymous) = reactor
        .run_until(results.add_timeout(&reactor, LIMIT * 2))
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&h2.stdout),
        "alpn=h2 client-certificates=2\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&http11.stdout),
        "alpn=http/1.1 client-certificates=2\n"
    );
    // Without a certificate the handshake is refused and nothing is served.
    assert!(
        anonymous.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&anonymous.stdout)
    );
    assert!(!anonymous.status.success());
    reactor.close();
}
