//! The serving subcommands end to end, the real `gyre` binary on
//! 127.0.0.1 with real clients: `echo`, `daytime` and `qotd` with socat,
//! `portforward` and `socks` with curl in front of Python's `http.server`,
//! and a clean exit on SIGTERM.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use gyre_testing::peers::{KillOnDrop, require_program, run_to_end_of_input, start_until};
use support::{fresh_dir, gyre, port_after, python_http_server, socat};

const LIMIT: Duration = Duration::from_secs(30);

/// Starts `gyre ARGS --listen tcp:0:interface=127.0.0.1` and returns it
/// with the port from its `listening on tcp:127.0.0.1:PORT (NAME)` line.
fn start(args: &[&str]) -> (KillOnDrop, u16) {
    let (child, line) = start_until(
        gyre().args(args).args(["--listen", "tcp:0:interface=127.0.0.1"]),
        b"",
        "listening on",
    );
    (child, port_after(&line, "127.0.0.1:"))
}

/// Sends SIGTERM and waits (bounded) for the exit status.
fn terminate(mut child: KillOnDrop) -> std::process::ExitStatus {
    child.signal_and_wait("TERM", LIMIT)
}

/// Python's `http.server` on a fresh directory with `file.txt`.
fn http_server(name: &str) -> (KillOnDrop, u16, PathBuf) {
    let dir = fresh_dir(&format!("services-{name}"));
    std::fs::write(dir.join("file.txt"), "served by python\n").unwrap();
    let (server, port) = python_http_server(&dir);
    (server, port, dir)
}

/// `curl -sS ARGS URL`, bounded.
fn curl(args: &[&str], url: &str) -> std::process::Output {
    require_program("curl", "curl");
    run_to_end_of_input(
        Command::new("curl").args(["-sS", "-m", "20"]).args(args).arg(url),
        b"",
        LIMIT,
    )
}

#[test]
fn echo_answers_socat_and_stops_cleanly_on_sigterm() {
    let (echo, port) = start(&["echo"]);
    assert_eq!(socat(port, b"hello gyre\n"), b"hello gyre\n");
    assert!(terminate(echo).success());
}

#[test]
fn daytime_and_qotd_answer_socat() {
    let (daytime, port) = start(&["daytime"]);
    let line = String::from_utf8(socat(port, b"")).unwrap();
    assert!(line.ends_with("\r\n") && line.len() > 10, "{line:?}");
    let (qotd, port) = start(&["qotd", "--quote", "Simple things should be simple."]);
    let quote = String::from_utf8(socat(port, b"")).unwrap();
    assert!(quote.starts_with("Simple things should be simple."), "{quote:?}");
    assert!(terminate(daytime).success() && terminate(qotd).success());
}

#[test]
fn discard_time_and_chargen_answer_and_stop_with_a_client_still_connected() {
    let (discard, port) = start(&["discard"]);
    assert_eq!(socat(port, b"into the void\n"), b"");
    let (time, port) = start(&["time"]);
    assert_eq!(socat(port, b"").len(), 4, "RFC 868: 32-bit seconds");
    let (chargen, port) = start(&["--shutdown-timeout", "60", "chargen"]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    let mut first = [0u8; 74];
    std::io::Read::read_exact(&mut stream, &mut first).unwrap();
    assert!(first[..72].iter().all(u8::is_ascii_graphic), "{first:?}");
    assert_eq!(&first[72..], b"\r\n", "RFC 864 lines of 72 characters");
    // chargen never stops by itself: the stop closes it, well before the
    // 60 s deadline (a registered producer would otherwise hold the close).
    // The client keeps reading, so what was written can be flushed.
    let reader = std::thread::spawn(move || {
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut rest).map(|_| rest.len())
    });
    let stopping = std::time::Instant::now();
    assert!(terminate(chargen).success());
    assert!(
        stopping.elapsed() < Duration::from_secs(30),
        "an endless stream held the stop"
    );
    assert!(
        reader.join().unwrap().is_ok(),
        "a clean end of stream, not a reset"
    );
    assert!(terminate(discard).success() && terminate(time).success());
}

#[test]
fn portforward_relays_curl_to_python_http_server() {
    let (_upstream, upstream, dir) = http_server("forward");
    let (forward, port) = start(&["portforward", "--dest", &format!("127.0.0.1:{upstream}")]);
    let output = curl(&[], &format!("http://127.0.0.1:{port}/file.txt"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, b"served by python\n");
    assert!(terminate(forward).success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn socks_carries_curl_with_and_without_a_password() {
    let (_upstream, upstream, dir) = http_server("socks");
    let url = format!("http://localhost:{upstream}/file.txt");
    let (open, port) = start(&["socks"]);
    let output = curl(&["--socks5-hostname", &format!("127.0.0.1:{port}")], &url);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, b"served by python\n");

    let (locked, port) = start(&["socks", "--user", "alice", "--password", "s3cret"]);
    let right = curl(
        &["--proxy", &format!("socks5h://alice:s3cret@127.0.0.1:{port}")],
        &url,
    );
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
    assert_eq!(right.stdout, b"served by python\n");
    let wrong = curl(
        &["--proxy", &format!("socks5h://alice:guess@127.0.0.1:{port}")],
        &url,
    );
    assert!(!wrong.status.success());
    assert!(wrong.stdout.is_empty());
    assert!(terminate(open).success() && terminate(locked).success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_every_service() {
    let output = run_to_end_of_input(gyre().arg("--help"), b"", LIMIT);
    let text = String::from_utf8_lossy(&output.stdout);
    for name in [
        "web",
        "fetch",
        "portforward",
        "socks",
        "echo",
        "discard",
        "chargen",
        "qotd",
        "daytime",
        "time",
    ] {
        assert!(
            text.contains(&format!("  {name} ")),
            "{name} missing from:\n{text}"
        );
    }
    let usage = run_to_end_of_input(gyre().args(["portforward"]), b"", LIMIT);
    assert_eq!(usage.status.code(), Some(2));
}
