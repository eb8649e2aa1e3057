//! Shared helpers of the `gyre` command-line tests.
#![allow(dead_code)]

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

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

/// Sends `signal` (`TERM`, `INT`) to `child` and waits, at most `limit`,
/// for its exit status.
#[track_caller]
pub fn signal_and_wait(child: &mut Child, signal: &str, limit: Duration) -> ExitStatus {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "gyre did not exit in time after SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
