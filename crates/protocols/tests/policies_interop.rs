//! Policies over real sockets on 127.0.0.1 against programs nobody here
//! wrote: `socat` is dropped by an idle timeout and turned away by a
//! connection limit (and admitted again once a slot is free), and `curl`
//! downloads from a throttled, traffic-logged HTTP responder no faster
//! than the throttle allows.
//!
//! The reactor runs in the test thread; each client runs on a pool thread
//! under `timeout`, so no child outlives the test.
//!
//! Needs the Debian packages `socat`, `curl` and `coreutils`.

mod policies_support;

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::rc::Rc;
use std::time::Duration;

use gyre_core::interfaces::ReactorTcp;
use gyre_core::{Address, Clock, Failure, Protocol, SharedFactory, Transport, protocol_factory};
use gyre_protocols::policies::{ConnectionLimit, IdleTimeout, Throttle, TrafficLog, busy, wrap_factory};
use gyre_reactor::Reactor;
use gyre_testing::peers::{KillOnDrop, require_program};
use policies_support::{echo_factory, lost};

const LIMIT: Duration = Duration::from_secs(60);

/// Listens on 127.0.0.1 with a free port.
fn listen(reactor: &Reactor, factory: SharedFactory) -> SocketAddr {
    let port = reactor
        .listen_tcp("127.0.0.1:0".parse().unwrap(), factory, 50)
        .expect("listening");
    port.host().socket_addr().unwrap()
}

/// Runs `scenario` on a pool thread while the reactor turns.
fn run<T: Send + 'static>(reactor: &Reactor, scenario: impl FnOnce() -> T + Send + 'static) -> T {
    let done = reactor.defer_to_thread(move || Ok::<T, std::io::Error>(scenario()));
    reactor
        .run_until(done.add_timeout(reactor, LIMIT))
        .expect("the scenario finished in time")
}

/// `socat` to `server`, bounded by `timeout`, with stdin and stdout piped.
fn socat(server: SocketAddr, wait_after_eof: &str) -> KillOnDrop {
    let child = Command::new("timeout")
        .args(["30", "socat", "-t", wait_after_eof, "-T", "30", "-"])
        .arg(format!("TCP:{server}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting socat");
    KillOnDrop(child)
}

/// Runs socat to completion with `input` (then end of file) and returns its output.
fn socat_once(server: SocketAddr, input: &[u8]) -> Output {
    let mut guard = socat(server, "5");
    guard.0.stdin.take().unwrap().write_all(input).unwrap();
    let mut output = String::new();
    guard
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    let status = guard.0.wait().unwrap();
    Output {
        status,
        stdout: output.into_bytes(),
        stderr: Vec::new(),
    }
}

#[test]
fn socat_is_dropped_by_the_idle_timeout() {
    require_program("socat", "socat");
    let reactor = Reactor::new().unwrap();
    let clock: Rc<dyn Clock> = Rc::new(reactor.clone());
    let (echo, seen) = echo_factory();
    let server = listen(
        &reactor,
        wrap_factory(echo, IdleTimeout::new(clock, Duration::from_millis(500))),
    );
    let (stdout, still_open) = run(&reactor, move || {
        let mut guard = socat(server, "0.5");
        let mut stdin = guard.0.stdin.take().unwrap();
        stdin.write_all(b"hello\n").unwrap();
        // stdin stays open: only the server can end this connection.
        let mut stdout = String::new();
        guard
            .0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let status = guard.0.wait().unwrap();
        drop(stdin);
        (stdout, status.code() == Some(124))
    });
    assert_eq!(stdout, "hello\n");
    assert!(!still_open, "socat was still connected when `timeout` killed it");
    assert_eq!(lost(&seen.borrow()[0]), "timed out");
    reactor.close();
}

#[test]
fn socat_is_turned_away_beyond_the_limit_and_admitted_once_a_slot_is_free() {
    require_program("socat", "socat");
    let reactor = Reactor::new().unwrap();
    let limit = ConnectionLimit::new(1).overflow(busy(b"busy\n"));
    let server = listen(&reactor, wrap_factory(echo_factory().0, limit.clone()));
    let (first, second, third) = run(&reactor, move || {
        let mut holder = socat(server, "5");
        let mut stdin = holder.0.stdin.take().unwrap();
        stdin.write_all(b"first\n").unwrap();
        let mut echoed = String::new();
        let mut stdout = BufReader::new(holder.0.stdout.take().unwrap());
        stdout.read_line(&mut echoed).unwrap();
        // The only slot is taken: the next client hears "busy".
        let second = socat_once(server, b"second\n");
        drop(stdin); // end of file: the server closes, socat exits
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        holder.0.wait().unwrap();
        let third = socat_once(server, b"third\n");
        (echoed + &rest, second, third)
    });
    assert_eq!(first, "first\n");
    assert_eq!(String::from_utf8_lossy(&second.stdout), "busy\n");
    assert_eq!(
        String::from_utf8_lossy(&third.stdout),
        "third\n",
        "the slot was given back"
    );
    assert_eq!((limit.active(), limit.overflowed()), (0, 1));
    reactor.close();
}

/// Answers any request with a fixed body, then closes.
struct Responder {
    body_len: usize,
    request: Vec<u8>,
}

impl Protocol for Responder {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if self.request.len() > 64 * 1024 {
            return transport.abort_connection();
        }
        self.request.extend_from_slice(data);
        if self.request.windows(4).any(|w| w == b"\r\n\r\n") && !transport.is_closed() {
            self.request.clear();
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                self.body_len
            );
            transport.write(head.as_bytes());
            transport.write(&vec![b'x'; self.body_len]);
            transport.lose_connection();
        }
    }
    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {}
}

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn curl_downloads_no_faster_than_the_throttle_allows() {
    require_program("curl", "curl");
    let reactor = Reactor::new().unwrap();
    let clock: Rc<dyn Clock> = Rc::new(reactor.clone());
    const RATE: u64 = 50_000;
    const BODY: usize = 100_000;
    let responder = SharedFactory::new(protocol_factory(|_: &Address| Responder {
        body_len: BODY,
        request: Vec::new(),
    }));
    let throttle = Throttle::new(clock)
        .write_rate(RATE)
        .period(Duration::from_millis(100));
    let log = Buffer::default();
    let logged = wrap_factory(
        wrap_factory(responder, throttle),
        TrafficLog::new().tracing(false).to_writer(log.clone()),
    );
    let server = listen(&reactor, logged);
    let output = run(&reactor, move || {
        Command::new("curl")
            .args([
                "-s",
                "-S",
                "--max-time",
                "30",
                "-o",
                "/dev/null",
                "-w",
                "%{size_download} %{speed_download}",
            ])
            .arg(format!("http://{server}/"))
            .output()
            .expect("running curl")
    });
    assert!(
        output.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = String::from_utf8(output.stdout).unwrap();
    let mut fields = report.split_whitespace();
    let size: usize = fields.next().unwrap().parse().unwrap();
    let speed: f64 = fields.next().unwrap().parse().unwrap();
    assert_eq!(size, BODY);
    assert!(
        speed <= RATE as f64 * 1.5,
        "curl measured {speed} B/s, the throttle allows {RATE}"
    );
    // The log outside the throttle saw the writes the throttle released,
    // one budget (5000 bytes) per 100 ms period, and the whole exchange.
    let text = String::from_utf8(log.0.borrow().clone()).unwrap();
    assert!(text.starts_with("#1 tcp:127.0.0.1:"), "{text}");
    assert!(text.matches("wrote 5000 bytes").count() >= 18, "{text}");
    let last = text.lines().last().unwrap();
    assert!(
        last.contains("connection lost") && last.contains("wrote 100083 bytes"),
        "{text}"
    );
    reactor.close();
}
