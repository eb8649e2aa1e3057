//! Shared helpers of the `gyre` command-line tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gyre_testing::peers::{KillOnDrop, require_program, run_to_end_of_input, start_until};

/// How long a helper's peer may take.
const LIMIT: Duration = Duration::from_secs(30);

/// The `gyre` binary under test.
pub fn gyre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gyre"))
}

/// The digits after `marker` in `line` (a port in a ready line).
#[track_caller]
pub fn port_after(line: &str, marker: &str) -> u16 {
    let at = line
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {line:?}"))
        + marker.len();
    let digits: String = line[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("a port in {line:?}"))
}

/// A fresh, empty directory for one test (`name` unique per test).
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gyre-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What `socat` gets back from `127.0.0.1:port` after sending `input`.
pub fn socat(port: u16, input: &[u8]) -> Vec<u8> {
    require_program("socat", "socat");
    let output = run_to_end_of_input(
        Command::new("socat")
            .args(["-t", "2", "-"])
            .arg(format!("TCP:127.0.0.1:{port}")),
        input,
        LIMIT,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Python's `http.server` serving `dir` on 127.0.0.1, and its port.
pub fn python_http_server(dir: &Path) -> (KillOnDrop, u16) {
    let (server, line) = start_until(
        Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir),
        b"",
        "Serving HTTP",
    );
    (server, port_after(&line, " port "))
}
