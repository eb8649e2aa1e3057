//! Memory held per idle connection by the `echo_server` example: 10,000
//! connections are opened to it, and its resident set size (`VmRSS` in
//! /proc/PID/status) is read before and after, then again once every
//! connection has echoed one message and gone idle again.
//!
//! Ignored by default (it holds 20,000 descriptors across two processes);
//! run it explicitly, in release mode for representative figures:
//!
//! ```text
//! cargo test --release -p gyre-reactor --test tcp_memory -- --ignored --nocapture
//! ```

mod tcp_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tcp_support::programs::{Server, example, open_fds, rss_kib};
use tcp_support::raise_fd_limit;

const CONNECTIONS: usize = 10_000;

/// Waits (bounded) until the server holds `count` descriptors.
fn wait_for_fds(server: &mut Server, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while open_fds(server.pid()) < count {
        assert!(server.is_running(), "the server exited");
        assert!(
            Instant::now() < deadline,
            "the server holds {} of {count} descriptors",
            open_fds(server.pid())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "holds 10,000 connections; run with --ignored --nocapture (and --release for real figures)"]
fn rss_per_idle_connection_of_echo_server() {
    // The server inherits the raised limit; each process needs 10,000.
    let limit = raise_fd_limit();
    assert!(
        limit >= CONNECTIONS as u64 + 500,
        "RLIMIT_NOFILE hard limit {limit} is too low"
    );
    let mut server = Server::start(
        &example("echo_server"),
        &["--listen", "127.0.0.1:0", "--backlog", "4096"],
    );
    // One connection first, so what every server allocates once (the
    // shared read buffer's pages, the event list) is in the baseline.
    {
        let mut warm = TcpStream::connect(server.address).unwrap();
        warm.write_all(&[b'w'; 64]).unwrap();
        warm.read_exact(&mut [0; 64]).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    let base_fds = open_fds(server.pid());
    let before = rss_kib(server.pid());

    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let stream = TcpStream::connect(server.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        connections.push(stream);
    }
    wait_for_fds(&mut server, base_fds + CONNECTIONS);
    std::thread::sleep(Duration::from_millis(200));
    let idle = rss_kib(server.pid());

    // Every connection echoes one 64-byte message, then idles again.
    for stream in &mut connections {
        stream.write_all(&[b'x'; 64]).unwrap();
    }
    let mut echo = [0; 64];
    for stream in &mut connections {
        stream.read_exact(&mut echo).unwrap();
        assert_eq!(echo, [b'x'; 64]);
    }
    std::thread::sleep(Duration::from_millis(200));
    let after_echo = rss_kib(server.pid());

    let per_idle = (idle.saturating_sub(before) * 1024) as f64 / CONNECTIONS as f64;
    let per_echoed = (after_echo.saturating_sub(before) * 1024) as f64 / CONNECTIONS as f64;
    println!(
        "echo_server VmRSS: {before} KiB before, {idle} KiB with {CONNECTIONS} idle connections \
         ({per_idle:.0} bytes each), {after_echo} KiB after one echo on each ({per_echoed:.0} bytes each)"
    );
    assert!(server.is_running());
    // A generous bound that still catches a per-connection buffer (the
    // 64 KiB read buffer or a 16 KiB write buffer kept per connection).
    assert!(per_idle < 4096.0, "{per_idle:.0} bytes per idle connection");
    assert!(
        per_echoed < 4096.0,
        "{per_echoed:.0} bytes per connection after an echo"
    );
}
