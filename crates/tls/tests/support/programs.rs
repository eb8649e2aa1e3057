//! Programs the interop tests run: this crate's examples (built first) and
//! third-party peers, each killed by PID when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

/// This package's example `name`, built first so it is current.
pub fn example(name: &str) -> PathBuf {
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
}

#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::require_program as require;

#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::{KillOnDrop, free_port, run, start_until};

/// Starts an example server and returns it with the address it printed.
pub fn start_server(name: &str, args: &[&str]) -> (KillOnDrop, SocketAddr) {
    let (child, line) = start_until(Command::new(example(name)).args(args), b"", "listening on ");
    let address = line["listening on ".len()..].parse().unwrap();
    (child, address)
}
