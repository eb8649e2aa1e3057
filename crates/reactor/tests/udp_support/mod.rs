//! Helpers shared by the datagram tests (UDP, Unix datagram, multicast):
//! a recording protocol, a bounded run of the reactor, child processes
//! stopped by PID, and network namespaces for the multicast tests.

#![allow(dead_code)]

#[path = "../bounded/mod.rs"]
mod bounded;

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::process::{ChildStdout, Command};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use bounded::{Leave, within};
use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::prelude::*;
use gyre_reactor::Reactor;

/// What a [`Recorder`] saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Started(Address),
    Datagram(Vec<u8>, Address),
    Refused,
    Stopped,
}

pub type Log = Rc<RefCell<Vec<Event>>>;

pub fn new_log() -> Log {
    Rc::default()
}

/// Records every callback and runs `on_datagram` for each datagram.
pub struct Recorder<F> {
    log: Log,
    on_datagram: F,
}

impl<F: FnMut(&DatagramTransport, &[u8], &Address) + 'static> DatagramProtocol for Recorder<F> {
    fn start_protocol(&mut self, transport: &DatagramTransport) {
        self.log.borrow_mut().push(Event::Started(transport.host()));
    }

    fn datagram_received(&mut self, transport: &DatagramTransport, data: &[u8], from: &Address) {
        self.log
            .borrow_mut()
            .push(Event::Datagram(data.to_vec(), from.clone()));
        (self.on_datagram)(transport, data, from);
    }

    fn connection_refused(&mut self, _transport: &DatagramTransport) {
        self.log.borrow_mut().push(Event::Refused);
    }

    fn stop_protocol(&mut self) {
        self.log.borrow_mut().push(Event::Stopped);
    }
}

/// A boxed [`Recorder`].
pub fn recorder(
    log: &Log,
    on_datagram: impl FnMut(&DatagramTransport, &[u8], &Address) + 'static,
) -> Box<dyn DatagramProtocol> {
    Box::new(Recorder {
        log: log.clone(),
        on_datagram,
    })
}

/// A recorder that echoes every datagram to its sender.
pub fn echo(log: &Log) -> Box<dyn DatagramProtocol> {
    recorder(log, |transport, data, from| {
        transport.write_to(data, from).unwrap()
    })
}

/// The payloads of the datagrams in `log`.
pub fn payloads(log: &Log) -> Vec<Vec<u8>> {
    log.borrow()
        .iter()
        .filter_map(|event| match event {
            Event::Datagram(data, _) => Some(data.clone()),
            _ => None,
        })
        .collect()
}

/// Runs the reactor until something stops it, failing the test when that
/// takes longer than `limit`.
#[track_caller]
pub fn run_bounded(reactor: &Reactor, limit: Duration) {
    within(reactor, limit, Leave::Stop, || reactor.run().unwrap());
}

/// Stops the reactor (from inside a callback).
pub fn stop(reactor: &Reactor) {
    let _ = reactor.stop();
}

#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::require_program;

/// A child process that is killed (by its PID) and reaped when dropped.
pub use gyre_testing::peers::KillOnDrop as ChildGuard;

/// What the datagram tests do with a [`ChildGuard`] beyond killing it.
pub trait ChildGuardExt {
    /// Starts `command`, guarded.
    fn spawn(command: &mut Command) -> ChildGuard;
    /// Reads lines of the child's stdout (which must be piped) on a thread,
    /// so a test can wait for one with a deadline.
    fn stdout_lines(&mut self) -> Lines;
}

impl ChildGuardExt for ChildGuard {
    fn spawn(command: &mut Command) -> ChildGuard {
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("could not start {command:?}: {error}"));
        ChildGuard(child)
    }

    fn stdout_lines(&mut self) -> Lines {
        let stdout = self.0.stdout.take().expect("stdout is piped");
        Lines::new(stdout)
    }
}

/// The lines a child prints, received with a deadline.
pub struct Lines {
    rx: mpsc::Receiver<String>,
}

impl Lines {
    fn new(stdout: ChildStdout) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx }
    }

    /// The next line, failing the test after `limit`.
    #[track_caller]
    pub fn next(&self, limit: Duration) -> String {
        self.rx
            .recv_timeout(limit)
            .unwrap_or_else(|error| panic!("no line from the child within {limit:?}: {error}"))
    }
}

/// Stops the reactor once `done` returns true, checking every 5 ms.
pub fn stop_when(reactor: &Reactor, done: impl Fn() -> bool + 'static) {
    fn check(reactor: Reactor, done: Rc<dyn Fn() -> bool>) {
        if done() {
            let _ = reactor.stop();
            return;
        }
        let next = reactor.clone();
        drop(reactor.call_later(Duration::from_millis(5), move || check(next, done)));
    }
    let reactor = reactor.clone();
    let done: Rc<dyn Fn() -> bool> = Rc::new(done);
    reactor.clone().call_when_running(move || check(reactor, done));
}

/// Stops the reactor on its first turn.
pub fn stop_soon(reactor: &Reactor) {
    let stopper = reactor.clone();
    reactor.call_when_running(move || stop(&stopper));
}

/// A network namespace made for one test: an anonymous one (`unshare
/// --net`), so it needs no `/run/netns` mounts and disappears with the test
/// process even if the test is killed. Inside it `lo` is up with the
/// MULTICAST flag and a route for 224.0.0.0/4 (the host's `lo` has neither),
/// and a veth pair `gyre0`/`gyre1` with `NETNS_IPV4` and `NETNS_IPV6` on
/// `gyre0` carries IPv6 multicast (`lo` does not deliver it) and shows the
/// multicast loopback option at work (on `lo` every datagram comes back
/// whatever the option says). These addresses exist only inside the
/// namespace the test made.
pub struct Namespace {
    pub name: String,
}

/// The IPv6 address of `gyre0` inside a [`Namespace`].
pub const NETNS_IPV6: &str = "fd00:6779::1";
/// The IPv4 address of `gyre0` inside a [`Namespace`].
pub const NETNS_IPV4: &str = "10.67.121.1";

impl Namespace {
    /// Names the namespace for messages; it is made by [`run_test`](Self::run_test).
    #[track_caller]
    pub fn create(tag: &str) -> Namespace {
        require_program("ip", "iproute2");
        require_program("unshare", "util-linux");
        Namespace {
            name: format!("gyre-{tag}-{}", std::process::id()),
        }
    }

    /// The shell commands that set the namespace up, then run the test.
    fn setup_script() -> String {
        format!(
            "set -e; ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo; \
             echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; \
             echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad; \
             ip link add gyre0 type veth peer name gyre1; ip link set gyre0 up; ip link set gyre1 up; \
             ip -6 addr add {NETNS_IPV6}/64 dev gyre0 nodad; ip addr add {NETNS_IPV4}/24 dev gyre0; \
             exec \"$0\" \"$@\""
        )
    }

    /// Runs the `#[ignore]`d test `inner` of this test binary inside a new
    /// namespace and fails unless it ran and passed.
    #[track_caller]
    pub fn run_test(&self, inner: &str, limit: Duration) {
        let exe = std::env::current_exe().unwrap();
        let output = gyre_testing::peers::run(
            Command::new("unshare")
                .args(["--net", "--", "sh", "-c", &Self::setup_script()])
                .arg(exe)
                .args([inner, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
                .env(NETNS_VAR, &self.name),
            b"",
            limit,
        );
        let status = output.status;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            status.success() && stdout.contains("1 passed"),
            "{inner} failed inside namespace {} ({status}); making a network namespace needs root \
             (CAP_SYS_ADMIN):\n{stdout}\n{stderr}",
            self.name
        );
    }
}

/// Set for a test run inside a [`Namespace`].
pub const NETNS_VAR: &str = "GYRE_TEST_NETNS";

/// Fails unless the test runs inside a [`Namespace`] (the outer test runs it there).
#[track_caller]
pub fn require_namespace() {
    assert!(
        std::env::var_os(NETNS_VAR).is_some(),
        "this test runs only inside the network namespace its outer test makes; \
         run the whole test file instead of selecting it with --ignored"
    );
}
