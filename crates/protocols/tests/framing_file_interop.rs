//! `FileSender` streaming an 8 MiB file over TCP on 127.0.0.1 to programs
//! nobody here wrote: `socat` and OpenBSD `nc` write what they receive to a
//! file, compared byte for byte; Python reads slowly through an 8 KiB
//! receive buffer and compares the SHA-256 of what it got with the file's;
//! and a Python reader that resets the connection after 1 MiB makes the
//! transfer fail with `TransferInterrupted`. Backpressure is checked on the
//! server side each time: a chunk is read only when the transport's buffer
//! has drained to the low-water mark, the buffer (sampled every
//! millisecond) never holds more than one chunk beyond it, and against the
//! slow reader it did fill up, so the sender really waited.
//!
//! Needs the Debian packages `socat`, `netcat-openbsd` and `python3`.

mod framing_support;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use framing_support::{Peer, run_with_deadline};
use gyre_core::producer::WaterMarks;
use gyre_core::{ClockExt, Failure, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_protocols::framing::{DEFAULT_CHUNK_SIZE, FileSender, TransferInterrupted};
use gyre_reactor::{ListenOptions, Reactor};
use gyre_testing::fuzz_smoke::SplitMix64;
use gyre_testing::peers::require_program;

const FILE_SIZE: usize = 8 * 1024 * 1024 + 12_345;

/// A file of pseudo-random bytes in a fresh directory, removed on drop.
struct TempFile {
    dir: PathBuf,
    path: PathBuf,
    data: Vec<u8>,
}

impl TempFile {
    fn new(name: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!("gyre-framing-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = SplitMix64::new(FILE_SIZE as u64);
        let data: Vec<u8> = (0..FILE_SIZE).map(|_| rng.next_u64() as u8).collect();
        let path = dir.join("source.bin");
        std::fs::write(&path, &data).unwrap();
        TempFile { dir, path, data }
    }

    fn out(&self) -> PathBuf {
        self.dir.join("received.bin")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the server's one transfer went.
#[derive(Default)]
struct Outcome {
    result: Option<Result<Option<u8>, Failure>>,
    /// The most bytes buffered on the transport whenever a chunk was read.
    max_buffered_before_chunk: usize,
    chunks: usize,
    /// The most bytes seen buffered on the transport, sampled every millisecond.
    max_buffered: usize,
    lost: bool,
}

/// Samples how much the transport holds, every millisecond until the
/// transfer is over.
fn sample(reactor: Reactor, transport: Transport, outcome: Rc<RefCell<Outcome>>) {
    if outcome.borrow().result.is_some() {
        return;
    }
    {
        let mut outcome = outcome.borrow_mut();
        outcome.max_buffered = outcome.max_buffered.max(transport.buffered_len());
    }
    let again = reactor.clone();
    reactor.call_later(Duration::from_millis(1), move || {
        sample(again, transport, outcome)
    });
}

/// Sends the file on connection, closes when done; stops the reactor once
/// both the transfer and the connection are over.
struct Serve {
    path: PathBuf,
    outcome: Rc<RefCell<Outcome>>,
    reactor: Reactor,
}

impl Serve {
    fn stop_if_over(outcome: &Outcome, reactor: &Reactor) {
        if outcome.result.is_some() && outcome.lost {
            let _ = reactor.stop();
        }
    }
}

impl Protocol for Serve {
    fn connection_made(&mut self, transport: &Transport) {
        let file = std::fs::File::open(&self.path).unwrap();
        let (watch, watched) = (self.outcome.clone(), transport.clone());
        let done = FileSender::new(file)
            .with_transform(move |_chunk| {
                let mut outcome = watch.borrow_mut();
                outcome.chunks += 1;
                outcome.max_buffered_before_chunk =
                    outcome.max_buffered_before_chunk.max(watched.buffered_len());
            })
            .begin(transport);
        sample(self.reactor.clone(), transport.clone(), self.outcome.clone());
        let (outcome, closer, reactor) = (self.outcome.clone(), transport.clone(), self.reactor.clone());
        drop(done.then(move |result| {
            if result.is_ok() {
                closer.lose_connection();
            }
            let mut outcome = outcome.borrow_mut();
            outcome.result = Some(result);
            Serve::stop_if_over(&outcome, &reactor);
        }));
    }

    fn data_received(&mut self, _: &Transport, _: &[u8]) {}

    /// A reader that stops reading must not end the transfer early.
    fn read_connection_lost(&mut self, _: &Transport) {}

    fn connection_lost(&mut self, _: &Transport, _: Failure) {
        let mut outcome = self.outcome.borrow_mut();
        outcome.lost = true;
        Serve::stop_if_over(&outcome, &self.reactor);
    }
}

/// Serves `path` once on a free port; `start_peer` gets the port. Returns
/// the outcome after the reactor stopped, and the peer for its output.
fn serve_once(path: &Path, start_peer: impl FnOnce(u16) -> Peer) -> (Outcome, Peer) {
    let reactor = Reactor::new().unwrap();
    let outcome = Rc::new(RefCell::new(Outcome::default()));
    let (path, factory_outcome, factory_reactor) = (path.to_owned(), outcome.clone(), reactor.clone());
    let factory = SharedFactory::new(protocol_factory(move |_| Serve {
        path: path.clone(),
        outcome: factory_outcome.clone(),
        reactor: factory_reactor.clone(),
    }));
    let address: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let port = reactor
        .listen_tcp_with(address, factory, ListenOptions::default())
        .unwrap();
    let peer = start_peer(port.host().port().unwrap());
    run_with_deadline(&reactor);
    (outcome.take(), peer)
}

fn assert_sent_whole(outcome: &Outcome, file: &TempFile) {
    match &outcome.result {
        Some(Ok(last)) => assert_eq!(*last, file.data.last().copied()),
        other => panic!("the transfer did not succeed: {other:?}"),
    }
    assert_eq!(outcome.chunks, FILE_SIZE.div_ceil(DEFAULT_CHUNK_SIZE));
    // A chunk is read only when the buffer has drained to the low-water mark.
    let low = WaterMarks::default().low;
    assert!(
        outcome.max_buffered_before_chunk <= low,
        "{} > {low}",
        outcome.max_buffered_before_chunk
    );
    // So the transport never holds more than one chunk beyond it.
    assert!(
        outcome.max_buffered <= low + DEFAULT_CHUNK_SIZE,
        "{} buffered",
        outcome.max_buffered
    );
}

fn assert_received(file: &TempFile) {
    let received = std::fs::read(file.out()).unwrap();
    assert_eq!(received.len(), file.data.len());
    assert!(received == file.data, "the received file differs");
}

#[test]
fn socat_receives_the_whole_file() {
    require_program("socat", "socat");
    let file = TempFile::new("socat");
    let (outcome, peer) = serve_once(&file.path, |port| {
        Peer::spawn(
            Command::new("socat")
                .arg("-u")
                .arg(format!("TCP:127.0.0.1:{port}"))
                .arg(format!("CREATE:{}", file.out().display())),
        )
    });
    let (status, output) = peer.finish();
    assert!(status.success(), "socat: {output}");
    assert_sent_whole(&outcome, &file);
    assert_received(&file);
}

#[test]
fn netcat_receives_the_whole_file() {
    require_program("nc.openbsd", "netcat-openbsd");
    let file = TempFile::new("nc");
    let (outcome, peer) = serve_once(&file.path, |port| {
        let out = std::fs::File::create(file.out()).unwrap();
        // -d: nothing to send; the server's close ends the transfer.
        let mut command = Command::new("nc.openbsd");
        command.args(["-d", "-w", "30", "127.0.0.1", &port.to_string()]);
        Peer::spawn_writing_to(&mut command, out)
    });
    let (status, output) = peer.finish();
    assert!(status.success(), "nc: {output}");
    assert_sent_whole(&outcome, &file);
    assert_received(&file);
}

const SLOW_READER: &str = r#"
import hashlib, socket, sys, time
host, port, path, stop_after = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
s.settimeout(30)
s.connect((host, port))
digest, got, reads = hashlib.sha256(), 0, 0
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    digest.update(chunk)
    got += len(chunk)
    reads += 1
    if reads % 8 == 0:
        time.sleep(0.002)
    if stop_after and got >= stop_after:
        import struct
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        print("RESET after", got, flush=True)
        sys.exit(0)
with open(path, "rb") as f:
    expected = hashlib.sha256(f.read()).hexdigest()
print("OK" if digest.hexdigest() == expected else "FAIL", got, digest.hexdigest(), expected, flush=True)
"#;

fn slow_reader(port: u16, path: &Path, stop_after: usize) -> Peer {
    require_program("python3", "python3");
    Peer::spawn(
        Command::new("python3")
            .args(["-c", SLOW_READER, "127.0.0.1", &port.to_string()])
            .arg(path)
            .arg(stop_after.to_string()),
    )
}

#[test]
fn a_slow_python_reader_gets_the_file_with_the_right_sha256() {
    let file = TempFile::new("slow");
    let (outcome, peer) = serve_once(&file.path, |port| slow_reader(port, &file.path, 0));
    let (status, output) = peer.finish();
    assert!(
        status.success() && output.starts_with(&format!("OK {FILE_SIZE} ")),
        "{output}"
    );
    assert_sent_whole(&outcome, &file);
    assert!(
        outcome.max_buffered > 0,
        "the slow reader never held the sender back"
    );
}

#[test]
fn a_reader_resetting_mid_way_fails_the_transfer_with_transfer_interrupted() {
    let file = TempFile::new("reset");
    let (outcome, peer) = serve_once(&file.path, |port| slow_reader(port, &file.path, 1 << 20));
    let (status, output) = peer.finish();
    assert!(status.success() && output.starts_with("RESET after"), "{output}");
    let failure = match outcome.result {
        Some(Err(failure)) => failure,
        other => panic!("the transfer should have failed: {other:?}"),
    };
    let interrupted = failure
        .downcast_ref::<TransferInterrupted>()
        .expect("TransferInterrupted");
    assert!(
        interrupted.sent >= 1 << 20 && interrupted.sent < FILE_SIZE as u64,
        "{}",
        interrupted.sent
    );
}
