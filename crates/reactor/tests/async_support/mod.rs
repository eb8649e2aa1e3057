//! Helpers for tests that run third-party peers and the examples as
//! processes (started and stopped with `gyre_testing::peers`).

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use gyre_testing::peers::require_program as require;

/// This package's example `name`, built first so it is current.
pub fn example(name: &str) -> PathBuf {
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
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
