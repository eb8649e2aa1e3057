//! The `framing_line_echo` example as its own process, against OpenBSD
//! `nc` (the way its documentation says to try it) and two Python sockets
//! chatting through it, one of which sends a line over the limit.
//!
//! Needs the Debian packages `netcat-openbsd` and `python3`.

mod framing_support;

use std::path::Path;
use std::process::Command;

use framing_support::Peer;
use gyre_testing::peers::{example_binary, require_program};

/// Starts the example on a free port of 127.0.0.1; returns it and the port.
fn start_server() -> (Peer, u16) {
    let binary = example_binary(Path::new(env!("CARGO_MANIFEST_DIR")), "framing_line_echo");
    let server = Peer::spawn(Command::new(binary).args(["--listen", "tcp:0:interface=127.0.0.1"]));
    let line = server.line();
    let port = line
        .strip_prefix("listening on tcp:127.0.0.1:")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (server, port)
}

#[test]
fn netcat_chats_with_the_line_echo_example() {
    require_program("nc.openbsd", "netcat-openbsd");
    let (_server, port) = start_server();
    // -N: shut down the write side once the input is sent; the server's
    // answer to /quit closes the connection, which ends nc.
    let client = Peer::spawn_with_input(
        Command::new("nc.openbsd").args(["-N", "-w", "30", "127.0.0.1", &port.to_string()]),
        b"hello\n/nick bob\r\n/who\n/quit\nnever answered\n",
    );
    let (status, output) = client.finish();
    assert!(status.success(), "nc: {output}");
    let lines: Vec<&str> = output.lines().collect();
    assert!(lines[0].starts_with("* welcome, you are 127.0.0.1:"), "{output}");
    assert_eq!(
        lines[1..],
        ["echo: hello", "* you are now bob", "* here: bob", "* bye"],
        "{output}"
    );
}

const TWO_CLIENTS: &str = r#"
import socket, sys
port = int(sys.argv[1])
def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    return s, s.makefile("rb")
def line(f):
    text = f.readline()
    assert text.endswith(b"\n"), "closed early: %r" % text
    return text[:-1].decode()
a, fa = connect()
assert line(fa).startswith("* welcome")
b, fb = connect()
assert line(fb).startswith("* welcome")
assert line(fa).endswith(" joined"), "a hears b join"
b.sendall(b"/nick bob\nhi there\n")
assert line(fb) == "* you are now bob"
assert line(fb) == "echo: hi there"
assert line(fa).endswith(" is now bob")
assert line(fa) == "<bob> hi there"
b.sendall(b"x" * 5000 + b"\nnot read\n")
assert line(fb) == "* error: line too long (the limit is 1024 bytes)"
assert fb.readline() == b"", "b's connection is closed"
assert line(fa) == "* bob left"
a.sendall(b"/who\n")
assert line(fa).startswith("* here: 127.0.0.1:")
print("OK", flush=True)
"#;

#[test]
fn two_python_clients_chat_and_an_over_long_line_is_refused() {
    require_program("python3", "python3");
    let (_server, port) = start_server();
    let client = Peer::spawn(Command::new("python3").args(["-c", TWO_CLIENTS, &port.to_string()]));
    let (status, output) = client.finish();
    assert!(status.success() && output.starts_with("OK"), "python: {output}");
}
