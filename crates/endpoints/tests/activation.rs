//! Endpoints that receive their connection or listening socket from
//! another program, tested with third-party programs in that role:
//! - `systemd:` under `systemd-socket-activate` (Debian package
//!   `systemd`), which binds the socket, waits for the first connection
//!   and execs the server with the socket as descriptor 3, `LISTEN_FDS`
//!   and `LISTEN_PID` set exactly as systemd does;
//! - `stdio:` over pipes, and under `socat` acting as an inetd-style
//!   super-server (one process per TCP connection, the socket as
//!   standard input and output).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gyre_testing::peers::{
    KillOnDrop, example_binary, free_port, require_program, run_to_end_of_input, start_until,
};

const LIMIT: Duration = Duration::from_secs(20);

fn endpoint_echo() -> PathBuf {
    example_binary(Path::new(env!("CARGO_MANIFEST_DIR")), "endpoint_echo")
}

/// Connects to `port` (retrying while the super-server starts), sends
/// `message`, and reads until the echo is complete.
fn echo_over_tcp(port: u16, message: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + LIMIT;
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("connecting to 127.0.0.1:{port}: {error}"),
        }
    };
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream.write_all(message).unwrap();
    let mut echoed = vec![0; message.len()];
    stream.read_exact(&mut echoed).unwrap();
    echoed
}

#[test]
fn systemd_socket_activate_hands_its_socket_to_a_systemd_endpoint() {
    require_program("systemd-socket-activate", "systemd");
    let port = free_port();
    // `exec` keeps one PID from the shell to the activator to the server,
    // so the guard stops whichever is running.
    let (_server, _) = start_until(
        Command::new("sh")
            .args(["-c", r#"exec systemd-socket-activate -l "$0" "$@" 2>&1"#])
            .arg(format!("127.0.0.1:{port}"))
            .arg(endpoint_echo())
            .args(["--listen", "systemd:domain=INET:index=0"]),
        b"",
        "Listening on",
    );
    assert_eq!(echo_over_tcp(port, b"activated\n"), b"activated\n");
    // The server keeps the passed socket listening after the first
    // connection: a second client is served by the same process.
    assert_eq!(echo_over_tcp(port, b"second\n"), b"second\n");
}

#[test]
fn a_systemd_endpoint_without_activation_says_why() {
    let output = run_to_end_of_input(
        Command::new(endpoint_echo())
            .args(["--listen", "systemd:domain=INET:index=0"])
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDS"),
        b"",
        LIMIT,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("LISTEN_PID is not set"), "{stderr}");
}

#[test]
fn stdio_endpoint_serves_its_pipes_and_ends_with_them() {
    let message: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let output = run_to_end_of_input(
        Command::new(endpoint_echo()).args(["--listen", "stdio:"]),
        &message,
        LIMIT,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout == message, "the echo differs from what was sent");
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("listening on process:"));
}

#[test]
fn stdio_endpoint_under_socat_as_an_inetd_super_server() {
    require_program("socat", "socat");
    let port = free_port();
    let exec = format!("EXEC:{} --listen stdio\\:", endpoint_echo().display());
    let socat = Command::new("socat")
        .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
        .arg(exec)
        .spawn()
        .expect("starting socat");
    let _socat = KillOnDrop(socat);
    assert_eq!(echo_over_tcp(port, b"one process\n"), b"one process\n");
    assert_eq!(echo_over_tcp(port, b"per connection\n"), b"per connection\n");
}
