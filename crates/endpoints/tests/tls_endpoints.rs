//! `ssl:` and `tls:` descriptions over real sockets on 127.0.0.1, with a
//! certificate made by rcgen for "localhost"; and `openssl s_client`
//! (Debian package `openssl`) against the `ssl:` server.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use gyre_core::{Address, Deferred, Protocol, SharedFactory, Transport, protocol_factory};
use std::rc::Rc;

use gyre_endpoints::{
    EndpointRegistry, ParseErrorKind, StaticResolver, connect_protocol, tls_hostname_endpoint,
};
use gyre_reactor::Reactor;
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

/// A directory with `cert.pem` and `key.pem` for "localhost".
fn certificates(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gyre-endpoints-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    dir
}

#[test]
fn ssl_server_and_tls_client_from_strings() {
    let dir = certificates("tls");
    let reactor = Reactor::new().unwrap();
    let registry = EndpointRegistry::default();
    let server = registry
        .server_from_string(
            &reactor,
            &format!(
                "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
                dir.join("key.pem").display(),
                dir.join("cert.pem").display()
            ),
        )
        .unwrap();
    let port = success_result_of(server.listen(SharedFactory::new(protocol_factory(|_: &Address| Echo))));
    let number = port.host().port().unwrap();
    let client = registry
        .client_from_string(
            &reactor,
            &format!(
                "tls:localhost:{number}:trustRoots={}",
                dir.join("cert.pem").display()
            ),
        )
        .unwrap();
    let (echo, resolver) = Deferred::new();
    let heard = connect_protocol(&*client, Greeter(Some(resolver))).and_then(move |_| echo);
    assert_eq!(
        reactor.run_until(heard.add_timeout(&reactor, LIMIT)).unwrap(),
        b"over tls"
    );
    reactor.close();
    std::fs::remove_dir_all(&dir).unwrap();
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
    let Ok(status) = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
    else {
        panic!("this test needs the `openssl` program (Debian package `openssl`)");
    };
    assert!(status.success());
    let dir = certificates("openssl");
    let reactor = Reactor::new().unwrap();
    let server = EndpointRegistry::default()
        .server_from_string(
            &reactor,
            &format!(
                "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
                dir.join("key.pem").display(),
                dir.join("cert.pem").display()
            ),
        )
        .unwrap();
    let port = success_result_of(server.listen(SharedFactory::new(protocol_factory(|_: &Address| Echo))));
    let number = port.host().port().unwrap();
    let cert = dir.join("cert.pem");
    // s_client runs on a thread of the pool; the reactor serves meanwhile.
    let run = reactor.defer_to_thread(move || {
        let mut child = Command::new("timeout")
            .args([
                "8",
                "openssl",
                "s_client",
                "-quiet",
                "-no_ign_eof",
                "-verify_return_error",
                "-servername",
                "localhost",
            ])
            .arg("-connect")
            .arg(format!("127.0.0.1:{number}"))
            .arg("-CAfile")
            .arg(&cert)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(b"ping from openssl\n")?;
        std::thread::sleep(Duration::from_millis(500));
        drop(stdin);
        let output = child.wait_with_output()?;
        Ok::<_, std::io::Error>(output.stdout)
    });
    let echoed = reactor.run_until(run.add_timeout(&reactor, LIMIT)).unwrap();
    assert_eq!(String::from_utf8_lossy(&echoed), "ping from openssl\n");
    reactor.close();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_internationalised_host_name_is_verified_in_its_ascii_form() {
    // Certificates carry the punycode form of a name; a `tls:` endpoint
    // given the Unicode form must send and verify that form.
    let dir = std::env::temp_dir().join(format!("gyre-endpoints-idna-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["xn--bcher-kva.example".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let reactor = Reactor::new().unwrap();
    let server = EndpointRegistry::default()
        .server_from_string(
            &reactor,
            &format!(
                "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
                dir.join("key.pem").display(),
                dir.join("cert.pem").display()
            ),
        )
        .unwrap();
    let port = success_result_of(server.listen(SharedFactory::new(protocol_factory(|_: &Address| Echo))));
    let number = port.host().port().unwrap();
    let resolver = StaticResolver::new().with("xn--bcher-kva.example", &["127.0.0.1".parse().unwrap()]);
    let config = TlsClientConfig::builder()
        .ca_file(&dir.join("cert.pem"))
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
    std::fs::remove_dir_all(&dir).unwrap();
}
