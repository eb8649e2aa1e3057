//! What the framing interop tests share: running a peer program with its
//! output read on threads (so a silent or chatty peer cannot block the
//! test), running the reactor with a deadline, and the frames both sides
//! exchange.

#![allow(dead_code)] // each test binary uses part of it

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use gyre_core::ClockExt;
use gyre_protocols::framing::Prefix;
use gyre_reactor::Reactor;
use gyre_testing::peers::{KillOnDrop, peer_python};

/// How long any exchange may take, generous for a loaded 2-core machine.
pub const LIMIT: Duration = Duration::from_secs(60);

/// A framing, as both sides name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Line,
    Netstring,
    Int(Prefix),
}

impl Kind {
    /// The peer script's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Line => "line",
            Kind::Netstring => "netstring",
            Kind::Int(Prefix::U32) => "int32",
            Kind::Int(Prefix::U16) => "int16",
            Kind::Int(Prefix::U8) => "int8",
        }
    }

    /// The largest frame both sides accept by default.
    pub fn large(self) -> usize {
        match self {
            Kind::Line => 16_384,
            Kind::Netstring | Kind::Int(Prefix::U32) => 99_999,
            Kind::Int(Prefix::U16) => 65_535,
            Kind::Int(Prefix::U8) => 255,
        }
    }

    /// Whether a frame over the default limit can be expressed at all.
    pub fn can_exceed(self) -> bool {
        matches!(self, Kind::Line | Kind::Netstring | Kind::Int(Prefix::U32))
    }
}

/// The frames of `twisted_peer.py`'s `payloads()`: an empty one, 2,000
/// small ones, and one at the limit in the middle.
pub fn payloads(kind: Kind) -> Vec<Vec<u8>> {
    let mut frames: Vec<Vec<u8>> = (0..2000)
        .map(|i| format!("frame {i} {}", "x".repeat(i % 50)).into_bytes())
        .collect();
    frames.insert(1000, vec![b'L'; kind.large()]);
    frames.insert(0, Vec::new());
    frames
}

/// The raw blob of the line exchange (`BLOB` in `twisted_peer.py`).
pub fn blob() -> Vec<u8> {
    (0..100_000usize).map(|i| (i * 7 % 256) as u8).collect()
}

/// FNV-1a, 32 bits: a checksum both sides compute the same way.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(pub u32);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0x811C_9DC5)
    }
}

impl Fnv {
    pub fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.0 = (self.0 ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    }
}

/// A peer program whose stdout lines and stderr are collected by threads.
pub struct Peer {
    child: KillOnDrop,
    lines: Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Peer {
    pub fn spawn(command: &mut Command) -> Peer {
        Peer::start(command, None, None)
    }

    /// Like [`spawn`](Self::spawn), with the peer's stdout going to `file`.
    pub fn spawn_writing_to(command: &mut Command, file: std::fs::File) -> Peer {
        Peer::start(command, Some(file), None)
    }

    /// Like [`spawn`](Self::spawn), feeding `input` to the peer's stdin, then
    /// closing it.
    pub fn spawn_with_input(command: &mut Command, input: &[u8]) -> Peer {
        Peer::start(command, None, Some(input.to_vec()))
    }

    fn start(command: &mut Command, stdout_file: Option<std::fs::File>, input: Option<Vec<u8>>) -> Peer {
        let to_file = stdout_file.is_some();
        let out = stdout_file.map_or_else(Stdio::piped, Stdio::from);
        let stdin = if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = command
            .stdin(stdin)
            .stdout(out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {command:?}: {error}"));
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&input);
            });
        }
        let (sender, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        if !to_file {
            let (out, out_text) = (child.stdout.take().unwrap(), stdout.clone());
            thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    out_text.lock().unwrap().push_str(&format!("{line}\n"));
                    let _ = sender.send(line);
                }
            });
        }
        let (mut err, err_text) = (child.stderr.take().unwrap(), stderr.clone());
        thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            err_text.lock().unwrap().push_str(&text);
        });
        Peer {
            child: KillOnDrop(child),
            lines,
            stdout,
            stderr,
        }
    }

    /// The Twisted peer script with `args`, on the peers' Python.
    pub fn twisted(args: &[&str]) -> Peer {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/framing_support/twisted_peer.py"
        );
        Peer::spawn(Command::new(peer_python("twisted")).arg(script).args(args))
    }

    /// The next line the peer prints.
    pub fn line(&self) -> String {
        self.lines
            .recv_timeout(LIMIT)
            .unwrap_or_else(|_| panic!("the peer printed nothing in time; stderr:\n{}", self.stderr()))
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the peer to exit; returns its status and everything it printed.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the peer did not exit; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        };
        // The reader threads finish once the pipes close.
        thread::sleep(Duration::from_millis(50));
        let output = format!("{}{}", self.stdout.lock().unwrap(), self.stderr());
        (status, output)
    }
}

/// Runs `reactor` until something stops it, failing the test after `LIMIT`.
pub fn run_with_deadline(reactor: &Reactor) {
    let timed_out = std::rc::Rc::new(std::cell::Cell::new(false));
    let (flag, stopper) = (timed_out.clone(), reactor.clone());
    let guard = reactor.call_later(LIMIT, move || {
        flag.set(true);
        let _ = stopper.stop();
    });
    reactor.run().unwrap();
    guard.cancel();
    assert!(!timed_out.get(), "the exchange did not finish in {LIMIT:?}");
}
