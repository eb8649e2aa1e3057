//! The TCP examples against programs nobody here wrote: `socat`, `nc`
//! (OpenBSD netcat) and Python's `socket` module talk to `echo_server` and
//! `chat_server`, and `echo_client` talks to a `socat` echo server. Each
//! example runs as its own process on a free port and is killed by PID.
//!
//! Needs the Debian packages `socat`, `netcat-openbsd` and `python3`.

mod tcp_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use gyre_testing::peers::free_port;
use tcp_support::programs::{KillOnDrop, Server, example, require, run};

const LIMIT: Duration = Duration::from_secs(30);

/// Text lines, about `len` bytes, that survive any line-based tool.
fn lines(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0;
    while out.len() < len {
        out.extend_from_slice(format!("line {i:06} {}\n", "abcdefghij".repeat(i % 7)).as_bytes());
        i += 1;
    }
    out
}

#[test]
fn socat_talks_to_echo_server() {
    require("socat", "socat");
    let server = Server::start(&example("echo_server"), &["--listen", "127.0.0.1:0"]);
    let input = lines(200_000);
    let output = run(
        Command::new("socat")
            .args(["-t", "10", "-"])
            .arg(format!("TCP:{}", server.address)),
        &input,
        LIMIT,
    );
    assert!(
        output.status.success(),
        "socat failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout == input,
        "socat got back {} of {} bytes",
        output.stdout.len(),
        input.len()
    );
}

#[test]
fn netcat_talks_to_echo_server_over_ipv6() {
    require("nc.openbsd", "netcat-openbsd");
    let server = Server::start(&example("echo_server"), &["--listen", "[::1]:0"]);
    let input = lines(100_000);
    // -N: shut down the write side at the end of input, then read to the end.
    let port = server.address.port().to_string();
    let output = run(
        Command::new("nc.openbsd").args(["-N", "-w", "10", "::1", &port]),
        &input,
        LIMIT,
    );
    assert!(
        output.status.success(),
        "nc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout == input,
        "nc got back {} of {} bytes",
        output.stdout.len(),
        input.len()
    );
}

/// Runs a Python script (given the server's host and port as arguments)
/// and checks that it printed `OK`.
fn python(script: &str, server: SocketAddr) {
    require("python3", "python3");
    let output = run(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(server.ip().to_string())
            .arg(server.port().to_string()),
        b"",
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("OK"),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

const PYTHON_ECHO: &str = r#"
import socket, struct, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
def connect():
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "the server closed early"
        data += chunk
    return data
# Ping-pong of small messages.
s = connect()
for i in range(200):
    msg = b"message %d" % i
    s.sendall(msg)
    assert recv_exactly(s, len(msg)) == msg
# A reset from our side must not disturb the server.
r = connect()
r.sendall(b"about to reset")
r.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
r.close()
# 3 MiB sent while reading concurrently, then a half-close: all comes back.
big = bytes((i * 7) % 256 for i in range(3 * 1024 * 1024))
sender = threading.Thread(target=lambda: (s.sendall(big), s.shutdown(socket.SHUT_WR)))
sender.start()
back = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    back += chunk
sender.join()
assert bytes(back) == big, "got %d of %d bytes" % (len(back), len(big))
s.close()
print("OK")
"#;

#[test]
fn python_sockets_talk_to_echo_server() {
    let server = Server::start(&example("echo_server"), &["--listen", "127.0.0.1:0"]);
    python(PYTHON_ECHO, server.address);
}

#[test]
fn python_sockets_talk_to_echo_server_over_ipv6() {
    let server = Server::start(&example("echo_server"), &["--listen", "[::1]:0"]);
    python(PYTHON_ECHO, server.address);
}

const PYTHON_CHAT: &str = r#"
import socket, struct, sys, time
host, port = sys.argv[1], int(sys.argv[2])
def connect():
    return socket.create_connection((host, port), timeout=10)
def read_lines(s, n):
    data = b""
    while data.count(b"\n") < n:
        chunk = s.recv(4096)
        assert chunk, "closed early after %r" % data
        data += chunk
    return data
def nothing_for(s, seconds):
    s.settimeout(seconds)
    try:
        data = s.recv(4096)
    except socket.timeout:
        data = b""
    s.settimeout(10)
    return data
a, b, c = connect(), connect(), connect()
# Each client announces itself, so all three are known to be in the room.
for name, s in (("a", a), ("b", b), ("c", c)):
    s.sendall(b"hi from " + name.encode() + b"\n")
    time.sleep(0.05)
assert read_lines(a, 2) == b"hi from b\nhi from c\n"
assert read_lines(b, 2) == b"hi from a\nhi from c\n"
assert read_lines(c, 2) == b"hi from a\nhi from b\n"
# A line split across sends arrives whole, to the others only.
a.sendall(b"hello\npart")
time.sleep(0.05)
a.sendall(b"ial line\n")
for s in (b, c):
    assert read_lines(s, 2) == b"hello\npartial line\n"
assert nothing_for(a, 0.3) == b"", "the sender got its own line"
# A client that resets does not disturb the others.
b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
b.close()
time.sleep(0.05)
c.sendall(b"still here\n")
assert read_lines(a, 1) == b"still here\n"
# A line over the limit ends the sender's connection with a message.
a.sendall(b"x" * 20000)
reply = b""
while True:
    chunk = a.recv(4096)
    if not chunk:
        break
    reply += chunk
assert reply == b"line too long\n", reply
print("OK")
"#;

#[test]
fn python_sockets_chat_through_chat_server() {
    let server = Server::start(&example("chat_server"), &["--listen", "127.0.0.1:0"]);
    python(PYTHON_CHAT, server.address);
}

#[test]
fn netcat_chats_with_a_plain_socket_through_chat_server() {
    require("nc.openbsd", "netcat-openbsd");
    let server = Server::start(&example("chat_server"), &["--listen", "127.0.0.1:0"]);
    let mut me = TcpStream::connect(server.address).unwrap();
    me.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = server.address.port().to_string();
    let mut nc = KillOnDrop(
        Command::new("nc.openbsd")
            .args(["-N", "127.0.0.1", &port])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut nc_in = nc.0.stdin.take().unwrap();
    let mut nc_out = BufReader::new(nc.0.stdout.take().unwrap());
    // nc speaks first, which also shows it joined.
    nc_in.write_all(b"from nc\n").unwrap();
    nc_in.flush().unwrap();
    let mut line = String::new();
    BufReader::new(&me).read_line(&mut line).unwrap();
    assert_eq!(line, "from nc\n");
    me.write_all(b"from a plain socket\n").unwrap();
    // nc's output is read in a thread; killing nc (on failure) ends it.
    let (heard_tx, heard_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut heard = String::new();
        let _ = nc_out.read_line(&mut heard);
        let _ = heard_tx.send(heard);
    });
    let heard = heard_rx.recv_timeout(LIMIT).expect("nc printed the line");
    assert_eq!(heard, "from a plain socket\n");
    // nc's end of input half-closes; the server closes, and nc exits.
    drop(nc_in);
    assert!(nc.wait_bounded(LIMIT).success());
    let mut rest = Vec::new();
    me.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let _ = me.read_to_end(&mut rest);
    assert!(rest.is_empty(), "nothing else was broadcast: {rest:?}");
}

#[test]
fn echo_client_talks_to_a_socat_echo_server() {
    require("socat", "socat");
    let port = free_port();
    let socat = Command::new("socat")
        .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
        .arg("PIPE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _socat = KillOnDrop(socat);
    let address = format!("127.0.0.1:{port}");
    // Wait (bounded) until socat listens.
    let deadline = std::time::Instant::now() + LIMIT;
    while TcpStream::connect(&address).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "socat never listened on {address}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let client = example("echo_client");
    let output = run(
        Command::new(&client).args(["--connect", &address, "--message", "hi socat", "--count", "100"]),
        b"",
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("hi socat\n100 round trips of 8 bytes"),
        "{stdout}"
    );
    let output = run(
        Command::new(&client).args(["--connect", &address, "--size", "1000000", "--count", "3"]),
        b"",
        LIMIT,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("3 round trips of 1000000 bytes"));
    // A refused connection is reported with a failing exit status.
    let closed = format!("127.0.0.1:{}", free_port());
    let output = run(Command::new(&client).args(["--connect", &closed]), b"", LIMIT);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("refused"));
}
