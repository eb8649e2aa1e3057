//! `ssl:` and `tls:` descriptions over real sockets on 127.0.0.1, with
//! certificates from a throw-away CA (gyre_testing::certs); and `openssl
//! s_client` (Debian package `openssl`) against the `ssl:` server.

use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::connector::ListeningPort;
use gyre_core::{Address, Deferred, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::{
    EndpointRegistry, ParseErrorKind, StaticResolver, connect_protocol, tls_hostname_endpoint,
};
use gyre_reactor::Reactor;
use gyre_testing::certs::TestCa;
use gyre_testing::peers::{require_program, run};
use gyre_testing::success_result_of;
use gyre_tls::TlsClientConfig;

const LIMIT: Duration = Duration::from_secs(10);

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

struct Greeter(Option<gyre_core::Resolver<Vec<u8>>>);
impl Protocol for Greeter {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(b"over tls");
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if let Some(done) = self.0.take() {
            done.callback(data.to_vec());
        }
        transport.lose_connection();
    }
}

/// Echoes what it reads, then closes (so a peer that waits for the end of
/// the connection, such as `openssl s_client`, exits).
struct EchoOnce;
impl Protocol for EchoOnce {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
        transport.lose_connection();
    }
}

/// A temporary directory with a throw-away CA (`ca.pem`) and a server
/// certificate it signed (`server.pem`, `server.key`); removed on drop.
struct Files(PathBuf);

impl Files {
    fn new(test: &str, names: &[&str]) -> Files {
        let dir = std::env::temp_dir().join(format!("gyre-endpoints-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = TestCa::new("gyre endpoints test CA");
        ca.write(&dir, "ca");
        ca.server(names).write(&dir, "server");
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

/// An `ssl:` server from a description string on 127.0.0.1 with the
/// certificate of `files`, serving `protocol`; the port and its number.
fn ssl_server<P: Protocol + 'static>(
    reactor: &Reactor,
    files: &Files,
    protocol: fn() -> P,
) -> (ListeningPort, u16) {
    let server = EndpointRegistry::default()
        .server_from_string(
            reactor,
            &format!(
                "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
                files.path("server.key"),
                files.path("server.pem")
            ),
        )
        .unwrap();
    let port = success_result_of(
        server.listen(SharedFactory::new(protocol_factory(move |_: &Address| {
            protocol()
        }))),
    );
    let number = port.host().port().unwrap();
    (port, number)
}

#[test]
fn ssl_server_and_tls_client_from_strings() {
    let files = Files::new("tls", &["localhost"]);
    let reactor = Reactor::new().unwrap();
    let (_port, number) = ssl_server(&reactor, &files, || Echo);
    let client = EndpointRegistry::default()
        .client_from_string(
            &reactor,
            &format!("tls:localhost:{number}:trustRoots={}", files.path("ca.pem")),
        )
        .unwrap();
    let (echo, resolver) = Deferred::new();
    let heard = connect_protocol(&*client, Greeter(Some(resolver))).and_then(move |_| echo);
    assert_eq!(
        reactor.run_until(heard.add_timeout(&reactor, LIMIT)).unwrap(),
        b"over tls"
    );
    reactor.close();
}

#[test]
fn unusable_files_are_reported_against_their_argument() {
    let reactor = Reactor::new().unwrap();
    let registry = EndpointRegistry::default();
    let error = registry
        .server_from_string(&reactor, "ssl:0:privateKey=/nonexistent/key.pem")
        .err()
        .unwrap();
    assert!(
        matches!(error.kind(), ParseErrorKind::Unusable { argument, .. } if argument == "certKey"),
        "{error}"
    );
    let error = registry
        .client_from_string(&reactor, "tls:localhost:443:trustRoots=/nonexistent/ca.pem")
        .err()
        .unwrap();
    assert!(
        matches!(error.kind(), ParseErrorKind::Unusable { argument, .. } if argument == "trustRoots"),
        "{error}"
    );
    assert_eq!(error.position(), 29);
    reactor.close();
}

#[test]
fn openssl_s_client_talks_to_an_ssl_server() {
    require_program("openssl", "openssl");
    let files = Files::new("openssl", &["localhost"]);
    let reactor = Reactor::new().unwrap();
    let (_port, number) = ssl_server(&reactor, &files, || EchoOnce);
    let ca = files.path("ca.pem");
    // s_client runs on a thread of the pool; the reactor serves meanwhile.
    // Its input stays open, so it exits only once the server has echoed
    // the line and closed.
    let run = reactor.defer_to_thread(move || {
        Ok::<_, std::io::Error>(run(
            Command::new("openssl")
                .args([
                    "s_client",
                    "-quiet",
                    "-verify_return_error",
                    "-servername",
                    "localhost",
                ])
                .args(["-connect", &format!("127.0.0.1:{number}"), "-CAfile", &ca]),
            b"ping from openssl\n",
            LIMIT,
        ))
    });
    let output = reactor.run_until(run.add_timeout(&reactor, LIMIT * 2)).unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ping from openssl\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    reactor.close();
}

#[test]
fn an_internationalised_host_name_is_verified_in_its_ascii_form() {
    // Certificates carry the punycode form of a name; a `tls:` endpoint
    // given the Unicode form must send and verify that form.
    let files = Files::new("idna", &["xn--bcher-kva.example"]);
    let reactor = Reactor::new().unwrap();
    let (_port, number) = ssl_server(&reactor, &files, || Echo);
    let resolver = StaticResolver::new().with("xn--bcher-kva.example", &["127.0.0.1".parse().unwrap()]);
    let config = TlsClientConfig::builder()
        .ca_file(&files.0.join("ca.pem"))
        .unwrap()
        .build()
        .unwrap();
    let client = tls_hostname_endpoint(&reactor, Rc::new(resolver), "bücher.example", number, config);
    let (echo, resolver) = Deferred::new();
    let heard = connect_protocol(&client, Greeter(Some(resolver))).and_then(move |_| echo);
    assert_eq!(
        reactor.run_until(heard.add_timeout(&reactor, LIMIT)).unwrap(),
        b"over tls"
    );
    reactor.close();
}
