//! Programs run by the interop, limits and memory tests: built examples
//! and third-party peers, each stopped by PID.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// This package's example `name`, built first so it is current.
pub fn example(name: &str) -> PathBuf {
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
}

#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::require_program as require;

/// A running example server, killed (by PID) when dropped.
pub struct Server {
    child: KillOnDrop,
    /// The address it listens on, read from its first line of output.
    pub address: SocketAddr,
    /// The rest of its standard output.
    pub stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `binary` with `args`, waits (bounded) for its
    /// `listening on ADDR` line and parses the address.
    pub fn start(binary: &Path, args: &[&str]) -> Server {
        Server::start_command(Command::new(binary).args(args))
    }

    /// Like [`start`](Self::start), for a prepared command (one run
    /// through a shell that sets limits first, say).
    pub fn start_command(command: &mut Command) -> Server {
        let name = format!("{:?}", command.get_program());
        let mut child = KillOnDrop(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {name}: {e}")),
        );
        let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = tx.send(line);
            stdout
        });
        // On failure the guard kills the server as the panic unwinds.
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name} printed no address in time"));
        let stdout = reader.join().unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Server {
            child,
            address,
            stdout,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.0.try_wait().unwrap().is_none()
    }
}

/// Runs `command` with `input` on its standard input (closed after it),
/// bounded: killed and failing the test when it runs longer.
#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::run_to_end_of_input as run;

/// Resident memory of process `pid` in KiB (`VmRSS` in /proc/PID/status).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// How many file descriptors process `pid` has open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

pub use gyre_testing::peers::KillOnDrop;
