//! The `inetd_services` example against programs nobody here wrote: every
//! service over TCP and UDP through `socat` and Python's `socket` module,
//! including an rdate-style check of the time service against the system
//! clock and a chargen reader that stops reading for a while (the server
//! must wait, then go on with the pattern where it left off).
//!
//! The example runs as its own process on free ports and is killed by PID.
//! Needs the Debian packages `socat` and `python3`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use gyre_protocols::inetd::daytime_line;
use gyre_testing::peers::{KillOnDrop, example_binary, require_program};

/// The running example and the address of each `service transport`.
struct Services {
    _process: KillOnDrop,
    addresses: HashMap<String, SocketAddr>,
}

impl Services {
    fn start() -> Services {
        let binary = example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), "inetd_services");
        let mut child = Command::new(binary)
            .args(["--quote", "Gyre says hello.\r\n"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting inetd_services");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let process = KillOnDrop(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let ready = line == "ready";
                if tx.send(line).is_err() || ready {
                    break;
                }
            }
        });
        let mut addresses = HashMap::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("inetd_services printed its ports and `ready` in time");
            if line == "ready" {
                break;
            }
            let mut fields = line.split(' ');
            let (Some(service), Some(transport), Some(address)) =
                (fields.next(), fields.next(), fields.next())
            else {
                panic!("unexpected line {line:?}");
            };
            addresses.insert(format!("{service} {transport}"), address.parse().unwrap());
        }
        assert_eq!(addresses.len(), 12, "{addresses:?}");
        Services {
            _process: process,
            addresses,
        }
    }

    fn address(&self, which: &str) -> SocketAddr {
        self.addresses[which]
    }
}

/// Runs socat (bounded by `timeout`) with `input` on stdin; returns stdout.
fn socat(args: &[String], input: &[u8]) -> Vec<u8> {
    require_program("socat", "socat");
    let mut child = Command::new("timeout")
        .arg("30")
        .arg("socat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting socat");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || drop(stdin.write_all(&input)));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        output.status.success(),
        "socat {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs a Python script with the address as arguments; it must print OK.
fn python(script: &str, address: SocketAddr) {
    require_program("python3", "python3");
    let output = Command::new("timeout")
        .args(["60", "python3", "-c", script])
        .arg(address.ip().to_string())
        .arg(address.port().to_string())
        .output()
        .expect("running python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("OK"),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The daytime answer must be the line for a moment of the last minute.
fn assert_recent_daytime(answer: &[u8]) {
    let now = SystemTime::now();
    let recent = (0..60).any(|back| daytime_line(now - Duration::from_secs(back)).as_bytes() == answer);
    assert!(
        recent,
        "{:?} is not the time of the last minute",
        String::from_utf8_lossy(answer)
    );
}

#[test]
fn every_service_over_tcp() {
    let services = Services::start();
    let tcp = |name: &str| format!("TCP:{}", services.address(&format!("{name} tcp")));

    let lines: Vec<u8> = (0..2000)
        .flat_map(|i| format!("line {i} of the echo test\n").into_bytes())
        .collect();
    let echoed = socat(&["-t".into(), "5".into(), "-".into(), tcp("echo")], &lines);
    assert!(
        echoed == lines,
        "echo gave back {} of {} bytes",
        echoed.len(),
        lines.len()
    );

    let discarded = socat(
        &["-t".into(), "5".into(), "-".into(), tcp("discard")],
        &vec![b'd'; 1 << 20],
    );
    assert!(discarded.is_empty(), "discard answered {} bytes", discarded.len());

    let quote = socat(&["-u".into(), tcp("qotd"), "-".into()], b"");
    assert_eq!(quote, b"Gyre says hello.\r\n");

    let daytime = socat(&["-u".into(), tcp("daytime"), "-".into()], b"");
    assert_recent_daytime(&daytime);
}

const RDATE: &str = r#"
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
data = b""
while True:
    chunk = s.recv(16)
    if not chunk:
        break
    data += chunk
assert len(data) == 4, data
served = struct.unpack("!I", data)[0]
ours = (int(time.time()) + 2208988800) % 2**32
assert abs(served - ours) <= 5, (served, ours)
print("OK")
"#;

#[test]
fn rdate_style_check_of_the_time_service() {
    let services = Services::start();
    python(RDATE, services.address("time tcp"));
}

const CHARGEN_READER: &str = r#"
import socket, sys, time
printable = bytes(range(32, 127))
cycle = b"".join(bytes(printable[(line + 1 + col) % 95] for col in range(72)) + b"\r\n" for line in range(95))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
def read(n):
    data = b""
    while len(data) < n:
        chunk = s.recv(min(65536, n - len(data)))
        assert chunk, "chargen closed"
        data += chunk
    return data
first = read(200000)
time.sleep(1.5)  # stop reading: the server must wait (its producer is not asked)
second = read(300000)
stream = first + second
expected = (cycle * (len(stream) // len(cycle) + 1))[:len(stream)]
assert stream == expected, "the pattern broke"
s.sendall(b"ignored input\r\n")
s.close()
print("OK")
"#;

#[test]
fn chargen_over_tcp_follows_the_pattern_and_waits_for_a_slow_reader() {
    let services = Services::start();
    python(CHARGEN_READER, services.address("chargen tcp"));
}

#[test]
fn every_service_over_udp() {
    let services = Services::start();
    let udp = |name: &str| format!("UDP:{}", services.address(&format!("{name} udp")));
    // -t 2: wait up to 2 s for the answer after sending the datagram.
    let ask =
        |name: &str, datagram: &[u8]| socat(&["-t".into(), "2".into(), "-".into(), udp(name)], datagram);
    assert_eq!(ask("echo", b"ping over udp"), b"ping over udp");
    assert_eq!(ask("qotd", b"?"), b"Gyre says hello.\r\n");
    assert_recent_daytime(&ask("daytime", b"?"));
}

const UDP_CHECKS: &str = r#"
import socket, struct, sys, time
host = sys.argv[1]
ports = {name: int(port) for name, port in (pair.split("=") for pair in sys.argv[3:])}
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    return s
# time: 4 bytes, seconds since 1900, within 5 s of ours
s = udp()
s.sendto(b"", (host, ports["time"]))
data, _ = s.recvfrom(64)
assert len(data) == 4, data
assert abs(struct.unpack("!I", data)[0] - (int(time.time()) + 2208988800) % 2**32) <= 5
# chargen: one datagram of 0..512 bytes per request, the pattern running on
printable = bytes(range(32, 127))
cycle = b"".join(bytes(printable[(line + 1 + col) % 95] for col in range(72)) + b"\r\n" for line in range(95))
s = udp()
stream, lengths = b"", []
for i in range(50):
    s.sendto(b"x", (host, ports["chargen"]))
    data, _ = s.recvfrom(2048)
    lengths.append(len(data))
    stream += data
assert max(lengths) <= 512 and len(set(lengths)) > 5, lengths
assert stream == (cycle * (len(stream) // len(cycle) + 1))[:len(stream)], "pattern"
# discard: no answer
s = udp()
s.sendto(b"into the void", (host, ports["discard"]))
s.settimeout(0.5)
try:
    s.recvfrom(64)
    raise SystemExit("discard answered")
except socket.timeout:
    pass
print("OK")
"#;

#[test]
fn binary_udp_answers_checked_with_python() {
    require_program("python3", "python3");
    let services = Services::start();
    let time = services.address("time udp");
    let output = Command::new("timeout")
        .args(["60", "python3", "-c", UDP_CHECKS])
        .arg(time.ip().to_string())
        .arg("0")
        .arg(format!("time={}", time.port()))
        .arg(format!("chargen={}", services.address("chargen udp").port()))
        .arg(format!("discard={}", services.address("discard udp").port()))
        .output()
        .expect("running python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("OK"),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
