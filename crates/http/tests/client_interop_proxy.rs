//! The client through tinyproxy (Debian's `tinyproxy`) over 127.0.0.1:
//! plain HTTP in absolute form to Python's `http.server`, HTTPS through a
//! CONNECT tunnel to Python's ssl server (TLS verified against a test CA
//! inside the tunnel), and a tunnel refused by the proxy.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::Deferred;
use gyre_endpoints::ThreadedResolver;
use gyre_http::client::{Agent, ClientError, EndpointConnector, RequestBody, RequestUrl};
use gyre_http::{HeaderMap, Method};
use gyre_reactor::Reactor;
use gyre_testing::certs::TestCa;
use gyre_testing::peers::{KillOnDrop, free_port, require_program, start_until};
use gyre_tls::TlsClientConfig;

const LIMIT: Duration = Duration::from_secs(60);

fn python_server(args: &[&str]) -> (KillOnDrop, u16) {
    require_program("python3", "python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client_peer_server.py");
    let (child, line) = start_until(Command::new("python3").arg(script).args(args), b"", "PORT ");
    (child, line["PORT ".len()..].parse().unwrap())
}

/// tinyproxy on a free port of 127.0.0.1, once it accepts connections.
fn tinyproxy(dir: &Path) -> (KillOnDrop, u16) {
    require_program("tinyproxy", "tinyproxy");
    let port = free_port();
    let conf = dir.join("tinyproxy.conf");
    let text = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 20\nAllow 127.0.0.1\nLogLevel Info\n\
         LogFile \"{0}/tinyproxy.log\"\nPidFile \"{0}/tinyproxy.pid\"\n",
        dir.display()
    );
    std::fs::write(&conf, text).unwrap();
    let child = Command::new("tinyproxy")
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = KillOnDrop(child);
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tinyproxy did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

fn fetch(reactor: &Reactor, proxy: u16, tls: TlsClientConfig, url: &str) -> Deferred<String> {
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let connector = Rc::new(EndpointConnector::new(reactor.clone(), resolver, tls));
    let agent = Agent::builder(Rc::new(reactor.clone()), connector)
        .proxy(RequestUrl::parse(&format!("http://127.0.0.1:{proxy}")).unwrap())
        .build();
    let post = agent.request_str(
        Method::POST,
        url,
        HeaderMap::new(),
        RequestBody::bytes(&b"via proxy"[..]),
    );
    post.and_then(|response| {
        let status = response.status.as_u16();
        response
            .read_body(1 << 20)
            .map(move |body| format!("{status} {}", String::from_utf8_lossy(&body)))
    })
}

#[test]
fn tinyproxy_plain_http_and_connect_tunnels() {
    let dir = std::env::temp_dir().join(format!("gyre-client-tinyproxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_proxy, proxy_port) = tinyproxy(&dir);
    let (_plain, plain_port) = python_server(&[]);
    let ca = TestCa::new("gyre proxy test CA");
    let (cert, key) = ca.server(&["localhost"]).write(&dir, "server");
    let ca_file = ca.write(&dir, "ca");
    let (_secure, secure_port) = python_server(&[cert.to_str().unwrap(), key.to_str().unwrap()]);
    let trusted = TlsClientConfig::builder()
        .ca_file(&ca_file)
        .unwrap()
        .build()
        .unwrap();

    let reactor = Reactor::new().unwrap();
    let plain = fetch(
        &reactor,
        proxy_port,
        trusted.clone(),
        &format!("http://127.0.0.1:{plain_port}/echo"),
    );
    let answer = reactor.run_until(plain.add_timeout(&reactor, LIMIT)).unwrap();
    assert_eq!(answer, "200 POST 9 via proxy");

    let reactor = Reactor::new().unwrap();
    let secure = fetch(
        &reactor,
        proxy_port,
        trusted.clone(),
        &format!("https://localhost:{secure_port}/echo"),
    );
    let answer = reactor.run_until(secure.add_timeout(&reactor, LIMIT)).unwrap();
    assert_eq!(answer, "200 POST 9 via proxy");

    // Nothing listens there: tinyproxy answers the CONNECT with an error status.
    let closed = free_port();
    let reactor = Reactor::new().unwrap();
    let refused = fetch(
        &reactor,
        proxy_port,
        trusted,
        &format!("https://localhost:{closed}/"),
    );
    let failure = reactor
        .run_until(refused.add_timeout(&reactor, LIMIT))
        .unwrap_err();
    assert!(
        matches!(failure.downcast_ref::<ClientError>(), Some(ClientError::ProxyRefused(status)) if *status >= 400),
        "{failure}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
