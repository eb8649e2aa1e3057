//! The standard I/O transport end to end. Each test runs twice: as the
//! parent it starts this same test binary again (the child, marked by an
//! environment variable) with pipes or files for stdin and stdout, and
//! talks to it; as the child it runs a protocol over its own stdin/stdout
//! with `Reactor::standard_io`.
//!
//! The test harness prints a banner to stdout before the test runs, so the
//! child writes a `<ready>` marker first and the parent reads from there.
//! When the transport closes, the child's stdout points at `/dev/null`, so
//! the harness's closing lines never reach the parent.

mod unix_support;

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use rustix::fs::OFlags;

use unix_support::{KillOnDrop, ScratchDir};

const CHILD: &str = "GYRE_STDIO_TEST_CHILD";
const LIMIT: Duration = Duration::from_secs(20);
const READY: &[u8] = b"<ready>\n";

/// The child's protocol: upper-cases every line, says `bye` at end of
/// input, then closes, and stops the reactor when the connection is gone.
struct Shout {
    reactor: Reactor,
    ended: Rc<Cell<bool>>,
}

impl Protocol for Shout {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(READY);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(&data.to_ascii_uppercase());
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        transport.write(b"bye\n");
        transport.lose_connection();
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        assert!(reason.is::<gyre_core::errors::ConnectionDone>(), "{reason:?}");
        self.ended.set(true);
        let _ = self.reactor.stop();
    }
}

/// The child's protocol for the half-close test: says `half`, shuts down
/// its output at once, then reads until end of input and checks what came.
struct HalfClose {
    reactor: Reactor,
    ended: Rc<Cell<bool>>,
    received: Vec<u8>,
    write_lost: bool,
}

impl Protocol for HalfClose {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(READY);
        transport.write(b"half\n");
        transport.lose_write_connection();
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        self.received.extend_from_slice(data);
    }

    fn write_connection_lost(&mut self, _transport: &Transport) {
        self.write_lost = true;
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        assert!(reason.is::<gyre_core::errors::ConnectionDone>(), "{reason:?}");
        assert!(self.write_lost, "write_connection_lost came first");
        assert_eq!(self.received, b"more\n");
        self.ended.set(true);
        let _ = self.reactor.stop();
    }
}

/// The child's side: runs the protocol the parent asked for over
/// stdin/stdout and checks that the descriptors' original flags come back.
fn run_child(mode: &str) {
    // Copies share the open file descriptions, whose flags we check later.
    let stdin_copy = rustix::io::dup(rustix::stdio::stdin()).unwrap();
    let stdout_copy = rustix::io::dup(rustix::stdio::stdout()).unwrap();
    let blocking = |fd: &OwnedFd| !rustix::fs::fcntl_getfl(fd).unwrap().contains(OFlags::NONBLOCK);
    let (stdin_was, stdout_was) = (blocking(&stdin_copy), blocking(&stdout_copy));
    let reactor = Reactor::new().unwrap();
    let ended = Rc::new(Cell::new(false));
    let protocol: Box<dyn Protocol> = match mode {
        "half-close" => Box::new(HalfClose {
            reactor: reactor.clone(),
            ended: ended.clone(),
            received: Vec::new(),
            write_lost: false,
        }),
        _ => Box::new(Shout {
            reactor: reactor.clone(),
            ended: ended.clone(),
        }),
    };
    let transport = reactor.standard_io(protocol).unwrap();
    assert_eq!(transport.kind(), "stdio");
    let second = Shout {
        reactor: reactor.clone(),
        ended: Rc::default(),
    };
    assert!(
        reactor.standard_io(Box::new(second)).is_err(),
        "one standard I/O transport at a time"
    );
    let stopper = reactor.clone();
    let guard = reactor.call_later(LIMIT, move || drop(stopper.stop()));
    reactor.run().unwrap();
    guard.cancel();
    assert!(ended.get(), "the connection ended before the time limit");
    assert_eq!(blocking(&stdin_copy), stdin_was, "stdin's flags are restored");
    assert_eq!(blocking(&stdout_copy), stdout_was, "stdout's flags are restored");
}

/// Starts this test again as a child with `stdin` and `stdout`.
fn spawn_child(test: &str, mode: &str, stdin: Stdio, stdout: Stdio) -> KillOnDrop {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the child");
    KillOnDrop(child)
}

/// Reads the child's stdout on a thread, sending chunks; an empty chunk
/// means end of file.
fn reader(mut stdout: std::process::ChildStdout) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        loop {
            let n = stdout.read(&mut buffer).unwrap_or(0);
            if sender.send(buffer[..n].to_vec()).is_err() || n == 0 {
                return;
            }
        }
    });
    receiver
}

/// Collects output until it contains `wanted` after the ready marker
/// (`None`: until end of file). Returns what followed the marker.
fn read_until(output: &mpsc::Receiver<Vec<u8>>, seen: &mut Vec<u8>, wanted: Option<&[u8]>) -> Vec<u8> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let after = after_marker(seen);
        match (wanted, &after) {
            (Some(wanted), Some(after)) if after.ends_with(wanted) => return after.clone(),
            _ => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match output.recv_timeout(left) {
            Ok(chunk) if chunk.is_empty() => return after.expect("the child printed its ready marker"),
            Ok(chunk) => seen.extend_from_slice(&chunk),
            Err(_) => panic!(
                "the child's output stalled; so far: {:?}",
                String::from_utf8_lossy(seen)
            ),
        }
    }
}

fn after_marker(seen: &[u8]) -> Option<Vec<u8>> {
    let at = seen.windows(READY.len()).position(|w| w == READY)?;
    Some(seen[at + READY.len()..].to_vec())
}

#[test]
fn stdio_over_pipes_talks_and_ends_cleanly() {
    if let Ok(mode) = std::env::var(CHILD) {
        return run_child(&mode);
    }
    let mut child = spawn_child(
        "stdio_over_pipes_talks_and_ends_cleanly",
        "shout",
        Stdio::piped(),
        Stdio::piped(),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    let output = reader(child.0.stdout.take().unwrap());
    let mut seen = Vec::new();
    // One line at a time: each answer comes back before the next is sent.
    stdin.write_all(b"hello\n").unwrap();
    assert_eq!(read_until(&output, &mut seen, Some(b"HELLO\n")), b"HELLO\n");
    stdin.write_all(b"gyre stdio\n").unwrap();
    assert_eq!(
        read_until(&output, &mut seen, Some(b"GYRE STDIO\n")),
        b"HELLO\nGYRE STDIO\n"
    );
    drop(stdin); // end of file
    assert_eq!(read_until(&output, &mut seen, None), b"HELLO\nGYRE STDIO\nbye\n");
    let status = child.wait_bounded(LIMIT);
    assert!(status.success(), "the child's checks failed: {status}");
}

#[test]
fn stdio_over_regular_files_reads_to_the_end() {
    if let Ok(mode) = std::env::var(CHILD) {
        return run_child(&mode);
    }
    let dir = ScratchDir::new("stdio-files");
    let input = dir.join("input.txt");
    let output = dir.join("output.txt");
    // Larger than the 64 KiB read buffer, so it takes several reads.
    let line = b"a line of text that is long enough to add up quickly\n";
    let text: Vec<u8> = line.iter().copied().cycle().take(line.len() * 3000).collect();
    std::fs::write(&input, &text).unwrap();
    let stdin = std::fs::File::open(&input).unwrap();
    let stdout = std::fs::File::create(&output).unwrap();
    let mut child = spawn_child(
        "stdio_over_regular_files_reads_to_the_end",
        "shout",
        stdin.into(),
        stdout.into(),
    );
    let status = child.wait_bounded(LIMIT);
    assert!(status.success(), "the child's checks failed: {status}");
    let written = std::fs::read(&output).unwrap();
    let mut expected = text.to_ascii_uppercase();
    expected.extend_from_slice(b"bye\n");
    assert_eq!(
        after_marker(&written).expect("the ready marker").len(),
        expected.len()
    );
    assert!(after_marker(&written).unwrap() == expected);
}

#[test]
fn stdio_on_one_socket_half_closes_its_output() {
    if let Ok(mode) = std::env::var(CHILD) {
        return run_child(&mode);
    }
    // As under inetd, systemd (`Accept=yes`) or socat's EXEC: stdin and
    // stdout are the same socket, so ending the output must send a FIN
    // while stdin keeps the socket open.
    let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let stdin = OwnedFd::from(theirs.try_clone().unwrap());
    let mut child = spawn_child(
        "stdio_on_one_socket_half_closes_its_output",
        "half-close",
        stdin.into(),
        OwnedFd::from(theirs).into(),
    );
    ours.set_read_timeout(Some(LIMIT)).unwrap();
    let mut seen = Vec::new();
    ours.read_to_end(&mut seen)
        .expect("end of file before the time limit");
    assert_eq!(after_marker(&seen).expect("the ready marker"), b"half\n");
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the child still runs, reading"
    );
    ours.write_all(b"more\n").unwrap();
    ours.shutdown(std::net::Shutdown::Write).unwrap();
    let status = child.wait_bounded(LIMIT);
    assert!(status.success(), "the child's checks failed: {status}");
}
