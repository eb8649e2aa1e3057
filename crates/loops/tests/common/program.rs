//! Running the example programs from tests: a child process (killed on
//! drop) whose standard output lines are read on a thread, and curl.
//! Shared by several test files; each uses part of it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use gyre_testing::peers::{self, KillOnDrop};

/// How long a program may take to print an expected line.
pub const LINE_LIMIT: Duration = Duration::from_secs(60);

/// A running example and the lines it printed, in order.
pub struct Program {
    pub child: KillOnDrop,
    lines: Receiver<String>,
}

impl Program {
    /// Starts `command` with its standard output read line by line.
    pub fn start(command: &mut Command) -> Program {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Program {
            child: KillOnDrop(child),
            lines,
        }
    }

    /// The next line printed; fails the test unless it starts with
    /// `prefix` or when none comes within `LINE_LIMIT`.
    #[track_caller]
    pub fn expect(&self, prefix: &str) -> String {
        let line = self
            .lines
            .recv_timeout(LINE_LIMIT)
            .unwrap_or_else(|_| panic!("the program printed no line (expected {prefix:?}) in time"));
        assert!(
            line.starts_with(prefix),
            "expected a line starting with {prefix:?}, got {line:?}"
        );
        line
    }

    /// Sends `signal` (a name for `kill -s`) without waiting for an exit.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.0.id().to_string();
        let sent = Command::new("kill").args(["-s", signal, &pid]).status();
        assert!(
            sent.is_ok_and(|status| status.success()),
            "kill -s {signal} {pid} failed"
        );
    }
}

/// The example `name` of this package, built with `gtk`/`glib` and the
/// other features this test binary was built with (so the library built
/// for the tests is reused).
pub fn example(name: &str) -> std::path::PathBuf {
    let mut features = vec![if name.starts_with("gtk") { "gtk" } else { "glib" }];
    if cfg!(feature = "gtk") {
        features.push("gtk");
    }
    if cfg!(feature = "tokio") {
        features.push("tokio");
    }
    if cfg!(feature = "calloop") {
        features.push("calloop");
    }
    features.dedup();
    peers::example_binary_with_features(Path::new(env!("CARGO_MANIFEST_DIR")), name, &features)
}

/// `curl -sS URL` with a 10 s limit: its output, status and errors.
pub fn curl(url: &str) -> Output {
    peers::require_program("curl", "curl");
    peers::run(
        Command::new("curl").args(["-sS", "--max-time", "10", url]),
        b"",
        Duration::from_secs(20),
    )
}

/// The body of a successful `GET url`.
#[track_caller]
pub fn get(url: &str) -> String {
    let output = curl(url);
    assert!(
        output.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Waits, at most `limit`, for `check` to hold, trying every 100 ms.
#[track_caller]
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
