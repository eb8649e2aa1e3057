//! The real peers of the interop tests (curl, socat, nc, Python, microsocks)
//! and this crate's examples, each started with a bounded wait and killed
//! by PID when dropped.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use gyre_testing::peers::{KillOnDrop, require_program as require};

/// This package's example `name`, built first so it is current.
pub fn example(name: &str) -> PathBuf {
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
}

/// Starts `command` and waits (at most a minute) for a line of its output
/// (stdout, or stderr when `stderr` is set) that contains `ready`; returns
/// the process and that line. The rest of the output is drained.
pub fn start_until(command: &mut Command, ready: &str, stderr: bool) -> (KillOnDrop, String) {
    command.stdin(Stdio::null());
    if stderr {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
    } else {
        command.stdout(Stdio::piped()).stderr(Stdio::null());
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
    let output: Box<dyn Read + Send> = if stderr {
        Box::new(child.stderr.take().unwrap())
    } else {
        Box::new(child.stdout.take().unwrap())
    };
    let (tx, rx) = mpsc::channel();
    let ready = ready.to_owned();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(output);
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains(&ready) {
                let _ = tx.send(line.trim_end().to_owned());
                break;
            }
            line.clear();
        }
        let _ = std::io::copy(&mut lines, &mut std::io::sink());
    });
    let child = KillOnDrop(child);
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{:?} did not get ready in time", command.get_program()));
    (child, line)
}

/// Starts one of this crate's example servers with `args`; returns it and
/// the address from its `listening on ADDRESS` line.
pub fn start_example(name: &str, args: &[&str]) -> (KillOnDrop, SocketAddr) {
    let (child, line) = start_until(Command::new(example(name)).args(args), "listening on ", false);
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
    let (child, line) = start_until(&mut command, "Serving HTTP on", false);
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
