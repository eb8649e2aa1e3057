//! The `haproxy:` endpoint against real PROXY protocol senders nobody here
//! wrote: `curl --haproxy-protocol` (version 1) and HAProxy itself with
//! `send-proxy-v2`, a CRC32c checksum TLV and a unique-id TLV (version 2). The gyre server
//! answers HTTP with the peer and host its transport reports, and the test
//! checks them against curl's own address and HAProxy's frontend. A client
//! that does not send a header is turned away.
//!
//! HAProxy runs in the foreground with a generated configuration on
//! loopback ports and is killed by PID. Needs the Debian packages `curl`
//! and `haproxy`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gyre_core::{Address, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::EndpointRegistry;
use gyre_protocols::proxy_protocol::{ProxyInfo, register_haproxy, tlv};
use gyre_reactor::Reactor;
use gyre_testing::peers::{KillOnDrop, require_program};
use gyre_testing::success_result_of;

const LIMIT: Duration = Duration::from_secs(60);

/// Answers an HTTP request with what its transport says about the peer:
/// `PEER HOST VERSION crc=… id=…`: whether a CRC32c TLV came, and the
/// unique-id TLV.
#[derive(Default)]
struct WhoAmI {
    request: Vec<u8>,
}

impl Protocol for WhoAmI {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.request.extend_from_slice(data);
        if self.request.len() > 16 * 1024 {
            return transport.abort_connection();
        }
        if !self.request.windows(4).any(|w| w == b"\r\n\r\n") || transport.is_closed() {
            return;
        }
        let header = transport.capability::<ProxyInfo>().expect("behind haproxy:");
        let body = format!(
            "{} {} {:?} crc={} id={}\n",
            transport.peer(),
            transport.host(),
            header.version,
            header.tlv(tlv::CRC32C).is_some(),
            String::from_utf8_lossy(header.unique_id().unwrap_or(b"-"))
        );
        transport
            .write(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
        transport.lose_connection();
        self.request.clear();
    }
}

/// A `haproxy:` server on a free loopback port.
fn serve(reactor: &Reactor) -> SocketAddr {
    let mut registry = EndpointRegistry::default();
    register_haproxy(&mut registry);
    let endpoint = registry
        .server_from_string(reactor, "haproxy:timeout=10:tcp:0:interface=127.0.0.1")
        .unwrap();
    let factory = SharedFactory::new(protocol_factory(|_: &Address| WhoAmI::default()));
    let port = success_result_of(endpoint.listen(factory));
    port.host().socket_addr().unwrap()
}

/// Runs `scenario` on a pool thread while the reactor turns.
fn run<T: Send + 'static>(reactor: &Reactor, scenario: impl FnOnce() -> T + Send + 'static) -> T {
    let done = reactor.defer_to_thread(move || Ok::<T, std::io::Error>(scenario()));
    reactor
        .run_until(done.add_timeout(reactor, LIMIT))
        .expect("the scenario finished in time")
}

/// curl's report: the body, then the local port it used.
fn curl(args: &[&str], url: &str) -> (String, u16) {
    let output = Command::new("curl")
        .args(["-s", "-S", "--max-time", "30", "-w", "\n%{local_port}"])
        .args(args)
        .arg(url)
        .output()
        .expect("running curl");
    assert!(
        output.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, port) = text.rsplit_once('\n').unwrap();
    (body.to_owned(), port.parse().unwrap())
}

#[test]
fn curl_sends_v1_and_the_server_sees_curl() {
    require_program("curl", "curl");
    let reactor = Reactor::new().unwrap();
    let server = serve(&reactor);
    let (body, local_port) = run(&reactor, move || {
        curl(&["--haproxy-protocol"], &format!("http://{server}/"))
    });
    assert_eq!(
        body,
        format!("tcp:127.0.0.1:{local_port} tcp:{server} V1 crc=false id=-\n")
    );
    reactor.close();
}

#[test]
fn a_client_without_a_header_is_turned_away() {
    require_program("curl", "curl");
    let reactor = Reactor::new().unwrap();
    let server = serve(&reactor);
    let output = run(&reactor, move || {
        Command::new("curl")
            .args(["-s", "--max-time", "30"])
            .arg(format!("http://{server}/"))
            .output()
            .expect("running curl")
    });
    // curl: (52) Empty reply from server, or (56) a reset.
    assert!(!output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty());
    reactor.close();
}

/// A free loopback port for HAProxy's frontend.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn haproxy_binary() -> PathBuf {
    for candidate in ["/usr/sbin/haproxy", "/usr/bin/haproxy"] {
        if PathBuf::from(candidate).is_file() {
            return candidate.into();
        }
    }
    require_program("haproxy", "haproxy");
    "haproxy".into()
}

/// Waits until something accepts connections on `address`.
fn wait_listening(address: SocketAddr, haproxy: &mut KillOnDrop) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err() {
        if let Ok(Some(status)) = haproxy.0.try_wait() {
            let mut stderr = String::new();
            let _ = haproxy.0.stderr.take().unwrap().read_to_string(&mut stderr);
            panic!("haproxy exited with {status}: {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "haproxy did not listen on {address} in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn haproxy_sends_v2_with_a_checksum_and_the_server_sees_the_client() {
    require_program("curl", "curl");
    let binary = haproxy_binary();
    let reactor = Reactor::new().unwrap();
    let server = serve(&reactor);
    let frontend: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let dir = std::env::temp_dir().join(format!("gyre-haproxy-{}-{}", std::process::id(), frontend.port()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("haproxy.cfg");
    std::fs::File::create(&config)
        .unwrap()
        .write_all(
            format!(
                "global\n    maxconn 64\n\
                 defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\
                 frontend front\n    bind {frontend}\n    unique-id-format gyre-%cp\n    default_backend gyre\n\
                 backend gyre\n    server s {server} send-proxy-v2 proxy-v2-options crc32c,unique-id\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let (body, local_port) = run(&reactor, move || {
        let child = Command::new(binary)
            .arg("-db") // foreground, no daemon
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting haproxy");
        let mut haproxy = KillOnDrop(child);
        wait_listening(frontend, &mut haproxy);
        let answer = curl(&[], &format!("http://{frontend}/"));
        drop(haproxy);
        answer
    });
    assert_eq!(
        body,
        format!("tcp:127.0.0.1:{local_port} tcp:{frontend} V2 crc=true id=gyre-{local_port}\n"),
        "the client, the frontend, and the TLVs HAProxy was told to send"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    reactor.close();
}
