//! SOCKS against real peers over 127.0.0.1: curl (SOCKS4, SOCKS4a,
//! SOCKS5 with local and remote name resolution, username/password) and
//! PySocks (UDP ASSOCIATE) through the `socks_server` example to
//! `python3 -m http.server` and a UDP echo; and the gyre SOCKS5 client
//! endpoint through `microsocks` to an echo server in this process.
//!
//! Needs the Debian packages `curl`, `python3` and `microsocks`, and
//! PySocks in `.venv-peers` (both installed by `tools/test.sh`).

mod socks_support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::interfaces::ReactorTcp;
use gyre_core::{Address, Deferred, Failure, Protocol, Resolver, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::{ClientEndpoint, EndpointRegistry, TcpClientEndpoint, connect_protocol};
use gyre_protocols::socks::wire::{ReplyCode, TargetAddr};
use gyre_protocols::socks::{Socks5ClientEndpoint, SocksClientError, register_socks5_client};
use gyre_reactor::Reactor;
use gyre_testing::peers::peer_python;
use socks_support::programs::{KillOnDrop, http_server, require, run, start_example, temp_dir};

const LIMIT: Duration = Duration::from_secs(60);

/// A directory with a file of `size` distinct bytes, served over HTTP.
struct Site {
    dir: std::path::PathBuf,
    body: Vec<u8>,
    _server: KillOnDrop,
    port: u16,
}

impl Site {
    fn new(name: &str) -> Site {
        let dir = temp_dir(name);
        let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.join("file.bin"), &body).unwrap();
        let (server, port) = http_server(&dir);
        Site {
            dir,
            body,
            _server: server,
            port,
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn curl(args: &[&str]) -> std::process::Output {
    require("curl", "curl");
    run(
        Command::new("curl").args(["-sS", "--max-time", "30"]).args(args),
        b"",
        LIMIT,
    )
}

#[test]
fn curl_through_every_socks_version() {
    let site = Site::new("socks-curl");
    let (_server, proxy) = start_example("socks_server", &["--listen", "tcp:0:interface=127.0.0.1"]);
    let proxy = proxy.to_string();
    let by_ip = format!("http://127.0.0.1:{}/file.bin", site.port);
    let by_name = format!("http://localhost:{}/file.bin", site.port);
    for (flag, url) in [
        ("--socks5-hostname", &by_name), // the name goes to the server (ATYP 3)
        ("--socks5", &by_ip),            // curl resolves, sends an IPv4 address
        ("--socks4", &by_ip),
        ("--socks4a", &by_name), // the name goes to the server (0.0.0.x)
    ] {
        let output = curl(&[flag, &proxy, url]);
        assert!(
            output.status.success(),
            "{flag}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stdout == site.body,
            "{flag}: the body came through changed"
        );
    }
    // Refused and unknown targets get SOCKS errors curl reports (exit 97).
    let refused = curl(&["--socks5-hostname", &proxy, "http://127.0.0.1:1/"]);
    assert_eq!(refused.status.code(), Some(97));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("(5)"),
        "{refused:?}"
    );
    let unknown = curl(&["--socks5-hostname", &proxy, "http://no-such-host.invalid/"]);
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("(4)"),
        "{unknown:?}"
    );
}

#[test]
fn curl_with_a_username_and_password() {
    let site = Site::new("socks-curl-auth");
    let (_server, proxy) = start_example(
        "socks_server",
        &[
            "--listen",
            "tcp:0:interface=127.0.0.1",
            "--user",
            "alice",
            "--password",
            "s3cret",
        ],
    );
    let url = format!("http://localhost:{}/file.bin", site.port);
    let good = curl(&["--proxy", &format!("socks5h://alice:s3cret@{proxy}"), &url]);
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    assert!(good.stdout == site.body);
    let wrong = curl(&["--proxy", &format!("socks5h://alice:guess@{proxy}"), &url]);
    assert_eq!(wrong.status.code(), Some(97), "{wrong:?}");
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("rejected"),
        "{wrong:?}"
    );
    let anonymous = curl(&["--socks5-hostname", &proxy.to_string(), &url]);
    assert_eq!(anonymous.status.code(), Some(97));
    let socks4 = curl(&[
        "--socks4",
        &proxy.to_string(),
        &url.replace("localhost", "127.0.0.1"),
    ]);
    assert_eq!(
        socks4.status.code(),
        Some(97),
        "SOCKS4 cannot authenticate: refused"
    );
}

#[test]
fn curl_is_refused_by_the_access_policy() {
    let site = Site::new("socks-curl-policy");
    let (_server, proxy) = start_example(
        "socks_server",
        &["--listen", "tcp:0:interface=127.0.0.1", "--deny-loopback"],
    );
    let denied = curl(&[
        "--socks5",
        &proxy.to_string(),
        &format!("http://127.0.0.1:{}/file.bin", site.port),
    ]);
    assert_eq!(denied.status.code(), Some(97), "{denied:?}");
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("(2)"),
        "not allowed: {denied:?}"
    );
}

/// A SOCKS4 BIND written with Python's `socket`: the first reply names the
/// port, a second socket connects to it as the remote host, the second
/// reply names that socket, then bytes flow both ways.
const PYTHON_BIND: &str = r#"
import socket, struct, sys
proxy = ("127.0.0.1", int(sys.argv[1]))
control = socket.create_connection(proxy, timeout=10)
control.sendall(struct.pack(">BBH4s", 4, 2, 21, socket.inet_aton("127.0.0.1")) + b"ftp\0")
def reply():
    data = b""
    while len(data) < 8:
        chunk = control.recv(8 - len(data))
        assert chunk, "closed"
        data += chunk
    vn, cd, port = struct.unpack(">BBH", data[:4])
    return cd, port, socket.inet_ntoa(data[4:])
cd, port, ip = reply()
print("first", cd, ip)
remote = socket.create_connection(("127.0.0.1", port), timeout=10)
cd, rport, rip = reply()
print("second", cd, rip, rport == remote.getsockname()[1])
remote.sendall(b"from the remote host")
print(control.recv(100).decode())
control.sendall(b"from the client")
print(remote.recv(100).decode())
"#;

#[test]
fn a_socks4_bind_from_python_sockets() {
    require("python3", "python3");
    let (_server, proxy) = start_example("socks_server", &["--listen", "tcp:0:interface=127.0.0.1"]);
    let output = run(
        Command::new("python3").args(["-c", PYTHON_BIND, &proxy.port().to_string()]),
        b"",
        LIMIT,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "first 90 127.0.0.1\nsecond 90 127.0.0.1 True\nfrom the remote host\nfrom the client\n"
    );
}

/// PySocks sends UDP through the association to an echo socket in the same
/// script, by address and by name, and prints what came back.
const PYSOCKS_UDP: &str = r#"
import socket, sys, threading, socks
echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
echo.bind(("127.0.0.1", 0))
def serve():
    while True:
        data, addr = echo.recvfrom(65535)
        echo.sendto(b"echo:" + data, addr)
threading.Thread(target=serve, daemon=True).start()
port = echo.getsockname()[1]
s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
s.set_proxy(socks.SOCKS5, "127.0.0.1", int(sys.argv[1]))
s.settimeout(10)
for host in ["127.0.0.1", "localhost", "127.0.0.1"]:
    s.sendto(b"ping " + host.encode(), (host, port))
    data, source = s.recvfrom(1024)
    print(data.decode(), source[0], source[1] == port)
s.close()
"#;

#[test]
fn pysocks_relays_udp_through_an_association() {
    let python = peer_python("socks");
    let (_server, proxy) = start_example("socks_server", &["--listen", "tcp:0:interface=127.0.0.1"]);
    let output = run(
        Command::new(python).args(["-c", PYSOCKS_UDP, &proxy.port().to_string()]),
        b"",
        LIMIT,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "echo:ping 127.0.0.1 127.0.0.1 True\necho:ping localhost 127.0.0.1 True\necho:ping 127.0.0.1 127.0.0.1 True\n"
    );
}

/// `microsocks` on a port that was free a moment ago (it cannot report a
/// port it chose), once it accepts connections.
fn microsocks(extra: &[&str]) -> (KillOnDrop, SocketAddr) {
    require("microsocks", "microsocks");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("microsocks")
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting microsocks");
    let child = KillOnDrop(child);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect(address).is_err() {
        assert!(Instant::now() < deadline, "microsocks did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, address)
}

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// Sends a line and hands back the echo.
struct Ask(Option<Resolver<Vec<u8>>>, Vec<u8>);
impl Protocol for Ask {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(b"through the proxy\n");
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.1.extend_from_slice(data);
        if self.1.ends_with(b"\n")
            && let Some(done) = self.0.take()
        {
            done.callback(std::mem::take(&mut self.1));
            transport.lose_connection();
        }
    }
}

fn ask(reactor: &Reactor, endpoint: &dyn ClientEndpoint) -> Result<(Vec<u8>, Address), Failure> {
    let (heard, resolver) = Deferred::new();
    let scenario = connect_protocol(endpoint, Ask(Some(resolver), Vec::new()))
        .and_then(move |connected| heard.map(move |echo| (echo, connected.transport.peer())));
    reactor.run_until(scenario.add_timeout(reactor, LIMIT))
}

#[test]
fn the_gyre_client_endpoint_through_microsocks() {
    let reactor = Reactor::new().unwrap();
    let echo = reactor
        .listen_tcp(
            "127.0.0.1:0".parse().unwrap(),
            SharedFactory::new(protocol_factory(|_: &Address| Echo)),
            5,
        )
        .unwrap();
    let echo_port = echo.host().port().unwrap();
    let (_proxy, proxy) = microsocks(&["-u", "alice", "-P", "pw"]);
    let via = |target: TargetAddr, password: &str| {
        Socks5ClientEndpoint::new(Rc::new(TcpClientEndpoint::new(reactor.clone(), proxy)), target)
            .with_credentials("alice", password)
    };
    let target = TargetAddr::Ip(SocketAddr::from(([127, 0, 0, 1], echo_port)));
    let (echoed, peer) = ask(&reactor, &via(target.clone(), "pw")).unwrap();
    assert_eq!(echoed, b"through the proxy\n");
    assert_eq!(
        peer,
        target.to_address(),
        "the transport names the target, not the proxy"
    );

    let refused = ask(&reactor, &via(target, "wrong")).unwrap_err();
    assert_eq!(
        refused.downcast_ref(),
        Some(&SocksClientError::AuthenticationFailed),
        "{refused}"
    );
    // Stopping the reactor (run_until does) closed the echo port: nobody
    // listens there now, which microsocks reports as a refusal.
    let closed = TargetAddr::Ip(SocketAddr::from(([127, 0, 0, 1], echo_port)));
    let failure = ask(&reactor, &via(closed, "pw")).unwrap_err();
    let error = failure.downcast_ref::<SocksClientError>().expect("a SOCKS error");
    assert!(
        error
            .reply_code()
            .is_some_and(|code| code != ReplyCode::Succeeded),
        "{failure}"
    );
    reactor.close();
}

#[test]
fn a_socks5_description_reaches_a_name_through_microsocks() {
    let reactor = Reactor::new().unwrap();
    // Listen on the same port on 127.0.0.1 and, where there is IPv6, ::1, so
    // "localhost" works whichever address microsocks picks.
    let echo = reactor
        .listen_tcp(
            "127.0.0.1:0".parse().unwrap(),
            SharedFactory::new(protocol_factory(|_: &Address| Echo)),
            5,
        )
        .unwrap();
    let port = echo.host().port().unwrap();
    let _v6 = reactor.listen_tcp(
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        SharedFactory::new(protocol_factory(|_: &Address| Echo)),
        5,
    );
    let (_proxy, proxy) = microsocks(&[]);
    let mut registry = EndpointRegistry::default();
    register_socks5_client(&mut registry);
    let description = format!(
        "socks5:127.0.0.1:{}:host=localhost:port={port}:timeout=10",
        proxy.port()
    );
    let endpoint = registry.client_from_string(&reactor, &description).unwrap();
    let (echoed, peer) = ask(&reactor, &*endpoint).unwrap();
    assert_eq!(echoed, b"through the proxy\n");
    assert_eq!(
        peer,
        Address::Hostname {
            host: "localhost".into(),
            port
        }
    );
    reactor.close();
}
