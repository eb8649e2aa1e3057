//! The application server end to end: the built `gyre` binary with real
//! clients (curl, socat, Python's http.client and json) on 127.0.0.1.
//! Graceful SIGTERM with a download in flight, `--daemon` with a locked
//! pidfile (running, stale), `--workers 2` (both workers accept), `--user`
//! after binding a port below 1024, SIGHUP log reopening, JSON logs with
//! connection context, the shutdown deadline, and start-up failures.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use gyre_testing::peers::{KillOnDrop, require_program, run, start_until};
use support::{fresh_dir, gyre, port_after, socat};

const LIMIT: Duration = Duration::from_secs(30);

/// Starts gyre with `args` and returns it with the port of its first
/// `listening on` line.
fn start(args: &[&str]) -> (KillOnDrop, u16) {
    let (child, line) = start_until(gyre().args(args), b"", "listening on");
    (child, port_after(&line, "127.0.0.1:"))
}

fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill").args(["-s", name, &pid.to_string()]).status();
    assert!(sent.is_ok_and(|status| status.success()), "kill -s {name} {pid}");
}

/// Polls `check` every 20 ms until it holds; fails the test after `LIMIT`.
#[track_caller]
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Python's http.client downloading `/big.bin` from `port` into `out`,
/// slowly (64 KiB every 4 ms), printing `started` after 256 KiB.
const SLOW_DOWNLOAD: &str = "import http.client, sys, time\n\
    connection = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=30)\n\
    connection.request('GET', '/big.bin')\n\
    response = connection.getresponse()\n\
    assert response.status == 200, response.status\n\
    got, announced = 0, False\n\
    with open(sys.argv[2], 'wb') as out:\n\
    \x20   while True:\n\
    \x20       chunk = response.read(65536)\n\
    \x20       if not chunk:\n\
    \x20           break\n\
    \x20       out.write(chunk)\n\
    \x20       got += len(chunk)\n\
    \x20       if got >= 262144 and not announced:\n\
    \x20           print('started', flush=True)\n\
    \x20           announced = True\n\
    \x20       time.sleep(0.004)\n";

#[test]
fn sigterm_lets_a_download_in_flight_finish_and_closes_idle_connections() {
    let dir = fresh_dir("drain");
    let site = dir.join("site");
    std::fs::create_dir_all(&site).unwrap();
    // Far more than the loopback socket buffers hold, so the response is
    // still being written when the stop begins.
    let body: Vec<u8> = (0..32u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(site.join("big.bin"), &body).unwrap();
    let log = dir.join("gyre.log");
    let (mut server, port) = start(&[
        "--log-file",
        log.to_str().unwrap(),
        "--shutdown-timeout",
        "60",
        "web",
        "--path",
        site.to_str().unwrap(),
        "--listen",
        "tcp:0:interface=127.0.0.1",
    ]);
    // A kept-alive connection, idle after one answer.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(LIMIT)).unwrap();
    idle.write_all(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 404");
    let out = dir.join("big.out");
    let (mut download, _) = start_until(
        Command::new("python3")
            .args(["-c", SLOW_DOWNLOAD, &port.to_string()])
            .arg(&out),
        b"",
        "started",
    );
    let stopping = Instant::now();
    signal(server.0.id(), "TERM");
    eventually("the port no longer accepts", || {
        TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(
        download.0.try_wait().unwrap().is_none() && server.0.try_wait().unwrap().is_none(),
        "the idle connection closed while the download still ran, and gyre waits for it"
    );
    let status = download.wait_bounded(LIMIT);
    assert!(
        status.success(),
        "the download failed: the response was cut short"
    );
    assert!(std::fs::read(&out).unwrap() == body, "the whole file arrived");
    let status = server.wait_bounded(LIMIT);
    assert!(status.success(), "clean exit: {status:?}");
    assert!(
        stopping.elapsed() < Duration::from_secs(40),
        "stopped when the download ended, not at the 60 s deadline"
    );
    let log = read(&log);
    assert!(
        log.contains("draining connections") && log.contains("INFO gyre::app: stopped"),
        "{log}"
    );
}

/// Kills a process that is not our child (a daemon) when dropped.
struct DaemonGuard(u32);

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        if is_running(self.0) {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &self.0.to_string()])
                .status();
        }
    }
}

/// Whether `pid` is a live process (a zombie is not).
fn is_running(pid: u32) -> bool {
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
    matches!(state, Some(Some(state)) if state != 'Z' && state != 'X')
}

/// The `n`th field (from 1) of `/proc/pid/stat` after the command name.
fn stat_field(pid: u32, n: usize) -> i64 {
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    let (_, rest) = stat.rsplit_once(") ").unwrap();
    rest.split(' ').nth(n - 1).unwrap().parse().unwrap()
}

fn daemon(args: &[&str]) -> Output {
    run(gyre().args(args), b"", LIMIT)
}

#[test]
fn daemon_detaches_holds_its_pidfile_and_a_stale_one_is_taken_over() {
    let dir = fresh_dir("daemon");
    let pidfile = dir.join("gyre.pid");
    // A stale pidfile: its server died without removing it.
    std::fs::write(&pidfile, "4194000\n").unwrap();
    let log = dir.join("daemon.log");
    let args = [
        "--daemon",
        "--pidfile",
        pidfile.to_str().unwrap(),
        "--log-file",
        log.to_str().unwrap(),
        "echo",
        "--listen",
        "tcp:0:interface=127.0.0.1",
    ];
    let started = daemon(&args);
    let stdout = String::from_utf8_lossy(&started.stdout).into_owned();
    assert!(
        started.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let port = port_after(&stdout, "127.0.0.1:");
    let pid: u32 = read(&pidfile)
        .trim()
        .parse()
        .expect("the daemon's pid in the pidfile");
    let _guard = DaemonGuard(pid);
    assert!(is_running(pid));
    assert_ne!(pid, std::process::id());
    let our_session = stat_field(std::process::id(), 4);
    assert_ne!(stat_field(pid, 4), our_session, "a session of its own");
    assert_ne!(
        stat_field(pid, 4),
        i64::from(pid),
        "not a session leader (second fork)"
    );
    assert_eq!(socat(port, b"daemon echo\n"), b"daemon echo\n");
    assert!(
        read(&log).contains("taking over a stale pidfile"),
        "{}",
        read(&log)
    );
    let fd0 = std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap();
    assert_eq!(fd0, PathBuf::from("/dev/null"), "standard input is /dev/null");

    // A second copy with the same pidfile refuses, naming the first.
    let second = daemon(&args);
    assert_eq!(second.status.code(), Some(1));
    let error = String::from_utf8_lossy(&second.stderr);
    assert!(
        error.contains(&format!("already running as process {pid}")),
        "{error}"
    );
    assert!(is_running(pid), "the first is untouched");

    signal(pid, "TERM");
    eventually("the daemon exits", || !is_running(pid));
    assert!(!pidfile.exists(), "a clean stop removes the pidfile");
    assert!(read(&log).contains("INFO gyre::app: stopped"));
}

#[test]
fn a_daemon_that_cannot_start_fails_at_the_prompt() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = fresh_dir("daemon-fail");
    let listen = format!("tcp:{port}:interface=127.0.0.1");
    let log = dir.join("fail.log");
    for daemonize in [false, true] {
        let mut args = vec!["--log-file", log.to_str().unwrap()];
        if daemonize {
            args.push("--daemon");
        }
        args.extend(["echo", "--listen", &listen]);
        let output = daemon(&args);
        assert_eq!(output.status.code(), Some(1), "daemon {daemonize}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains("cannot listen") && error.contains("in use"),
            "daemon {daemonize}: {error}"
        );
    }
}

#[test]
fn two_workers_both_accept_and_json_logs_say_which() {
    require_program("curl", "curl");
    let dir = fresh_dir("workers");
    std::fs::write(dir.join("index.html"), "hello workers\n").unwrap();
    let log = dir.join("workers.log");
    let (mut server, port) = start(&[
        "--workers",
        "2",
        "--log-level",
        "debug",
        "--log-format",
        "json",
        "--log-file",
        log.to_str().unwrap(),
        "web",
        "--path",
        dir.to_str().unwrap(),
        "--listen",
        "tcp:0:interface=127.0.0.1",
    ]);
    // 64 connections (Connection: close): all on one of two sockets by
    // chance has a probability of 2^-63.
    let url = format!("http://127.0.0.1:{port}/");
    let urls: Vec<&str> = std::iter::repeat_n(url.as_str(), 64).collect();
    let output = run(
        Command::new("curl")
            .args(["-sS", "-H", "Connection: close"])
            .args(&urls),
        b"",
        LIMIT,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .matches("hello workers")
            .count(),
        64
    );
    let status = server.signal_and_wait("TERM", LIMIT);
    assert!(status.success());
    // Python's json parses every line and counts connections per worker.
    let script = "import json, sys, collections\n\
        counts, access = collections.Counter(), 0\n\
        for line in open(sys.argv[1]):\n\
        \x20   event = json.loads(line)\n\
        \x20   if event['fields'].get('message') == 'connection opened':\n\
        \x20       span = event['span']\n\
        \x20       assert span['service'] == 'web' and span['protocol'] == 'http', span\n\
        \x20       assert span['peer'].startswith('tcp:127.0.0.1:'), span\n\
        \x20       counts[event['spans'][0]['index']] += 1\n\
        \x20   if event['target'] == 'gyre::http::access':\n\
        \x20       assert event['span']['peer'].startswith('tcp:127.0.0.1:'), event\n\
        \x20       assert '\"GET / HTTP/1.1\" 200 14' in event['fields']['message'], event\n\
        \x20       access += 1\n\
        print(access, ' '.join(f'{k}={v}' for k, v in sorted(counts.items())))\n";
    let output = run(Command::new("python3").args(["-c", script]).arg(&log), b"", LIMIT);
    let counts = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (access, counts) = counts.split_once(' ').unwrap();
    assert_eq!(
        access, "64",
        "one access entry per request, in the structured log"
    );
    let per_worker: Vec<(u32, u32)> = counts
        .split_whitespace()
        .map(|pair| {
            let (worker, count) = pair.split_once('=').unwrap();
            (worker.parse().unwrap(), count.parse().unwrap())
        })
        .collect();
    assert_eq!(per_worker.len(), 2, "both workers accepted: {counts}");
    assert_eq!(
        per_worker.iter().map(|(_, count)| count).sum::<u32>(),
        64,
        "{counts}"
    );
}

/// A free port below 1024 on 127.0.0.1 (binding it needs privileges).
fn free_low_port() -> u16 {
    (900..1000)
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port below 1024")
}

#[test]
fn user_and_group_are_taken_after_binding_a_privileged_port() {
    if rustix_uid() != 0 {
        eprintln!("SKIPPED: dropping privileges needs root (CI runs the suite as root)");
        return;
    }
    let dir = fresh_dir("privileges");
    let port = free_low_port();
    let listen = format!("tcp:{port}:interface=127.0.0.1");
    let log = dir.join("privileges.log");
    let (mut server, announced) = start(&[
        "--user",
        "nobody",
        "--group",
        "nogroup",
        "--workers",
        "2",
        "--log-file",
        log.to_str().unwrap(),
        "echo",
        "--listen",
        &listen,
    ]);
    assert_eq!(announced, port);
    let pid = server.0.id();
    let tasks: Vec<PathBuf> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(tasks.len() >= 3, "main, signal and two worker threads");
    for task in tasks {
        let status = read(&task.join("status"));
        for field in ["Uid:", "Gid:"] {
            let line = status.lines().find(|line| line.starts_with(field)).unwrap();
            let ids: Vec<&str> = line.split_whitespace().skip(1).collect();
            assert_eq!(ids, ["65534"; 4], "{task:?} {line}");
        }
        let groups = status.lines().find(|line| line.starts_with("Groups:")).unwrap();
        assert_eq!(
            groups.split_whitespace().skip(1).collect::<Vec<_>>(),
            ["65534"],
            "{groups}"
        );
    }
    assert_eq!(socat(port, b"as nobody\n"), b"as nobody\n");
    assert!(read(&log).contains("dropped privileges"));
    assert!(server.signal_and_wait("TERM", LIMIT).success());
}

fn rustix_uid() -> u32 {
    let status = read(Path::new("/proc/self/status"));
    let line = status.lines().find(|line| line.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn sighup_reopens_a_rotated_log_file() {
    let dir = fresh_dir("sighup");
    let log = dir.join("gyre.log");
    let (mut server, port) = start(&[
        "--log-level",
        "debug",
        "--log-file",
        log.to_str().unwrap(),
        "echo",
        "--listen",
        "tcp:0:interface=127.0.0.1",
    ]);
    let rotated = dir.join("gyre.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    signal(server.0.id(), "HUP");
    eventually("a new log file is opened", || {
        read(&log).contains("log file reopened")
    });
    assert_eq!(socat(port, b"after rotation\n"), b"after rotation\n");
    eventually("new lines go to the new file", || {
        read(&log).contains("connection opened")
    });
    assert!(!read(&rotated).contains("log file reopened"));
    assert!(
        read(&rotated).contains("listening"),
        "older lines stayed in the rotated file"
    );
    assert!(
        server.signal_and_wait("TERM", LIMIT).success(),
        "SIGHUP did not stop it"
    );
}

#[test]
fn a_connection_that_outlives_the_shutdown_deadline_is_aborted() {
    // The destination accepts and never answers: the relay would wait forever.
    let destination = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest = destination.local_addr().unwrap().to_string();
    let dir = fresh_dir("deadline");
    let log = dir.join("gyre.log");
    let (mut server, port) = start(&[
        "--shutdown-timeout",
        "1",
        "--log-file",
        log.to_str().unwrap(),
        "portforward",
        "--dest",
        &dest,
        "--listen",
        "tcp:0:interface=127.0.0.1",
    ]);
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client.set_read_timeout(Some(LIMIT)).unwrap();
    let (_relayed, _) = destination.accept().unwrap();
    client.write_all(b"waiting").unwrap();
    let stopping = Instant::now();
    let status = server.signal_and_wait("TERM", LIMIT);
    assert!(status.success(), "{status:?}");
    assert!(
        stopping.elapsed() >= Duration::from_millis(900),
        "it waited for the deadline"
    );
    let mut rest = Vec::new();
    let closed = client.read_to_end(&mut rest);
    assert!(
        closed.is_err() || rest.is_empty(),
        "the relay was cut: {closed:?}"
    );
    let log = read(&log);
    assert!(
        log.contains("shutdown deadline passed") && log.contains("aborting connections"),
        "{log}"
    );
}

#[test]
fn help_lists_every_service_command_and_option_with_examples() {
    let output = gyre().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for word in [
        "web",
        "portforward",
        "socks",
        "echo",
        "discard",
        "chargen",
        "qotd",
        "daytime",
        "time",
        "fetch",
        "--log-level",
        "--log-format",
        "--log-file",
        "--pidfile",
        "--daemon",
        "--workers",
        "--user",
        "--group",
        "--shutdown-timeout",
        "Examples:",
    ] {
        assert!(text.contains(word), "{word} missing from gyre --help:\n{text}");
    }
    for service in ["web", "echo", "portforward", "socks"] {
        let output = gyre().args([service, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && text.contains("Examples:"),
            "{service}: {text}"
        );
    }
    let output = gyre()
        .args(["--workers", "2", "fetch", "http://127.0.0.1:9/"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "server options do not apply to fetch"
    );
    let output = gyre()
        .args(["--workers", "2", "echo", "--listen", "unix:/tmp/x.sock"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("several workers"));
}

#[test]
fn sighup_reopens_a_rotated_access_log_and_workers_share_it_line_by_line() {
    require_program("curl", "curl");
    let dir = fresh_dir("access-hup");
    std::fs::write(dir.join("index.html"), "hi\n").unwrap();
    let access = dir.join("access.log");
    let (mut server, port) = start(&[
        "--workers",
        "2",
        "--log-file",
        dir.join("gyre.log").to_str().unwrap(),
        "web",
        "--path",
        dir.to_str().unwrap(),
        "--access-log",
        access.to_str().unwrap(),
        "--listen",
        "tcp:0:interface=127.0.0.1",
    ]);
    let fetch = |path: &str, times: usize| {
        let url = format!("http://127.0.0.1:{port}{path}");
        let urls: Vec<&str> = std::iter::repeat_n(url.as_str(), times).collect();
        let output = run(
            Command::new("curl")
                .args(["-sS", "-o", "/dev/null", "-H", "Connection: close"])
                .args(&urls),
            b"",
            LIMIT,
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    fetch("/before", 20);
    eventually("the first requests are logged", || {
        read(&access).lines().count() == 20
    });
    let rotated = dir.join("access.log.1");
    std::fs::rename(&access, &rotated).unwrap();
    signal(server.0.id(), "HUP");
    eventually("the access log is reopened", || access.exists());
    fetch("/after", 20);
    eventually("the later requests are logged", || {
        read(&access).lines().count() == 20
    });
    assert!(server.signal_and_wait("TERM", LIMIT).success());
    let (old, new) = (read(&rotated), read(&access));
    for (text, path) in [(&old, "/before"), (&new, "/after")] {
        assert_eq!(text.lines().count(), 20, "{text}");
        // Every line whole: two workers wrote into one file.
        for line in text.lines() {
            assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
            assert!(line.contains(&format!("\"GET {path} HTTP/1.1\" 404 ")), "{line}");
            assert!(line.ends_with('"') && line.contains("\"curl/"), "{line}");
        }
    }
}
