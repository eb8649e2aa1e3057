//! The `udp_echo` example against programs nobody here wrote: socat and
//! Python's `socket` module as clients of its server, and a Python echo
//! server for its client. The example binary is built on demand
//! (`gyre_testing::peers::example_binary`), so it is never stale.

mod udp_support;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use udp_support::{ChildGuard, ChildGuardExt, require_program};

const LIMIT: Duration = Duration::from_secs(15);

/// This package's example `name`, built first so it is current.
fn example(name: &str) -> PathBuf {
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
}

/// Starts `udp_echo --listen listen` and returns it with the address it bound.
fn start_server(listen: &str) -> (ChildGuard, String) {
    let mut server = ChildGuard::spawn(
        Command::new(example("udp_echo"))
            .args(["--listen", listen])
            .stdout(Stdio::piped()),
    );
    let line = server.stdout_lines().next(LIMIT);
    let bound = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (server, bound.to_owned())
}

#[test]
fn socat_gets_its_datagram_back_from_the_example_server() {
    require_program("socat", "socat");
    let (_server, bound) = start_server("127.0.0.1:0");
    let mut socat = ChildGuard::spawn(
        Command::new("socat")
            .args(["-t", "1", "-", &format!("UDP4:{bound}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    {
        use std::io::Write;
        socat
            .0
            .stdin
            .take()
            .unwrap()
            .write_all(b"hello from socat\n")
            .unwrap();
    }
    let lines = socat.stdout_lines();
    assert_eq!(lines.next(LIMIT), "hello from socat");
    assert!(socat.wait_bounded(LIMIT).success());
}

const PYTHON_CLIENT: &str = r#"
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
host = host.strip("[]")
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for n in range(3):
    s.sendto(b"python %d" % n, (host, int(port)))
for n in range(3):
    data, sender = s.recvfrom(65536)
    print(data.decode(), sender[1] == int(port))
"#;

#[test]
fn python_talks_to_the_example_server_over_ipv6() {
    require_program("python3", "python3");
    let (_server, bound) = start_server("[::1]:0");
    let mut python = ChildGuard::spawn(
        Command::new("python3")
            .args(["-c", PYTHON_CLIENT, &bound])
            .stdout(Stdio::piped()),
    );
    let lines = python.stdout_lines();
    let mut replies: Vec<String> = (0..3).map(|_| lines.next(LIMIT)).collect();
    replies.sort();
    assert_eq!(replies, ["python 0 True", "python 1 True", "python 2 True"]);
    assert!(python.wait_bounded(LIMIT).success());
}

const PYTHON_ECHO_SERVER: &str = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(10)
print(s.getsockname()[1], flush=True)
for _ in range(2):
    data, sender = s.recvfrom(65536)
    s.sendto(data.upper(), sender)
"#;

#[test]
fn the_example_client_talks_to_a_python_echo_server() {
    require_program("python3", "python3");
    let mut python = ChildGuard::spawn(
        Command::new("python3")
            .args(["-c", PYTHON_ECHO_SERVER])
            .stdout(Stdio::piped()),
    );
    let port = python.stdout_lines().next(LIMIT);
    let output = Command::new(example("udp_echo"))
        .args([
            "--connect",
            &format!("127.0.0.1:{port}"),
            "--message",
            "shout",
            "--count",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "SHOUT\nSHOUT\n");
    assert!(python.wait_bounded(LIMIT).success());
}

#[test]
fn the_example_client_reports_a_closed_port_as_refused() {
    let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let output = Command::new(example("udp_echo"))
        .args(["--connect", &closed.to_string(), "--timeout", "10"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("connection refused"), "{stderr}");
}
