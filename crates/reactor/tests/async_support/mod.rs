//! Helpers for tests that run third-party peers and the examples as
//! processes: each is killed by its PID when its guard drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command};
use std::time::{Duration, Instant};

/// A child process, killed (by PID) and reaped when dropped.
pub struct ChildGuard {
    pub child: Child,
}

impl ChildGuard {
    pub fn spawn(command: &mut Command) -> ChildGuard {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        ChildGuard { child }
    }

    /// Reads the first line of standard output (which must be piped), giving
    /// up after `limit`.
    pub fn first_line(&mut self, limit: Duration) -> String {
        let stdout: ChildStdout = self.child.stdout.take().expect("stdout is piped");
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(limit)
            .unwrap_or_else(|_| panic!("no first line within {limit:?}"));
        line.trim_end().to_owned()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::require_program as require;

/// This package's example `name`, built first so it is current.
pub fn example(name: &str) -> PathBuf {
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
}

/// A port that was free a moment ago (for peers that cannot report theirs).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections at `address`.
pub fn wait_until_listening(address: SocketAddr, limit: Duration) {
    let give_up = Instant::now() + limit;
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < give_up,
            "nothing listens on {address} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
