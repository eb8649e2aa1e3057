//! The async API and the `async_echo_client` / `thread_work` examples
//! against programs nobody here wrote: `socat` as an echo server, and
//! Python's `socket` module as server and client.
//!
//! Needs the Debian packages `socat` and `python3`.

mod async_support;

use std::cell::Cell;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::rc::Rc;
use std::time::Duration;

use async_support::{example, require, wait_until_listening};
use gyre_core::prelude::*;
use gyre_reactor::{Reactor, async_io};
use gyre_testing::peers::{KillOnDrop, free_port, run_to_end_of_input, start_until};

const LIMIT: Duration = Duration::from_secs(30);

/// A socat echo server on 127.0.0.1 (`EXEC:cat` for every connection).
fn socat_echo_server() -> (KillOnDrop, SocketAddr) {
    require("socat", "socat");
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = KillOnDrop(
        Command::new("socat")
            .arg(format!(
                "TCP-LISTEN:{},bind=127.0.0.1,reuseaddr,fork",
                address.port()
            ))
            .arg("EXEC:cat")
            .stdin(Stdio::null())
            .spawn()
            .expect("starting socat"),
    );
    wait_until_listening(address, LIMIT);
    (server, address)
}

/// Runs a program to completion with `input` on stdin (closed after it);
/// kills it by PID and fails the test if it runs past [`LIMIT`].
fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    run_to_end_of_input(command, input, LIMIT)
}

#[test]
fn the_async_echo_client_example_talks_to_socat() {
    let (_server, address) = socat_echo_server();
    let output = run_with_input(
        Command::new(example("async_echo_client")).args([
            "--connect",
            &address.to_string(),
            "--message",
            "hello",
            "--message",
            "from gyre",
        ]),
        b"",
    );
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\nfrom gyre\n");
}

#[test]
fn the_async_echo_client_example_sends_its_standard_input_to_socat() {
    let (_server, address) = socat_echo_server();
    let input: String = (0..200)
        .map(|n| format!("line {n} {}\n", "x".repeat(n % 50)))
        .collect();
    // "localhost" is resolved on the client's thread pool.
    let output = run_with_input(
        Command::new(example("async_echo_client"))
            .args(["--connect", &format!("localhost:{}", address.port())]),
        input.as_bytes(),
    );
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), input);
}

#[test]
fn the_async_echo_client_example_reports_a_refused_connection() {
    let closed = format!("127.0.0.1:{}", free_port());
    let output = run_with_input(
        Command::new(example("async_echo_client")).args(["--connect", &closed, "--message", "x"]),
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused"), "stderr: {stderr}");
}

#[test]
fn python_talks_to_the_thread_work_example_and_gets_progress_then_answers() {
    require("python3", "python3");
    let (_server, line) = start_until(
        Command::new(example("thread_work")).args(["--listen", "127.0.0.1:0", "--report", "0"]),
        b"",
        "",
    );
    let address = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let script = r#"
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=25)
s.sendall(b"10\nhello\n2000000\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
"#;
    let output = run_with_input(Command::new("python3").args(["-c", script, address]), b"");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reply = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = reply.lines().collect();
    // Progress comes from the worker while it counts; answers in completion order.
    for expected in [
        "error: not a number: hello",
        "primes below 10: 4",
        "progress 2000000: 25%",
        "progress 2000000: 50%",
        "progress 2000000: 75%",
        "primes below 2000000: 148933",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in {lines:?}");
    }
    let position = |line: &str| lines.iter().position(|l| *l == line).unwrap();
    assert!(position("progress 2000000: 75%") < position("primes below 2000000: 148933"));
    assert_eq!(lines.len(), 6);
}

/// Starts a Python line server that answers each line upper-cased, and
/// prints its port first.
fn python_upper_server() -> (KillOnDrop, SocketAddr) {
    require("python3", "python3");
    let script = r#"
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(5)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
f = conn.makefile("rwb")
for line in f:
    f.write(line.upper())
    f.flush()
conn.close()
"#;
    let (server, line) = start_until(Command::new("python3").args(["-c", script]), b"", "");
    let port: u16 = line.parse().unwrap();
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn an_async_client_reads_lines_from_a_python_server() {
    let (_server, address) = python_upper_server();
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    let guard = reactor.call_later(LIMIT, || panic!("the test ran past its limit"));
    let replies = reactor.block_on(async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        let mut replies = Vec::new();
        for word in ["alpha", "beta", "gamma"] {
            stream.write(format!("{word}\r\n").as_bytes()).await?;
            replies.push(String::from_utf8(stream.read_line().await?.unwrap()).unwrap());
        }
        stream.shutdown_write();
        assert_eq!(
            stream.read_line().await?,
            None,
            "Python closed after our end of input"
        );
        Ok(replies)
    });
    guard.cancel();
    assert_eq!(replies.unwrap(), ["ALPHA", "BETA", "GAMMA"]);
    reactor.close();
}

#[test]
fn a_python_client_talks_to_an_async_server() {
    require("python3", "python3");
    let reactor = Reactor::new().unwrap();
    let served = Rc::new(Cell::new(0));
    let s = served.clone();
    let port = async_io::listen_tcp(&reactor, "127.0.0.1:0".parse().unwrap(), move |stream| {
        let s = s.clone();
        async move {
            while let Some(line) = stream.read_line().await? {
                let mut reversed = line.clone();
                reversed.reverse();
                stream.write(&[&reversed[..], b"\n"].concat()).await?;
                s.set(s.get() + 1);
            }
            Ok(())
        }
    })
    .unwrap();
    let address = port.host().socket_addr().unwrap();
    // Python runs from another thread; the reactor serves it meanwhile.
    let handle = reactor.handle();
    let client = std::thread::spawn(move || {
        let script = r#"
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=25)
f = s.makefile("rwb")
for word in [b"stressed", b"drawer", b"gyre"]:
    f.write(word + b"\n"); f.flush()
    sys.stdout.write(f.readline().decode())
s.close()
"#;
        let output = run_with_input(
            Command::new("python3").args(["-c", script, &address.to_string()]),
            b"",
        );
        handle.call_from_thread(|reactor| reactor.stop().unwrap());
        output
    });
    let guard = reactor.call_later(LIMIT, || panic!("the test ran past its limit"));
    reactor.run().unwrap();
    guard.cancel();
    let output = client.join().unwrap();
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "desserts\nreward\neryg\n"
    );
    assert_eq!(served.get(), 3);
    drop(port);
    reactor.close();
}
