//! `gyre web` against clients nobody here wrote: Python Twisted's `Agent`
//! (a whole file and a byte range, both checked) and a short `wrk` load
//! run (every answer a 2xx, no socket errors). Load figures are not
//! asserted: performance lives in `bench/`.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use gyre_testing::peers::{KillOnDrop, peer_python, require_program, run_to_end_of_input, start_until};
use support::port_after;

const LIMIT: Duration = Duration::from_secs(60);

/// `gyre web` serving a fresh directory with `hello.txt` (and a 100 kB
/// `data.bin`) on a free port of 127.0.0.1.
fn start_web(name: &str) -> (KillOnDrop, u16, PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("gyre-web-peers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), "hello from gyre web\n").unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let (web, line) = start_until(
        Command::new(env!("CARGO_BIN_EXE_gyre"))
            .args(["web", "--listen", "tcp:0:interface=127.0.0.1", "--path"])
            .arg(&dir),
        b"",
        "listening on",
    );
    let port = port_after(&line, "127.0.0.1:");
    (web, port, dir, data)
}

/// Fetches `/data.bin` whole and one byte range with Twisted's Agent and
/// prints what came back, one line each.
const TWISTED_AGENT: &str = r#"
import sys
from twisted.internet import task
from twisted.internet.defer import ensureDeferred
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

async def main(reactor, base):
    agent = Agent(reactor)
    whole = await agent.request(b"GET", base + b"/data.bin")
    body = await readBody(whole)
    print(whole.code, len(body), sum(body) % 65521, flush=True)
    part = await agent.request(b"GET", base + b"/data.bin", Headers({b"Range": [b"bytes=10-19"]}))
    chunk = await readBody(part)
    print(part.code, part.headers.getRawHeaders(b"content-range")[0].decode(), chunk.hex(), flush=True)

task.react(lambda reactor: ensureDeferred(main(reactor, sys.argv[1].encode())))
"#;

#[test]
fn twisted_agent_downloads_from_gyre_web() {
    let python = peer_python("twisted");
    let (_web, port, dir, data) = start_web("twisted");
    let script = dir.join("agent.py");
    std::fs::write(&script, TWISTED_AGENT).unwrap();
    let output = run_to_end_of_input(
        Command::new(python)
            .arg(&script)
            .arg(format!("http://127.0.0.1:{port}")),
        b"",
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let checksum = data.iter().map(|&b| u64::from(b)).sum::<u64>() % 65521;
    let range_hex: String = data[10..20].iter().map(|b| format!("{b:02x}")).collect();
    let expected = format!("200 100000 {checksum}\n206 bytes 10-19/100000 {range_hex}\n");
    assert_eq!(stdout, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_short_wrk_run_gets_only_successful_answers() {
    require_program("wrk", "wrk");
    let (_web, port, dir, _) = start_web("wrk");
    let output = run_to_end_of_input(
        Command::new("wrk")
            .args(["-t1", "-c8", "-d1s"])
            .arg(format!("http://127.0.0.1:{port}/hello.txt")),
        b"",
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let requests: u64 = stdout
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(count, _)| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in:\n{stdout}"));
    assert!(requests > 0, "{stdout}");
    // wrk prints these lines only when something went wrong.
    assert!(!stdout.contains("Socket errors"), "{stdout}");
    assert!(!stdout.contains("Non-2xx or 3xx responses"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
