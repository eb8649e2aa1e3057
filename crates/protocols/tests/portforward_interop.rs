//! The port forwarder against real peers over 127.0.0.1: `socat` sends
//! 100 MiB through the `portforward` example and the far end hashes what
//! arrived with `sha256sum`; `nc -N` and `socat` check that half-close is
//! forwarded both ways; and a relay in this process shows that a reader
//! that stops reading keeps the relay's buffer within the water marks.
//!
//! Needs the Debian packages `socat`, `netcat-openbsd` and `coreutils`.

mod socks_support;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use gyre_core::deferred::LoopingCall;
use gyre_core::interfaces::ReactorTcp;
use gyre_core::producer::WaterMarks;
use gyre_core::{Address, Deferred, Failure, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::TcpClientEndpoint;
use gyre_protocols::portforward::{Relay, RelayConfig};
use gyre_reactor::Reactor;
use gyre_testing::fuzz_smoke::SplitMix64;
use socks_support::programs::{KillOnDrop, require, run, start_example};

const LIMIT: Duration = Duration::from_secs(180);

/// `bytes` pseudo-random bytes, the same on every run.
fn data(bytes: usize) -> Vec<u8> {
    let mut rng = SplitMix64::new(0x5eed);
    let mut out = Vec::with_capacity(bytes + 8);
    while out.len() < bytes {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(bytes);
    out
}

/// The SHA-256 of `input` according to `sha256sum`.
fn sha256(input: &mut dyn Read) -> String {
    let mut child = KillOnDrop(
        Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting sha256sum"),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    std::io::copy(input, &mut stdin).expect("feeding sha256sum");
    drop(stdin);
    let mut out = String::new();
    child.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    out.split_whitespace().next().expect("a hash").to_owned()
}

/// A far end that hashes everything until end of file, then answers
/// "BYTES HASH\n" (after the client's EOF: the half-close came through)
/// and closes.
fn hashing_far_end() -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut counted = CountingReader {
            inner: &mut stream,
            count: 0,
        };
        let hash = sha256(&mut counted);
        let count = counted.count;
        stream.write_all(format!("{count} {hash}\n").as_bytes()).unwrap();
        stream.shutdown(Shutdown::Both).unwrap();
    });
    (address, handle)
}

struct CountingReader<'a> {
    inner: &'a mut TcpStream,
    count: usize,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n;
        Ok(n)
    }
}

#[test]
fn a_hundred_mebibytes_from_socat_arrive_intact_and_the_reply_follows_the_half_close() {
    require("socat", "socat");
    require("sha256sum", "coreutils");
    let payload = data(100 * 1024 * 1024);
    let expected = sha256(&mut payload.as_slice());
    let (far, far_end) = hashing_far_end();
    let dest = far.to_string();
    let (_forwarder, listening) = start_example(
        "portforward",
        &["--listen", "tcp:0:interface=127.0.0.1", "--dest", &dest],
    );
    // socat sends its standard input, shuts down its write side at the end
    // of it, and keeps reading the reply for up to 120 s.
    let output = run(
        Command::new("socat").args(["-t", "120", "-", &format!("TCP:{listening}")]),
        &payload,
        LIMIT,
    );
    assert!(
        output.status.success(),
        "socat: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    far_end.join().expect("the far end saw the whole stream");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{} {expected}\n", payload.len())
    );
}

#[test]
fn half_close_is_forwarded_in_both_directions() {
    require("nc", "netcat-openbsd");
    require("socat", "socat");
    // Client first: nc -N shuts down its write side at the end of its
    // input; the far end answers after reading to end of file.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest = listener.local_addr().unwrap().to_string();
    let far_end = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut request = Vec::new();
        stream.read_to_end(&mut request).unwrap();
        stream.write_all(b"got: ").unwrap();
        stream.write_all(&request).unwrap();
    });
    let (_forwarder, listening) = start_example(
        "portforward",
        &["--listen", "tcp:0:interface=127.0.0.1", "--dest", &dest],
    );
    let port = listening.port().to_string();
    let output = run(
        Command::new("nc").args(["-N", "127.0.0.1", &port]),
        b"hello\n",
        LIMIT,
    );
    far_end.join().unwrap();
    assert_eq!(output.stdout, b"got: hello\n");

    // Server first: the far end sends a banner and shuts down its write
    // side; the client, having seen the end of file, still sends.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest = listener.local_addr().unwrap().to_string();
    let (heard_tx, heard) = mpsc::channel();
    let far_end = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        stream.write_all(b"banner\n").unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut late = Vec::new();
        stream.read_to_end(&mut late).unwrap();
        heard_tx.send(late).unwrap();
    });
    let (_forwarder, listening) = start_example(
        "portforward",
        &["--listen", "tcp:0:interface=127.0.0.1", "--dest", &dest],
    );
    let mut socat = KillOnDrop(
        Command::new("socat")
            .args(["-t", "60", "-", &format!("TCP:{listening}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut banner = [0u8; 7];
    socat.0.stdout.as_mut().unwrap().read_exact(&mut banner).unwrap();
    assert_eq!(&banner, b"banner\n");
    let mut stdin = socat.0.stdin.take().unwrap();
    stdin.write_all(b"sent after the server's EOF\n").unwrap();
    drop(stdin);
    assert_eq!(
        heard.recv_timeout(LIMIT).unwrap(),
        b"sent after the server's EOF\n"
    );
    far_end.join().unwrap();
}

/// The inbound side of a relay to `dest`, publishing the relay for the test.
struct Inbound {
    reactor: Reactor,
    dest: std::net::SocketAddr,
    relay: Rc<RefCell<Option<Relay>>>,
}

impl Protocol for Inbound {
    fn connection_made(&mut self, transport: &Transport) {
        let relay = Relay::new(transport, RelayConfig::default());
        relay.connect(&TcpClientEndpoint::new(self.reactor.clone(), self.dest));
        *self.relay.borrow_mut() = Some(relay);
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.relay.borrow().as_ref().unwrap().data_received(data);
    }
    fn read_connection_lost(&mut self, _: &Transport) {
        self.relay.borrow().as_ref().unwrap().read_connection_lost();
    }
    fn connection_lost(&mut self, _: &Transport, _: Failure) {
        self.relay.borrow().as_ref().unwrap().connection_lost();
    }
}

#[test]
fn a_reader_that_stops_reading_keeps_the_relay_buffer_bounded_on_real_sockets() {
    const TOTAL: usize = 48 * 1024 * 1024;
    let reactor = Reactor::new().unwrap();
    // The far end reads nothing until told to, then counts to the end.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest = listener.local_addr().unwrap();
    let (go_tx, go) = mpsc::channel::<()>();
    let (count_tx, count) = mpsc::channel::<usize>();
    let far_end = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        go.recv_timeout(LIMIT).expect("told to read");
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut sink = Vec::new();
        let n = stream.read_to_end(&mut sink).unwrap();
        count_tx.send(n).unwrap();
    });
    let relay = Rc::new(RefCell::new(None));
    let shared = relay.clone();
    let (inner_reactor, factory_dest) = (reactor.clone(), dest);
    let factory = SharedFactory::new(protocol_factory(move |_: &Address| Inbound {
        reactor: inner_reactor.clone(),
        dest: factory_dest,
        relay: shared.clone(),
    }));
    let port = reactor
        .listen_tcp("127.0.0.1:0".parse().unwrap(), factory, 5)
        .unwrap();
    let listening = port.host().socket_addr().unwrap();
    let client = thread::spawn(move || {
        let mut stream = TcpStream::connect(listening).unwrap();
        stream.set_write_timeout(Some(LIMIT)).unwrap();
        let chunk = vec![0x5a; 64 * 1024];
        for _ in 0..TOTAL / chunk.len() {
            stream.write_all(&chunk).unwrap();
        }
    });
    // Sample the relay's far buffer; once it has sat at the high-water mark
    // for a while (the client blocked, reading paused), let the far end read.
    let (done, finished) = Deferred::<usize>::new();
    let (most, stalled_samples, released) = (
        Rc::new(Cell::new(0)),
        Rc::new(Cell::new(0)),
        Rc::new(Cell::new(false)),
    );
    let (most_seen, stalled, go_sent) = (most.clone(), stalled_samples.clone(), released.clone());
    let high = WaterMarks::default().high;
    let finished = RefCell::new(Some(finished));
    let sampler = LoopingCall::new(Rc::new(reactor.clone()), move || {
        let buffered = relay
            .borrow()
            .as_ref()
            .and_then(Relay::far)
            .map_or(0, |far| far.buffered_len());
        most_seen.set(most_seen.get().max(buffered));
        if !go_sent.get() && buffered >= high / 2 {
            stalled.set(stalled.get() + 1);
            if stalled.get() >= 50 {
                go_sent.set(true);
                go_tx.send(()).unwrap();
            }
        }
        if let Ok(n) = count.try_recv()
            && let Some(finished) = finished.borrow_mut().take()
        {
            finished.callback(n);
        }
        Ok::<(), Failure>(())
    });
    let _running = sampler.start(Duration::from_millis(5), true);
    let received = reactor
        .run_until(done.add_timeout(&reactor, LIMIT))
        .expect("the far end got everything");
    sampler.stop();
    client.join().unwrap();
    far_end.join().unwrap();
    eprintln!("most buffered for the stalled reader: {} bytes", most.get());
    assert_eq!(received, TOTAL);
    assert!(
        released.get(),
        "the far buffer filled up while the reader stalled"
    );
    assert!(
        most.get() <= high + 64 * 1024,
        "the relay held {} bytes for a reader that did not read (high-water mark {high})",
        most.get()
    );
    reactor.close();
}
