//! The `unix_echo` example against programs nobody here wrote: socat and
//! Python's `socket` module (including `send_fds`/`recv_fds`) as clients of
//! its server, and a Python server for its client.

mod tcp_support;
mod unix_support;

use std::io::BufRead;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tcp_support::programs::{example, require, run};
use unix_support::{KillOnDrop, ScratchDir};

const LIMIT: Duration = Duration::from_secs(15);

/// Starts example `unix_echo --listen NAME` (plus `extra` arguments) and
/// waits, bounded, for its `listening on unix:NAME` line.
fn start_unix_echo(name: &str, extra: &[&str]) -> KillOnDrop {
    let child = Command::new(example("unix_echo"))
        .args(["--listen", name])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting unix_echo");
    let mut server = KillOnDrop(child);
    let stdout = server.0.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = receiver
        .recv_timeout(LIMIT)
        .expect("unix_echo printed nothing in time");
    assert_eq!(
        line.trim_end(),
        format!("listening on unix:{name}"),
        "unexpected first line"
    );
    server
}

/// Runs a peer and checks that it succeeded.
fn run_ok(command: &mut Command, input: &[u8]) -> Vec<u8> {
    let Output {
        status,
        stdout,
        stderr,
    } = run(command, input, LIMIT);
    assert!(
        status.success(),
        "{command:?} failed ({status}): {}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

fn python(script: &str, args: &[&str]) -> Command {
    require("python3", "python3");
    let mut command = Command::new("python3");
    command.arg("-c").arg(script).args(args);
    command
}

#[test]
fn socat_talks_to_the_example_server_and_sigterm_removes_the_file() {
    require("socat", "socat");
    let dir = ScratchDir::new("interop-socat");
    let path = dir.join("echo.sock");
    let name = path.to_str().unwrap();
    let mut server = start_unix_echo(name, &["--mode", "600"]);
    let out = run_ok(
        Command::new("socat").args(["-t", "2", "-", &format!("UNIX-CONNECT:{name}")]),
        b"hi socat\n",
    );
    assert_eq!(out, b"hi socat\n");
    // A graceful stop (SIGTERM) closes the port, which removes its file.
    server.signal_and_wait("TERM", LIMIT);
    assert!(!path.exists(), "the socket file is removed on a graceful stop");
}

const PY_ABSTRACT_CLIENT: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect("\0" + sys.argv[1])
s.sendall(b"abstract hello")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
"#;

#[test]
fn python_reaches_the_example_server_on_an_abstract_name() {
    let name = format!("gyre-interop-{}", std::process::id());
    let _server = start_unix_echo(&format!("@{name}"), &[]);
    assert_eq!(
        run_ok(&mut python(PY_ABSTRACT_CLIENT, &[&name]), b""),
        b"abstract hello"
    );
}

/// Sends the read end of a pipe (with data waiting in it) to the server,
/// gets a descriptor back with the echo, and reads the pipe through it.
const PY_FD_CLIENT: &str = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
r, w = os.pipe()
os.write(w, b"read through a passed descriptor")
os.close(w)
socket.send_fds(s, [b"x"], [r])
os.close(r)
data, fds, flags, addr = socket.recv_fds(s, 16, 4)
assert data == b"x", data
assert len(fds) == 1, fds
sys.stdout.write(os.read(fds[0], 100).decode())
"#;

#[test]
fn python_passes_a_descriptor_and_gets_it_back() {
    let dir = ScratchDir::new("interop-fds");
    let path = dir.join("fds.sock");
    let _server = start_unix_echo(path.to_str().unwrap(), &[]);
    let out = run_ok(&mut python(PY_FD_CLIENT, &[path.to_str().unwrap()]), b"");
    assert_eq!(out, b"read through a passed descriptor");
}

/// A Python server that upper-cases what one client sends, until the
/// client half-closes; it prints `ready` once listening.
const PY_UPPER_SERVER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
s.settimeout(10)
print("ready", flush=True)
c, _ = s.accept()
c.settimeout(10)
while True:
    chunk = c.recv(4096)
    if not chunk:
        break
    c.sendall(chunk.upper())
c.close()
"#;

#[test]
fn the_example_client_talks_to_a_python_server() {
    let dir = ScratchDir::new("interop-client");
    let path = dir.join("upper.sock");
    let name = path.to_str().unwrap();
    let mut server_command = python(PY_UPPER_SERVER, &[name]);
    let server = server_command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = unix_support::KillOnDrop(server);
    let mut ready = String::new();
    std::io::BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    let input = b"from stdin\nthrough a unix socket\n";
    let out = run_ok(
        Command::new(example("unix_echo")).args(["--connect", name]),
        input,
    );
    assert_eq!(out, input.to_ascii_uppercase());
}

#[test]
fn the_example_client_reports_a_missing_server() {
    let dir = ScratchDir::new("interop-missing");
    let name = dir.join("nobody.sock");
    let client = run(
        Command::new(example("unix_echo")).args(["--connect", name.to_str().unwrap()]),
        b"",
        LIMIT,
    );
    assert!(!client.status.success());
    assert!(client.stdout.is_empty());
    let message = String::from_utf8_lossy(&client.stderr);
    assert!(message.contains("No such file or directory"), "{message}");
}
