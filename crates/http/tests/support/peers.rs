//! The example servers and curl as the interop tests run them.

use std::process::{Command, Output};
use std::time::Duration;

use gyre_testing::peers::{KillOnDrop, example_binary, require_program, run_to_end_of_input, start_until};

/// The listening address every example is started on.
pub const LOCAL: &str = "tcp:0:interface=127.0.0.1";

/// Builds and starts the example `name` with `args`, waits for its
/// `listening on ...:PORT` line, and returns it with that port.
pub fn start_example(name: &str, args: &[&str]) -> (KillOnDrop, u16) {
    let binary = example_binary(env!("CARGO_MANIFEST_DIR").as_ref(), name);
    let (child, line) = start_until(Command::new(binary).args(args), b"", "listening on");
    (child, port_of(&line))
}

/// The port at the end of a `listening on ADDRESS:PORT` line.
pub fn port_of(line: &str) -> u16 {
    line.trim()
        .rsplit([':', ' '])
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("a port in the ready line {line:?}"))
}

/// Runs curl (`-sS`, bounded) with `args`, whatever its exit status.
pub fn curl_any(args: &[&str]) -> Output {
    require_program("curl", "curl");
    run_to_end_of_input(
        Command::new("curl").args(["-sS", "--max-time", "60"]).args(args),
        b"",
        Duration::from_secs(90),
    )
}

/// Runs curl and fails the test unless it succeeded.
#[track_caller]
pub fn curl(args: &[&str]) -> Output {
    let output = curl_any(args);
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The status code curl reports with `-w '%{http_code}'`, body discarded.
#[track_caller]
pub fn status(args: &[&str]) -> String {
    let mut all = vec!["-o", "/dev/null", "-w", "%{http_code}"];
    all.extend_from_slice(args);
    text(&curl(&all).stdout)
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
