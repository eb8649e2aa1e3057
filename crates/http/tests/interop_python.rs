//! The server against Python over 127.0.0.1: `http.client` (keep-alive on
//! one connection, uploads, HEAD) and raw pipelined requests from a
//! Python socket, answered in order.

mod support;

use std::process::Command;
use std::time::Duration;

use gyre_testing::peers::{require_program, run_to_end_of_input};
use support::hello::Hello;

fn python(script: &str, port: u16) -> String {
    require_program("python3", "python3");
    let output = run_to_end_of_input(
        Command::new("python3").args(["-c", script, &port.to_string()]),
        b"",
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const HTTP_CLIENT: &str = r#"
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
sock = None
for method, body in [("GET", None), ("POST", b"x" * 70000), ("HEAD", None), ("PUT", b""), ("GET", None)]:
    conn.request(method, "/p", body=body)
    response = conn.getresponse()
    data = response.read()
    print(method, response.status, response.getheader("Content-Length"), repr(data))
    if sock is None:
        sock = conn.sock
    elif conn.sock is not sock:
        print("reconnected")
conn.close()
"#;

#[test]
fn python_http_client_keeps_one_connection_for_several_requests() {
    let server = Hello::start();
    let out = python(HTTP_CLIENT, server.port);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "GET 200 6 b'hello\\n'",
            "POST 200 28 b'hello, 70000 bytes received\\n'",
            "HEAD 200 6 b''",
            "PUT 200 6 b'hello\\n'",
            "GET 200 6 b'hello\\n'",
        ]
    );
}

const PIPELINED: &str = r#"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
requests = b"".join([
    b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n",
    b"GET /4 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
])
s.sendall(requests)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
"#;

#[test]
fn raw_pipelined_requests_from_a_python_socket_are_answered_in_order() {
    let server = Hello::start();
    let out = python(PIPELINED, server.port);
    let bodies: Vec<&str> = out
        .split("\r\n\r\n")
        .skip(1)
        .map(|part| part.split("HTTP/1.1").next().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "hello\n",
            "hello, 3 bytes received\n",
            "hello, 4 bytes received\n",
            "hello\n"
        ],
        "{out}"
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 4);
    assert!(
        out.ends_with("Connection: close\r\n\r\nhello\n"),
        "the last answer announces the close: {out}"
    );
}

const SMUGGLE: &str = r#"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
"#;

#[test]
fn a_smuggling_attempt_over_a_real_socket_gets_one_400_and_a_close() {
    let server = Hello::start();
    let out = python(SMUGGLE, server.port);
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
    assert_eq!(out.matches("HTTP/1.1").count(), 1, "{out}");
}
