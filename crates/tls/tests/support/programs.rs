//! Programs the interop tests run: this crate's examples (built first) and
//! third-party peers, each killed by PID when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// This package's example `name`, built first so it is current.
pub fn example(name: &str) -> PathBuf {
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
}

#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::require_program as require;

#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::KillOnDrop;

/// Starts `command`, writes `input` to it (standard input stays open), and
/// waits (bounded) for a line of its standard output starting with
/// `ready`; returns the process and that line.
pub fn start_until(command: &mut Command, input: &[u8], ready: &str) -> (KillOnDrop, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
    let _ = child.stdin.as_mut().unwrap().write_all(input);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let ready = ready.to_owned();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if line.starts_with(&ready) {
                let _ = tx.send(line.trim_end().to_owned());
                break;
            }
            line.clear();
        }
        // Keep draining so the program never blocks on a full pipe.
        let _ = std::io::copy(&mut lines, &mut std::io::sink());
    });
    let child = KillOnDrop(child);
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{:?} did not get ready in time", command.get_program()));
    (child, line)
}

/// Starts an example server and returns it with the address it printed.
pub fn start_server(name: &str, args: &[&str]) -> (KillOnDrop, SocketAddr) {
    let (child, line) = start_until(Command::new(example(name)).args(args), b"", "listening on ");
    let address = line["listening on ".len()..].parse().unwrap();
    (child, address)
}

/// Runs `command` with `input` on standard input, killed and failing the
/// test after `limit`.
pub fn run(command: &mut Command, input: &[u8], limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Standard input stays open until the program exits, so tools that stop
    // at end of input (s_client) first read the server's answer.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
        stdin
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{:?} ran longer than {limit:?}",
            command.get_program()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(writer.join().unwrap());
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A TCP port that was free a moment ago, for peers that need one given.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
