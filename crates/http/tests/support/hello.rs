//! The `http_hello` example as a real server on 127.0.0.1.

use std::process::Command;

use gyre_testing::peers::{KillOnDrop, example_binary, start_until};

/// A running `http_hello` on an ephemeral port of 127.0.0.1.
pub struct Hello {
    _child: KillOnDrop,
    /// Its port.
    pub port: u16,
}

impl Hello {
    /// Starts it and waits for its "listening on" line.
    pub fn start() -> Hello {
        let binary = example_binary(env!("CARGO_MANIFEST_DIR").as_ref(), "http_hello");
        let (child, line) = start_until(
            Command::new(binary).args(["--listen", "tcp:0:interface=127.0.0.1"]),
            b"",
            "listening on",
        );
        let port = line
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("a port in the ready line");
        Hello { _child: child, port }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}
