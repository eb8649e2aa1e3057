//! The real peers of the interop tests (curl, socat, nc, Python, microsocks)
//! and this crate's examples, each started with a bounded wait and killed
//! by PID when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use gyre_testing::peers::start_until;
pub use gyre_testing::peers::{KillOnDrop, require_program as require};

/// This package's example `name`, built first so it is current.
pub fn example(name: &str) -> PathBuf {
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
}

/// Starts one of this crate's example servers with `args`; returns it and
/// the address from its `listening on ADDRESS` line.
pub fn start_example(name: &str, args: &[&str]) -> (KillOnDrop, SocketAddr) {
    let (child, line) = start_until(Command::new(example(name)).args(args), b"", "listening on ");
    let address = line["listening on ".len()..].parse().unwrap();
    (child, address)
}

/// A static HTTP server (`python3 -m http.server`) on 127.0.0.1 serving
/// `dir`; returns it and its port.
pub fn http_server(dir: &std::path::Path) -> (KillOnDrop, u16) {
    require("python3", "python3");
    let mut command = Command::new("python3");
    command
        .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
        .current_dir(dir);
    let (child, line) = start_until(&mut command, b"", "Serving HTTP on");
    let port = line
        .split_whitespace()
        .skip_while(|word| *word != "port")
        .nth(1)
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (child, port)
}

/// Runs `command` with `input` on standard input (closed after writing),
/// killed and failing the test after `limit`.
#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::run_to_end_of_input as run;

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gyre-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
