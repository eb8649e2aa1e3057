//! The server against curl over 127.0.0.1: keep-alive reuse, chunked
//! uploads, `Expect: 100-continue`, `HEAD`, HTTP/1.0.

mod support;

use std::process::{Command, Output};
use std::time::Duration;

use gyre_testing::peers::{require_program, run_to_end_of_input};
use support::hello::Hello;

fn curl(args: &[&str], input: &[u8]) -> Output {
    require_program("curl", "curl");
    let output = run_to_end_of_input(
        Command::new("curl").args(["-sS", "--max-time", "20"]).args(args),
        input,
        Duration::from_secs(30),
    );
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn curl_reuses_the_connection_for_two_urls() {
    let server = Hello::start();
    let output = curl(&["-v", &server.url("/a"), &server.url("/b")], b"");
    assert_eq!(text(&output.stdout), "hello\nhello\n");
    let log = text(&output.stderr);
    assert!(log.contains("Re-using existing connection"), "{log}");
    assert_eq!(log.matches("Connected to").count(), 1, "{log}");
}

#[test]
fn curl_uploads_chunked_from_standard_input() {
    let server = Hello::start();
    let body = vec![b'z'; 200_000];
    let output = curl(&["-v", "-T", "-", &server.url("/upload")], &body);
    assert_eq!(text(&output.stdout), "hello, 200000 bytes received\n");
    assert!(text(&output.stderr).contains("> Transfer-Encoding: chunked"));
}

#[test]
fn curl_waits_for_100_continue_and_gets_it() {
    let server = Hello::start();
    let body = vec![b'q'; 5000];
    let output = curl(
        &[
            "-v",
            "-H",
            "Expect: 100-continue",
            "--expect100-timeout",
            "15",
            "--data-binary",
            "@-",
            &server.url("/post"),
        ],
        &body,
    );
    assert_eq!(text(&output.stdout), "hello, 5000 bytes received\n");
    let log = text(&output.stderr);
    assert!(log.contains("< HTTP/1.1 100 Continue"), "{log}");
}

#[test]
fn curl_head_gets_the_headers_of_get_and_no_body() {
    let server = Hello::start();
    let output = curl(&["-v", "-I", &server.url("/"), &server.url("/")], b"");
    let headers = text(&output.stdout);
    assert_eq!(headers.matches("HTTP/1.1 200 OK").count(), 2, "{headers}");
    assert!(headers.contains("Content-Length: 6"), "{headers}");
    assert!(text(&output.stderr).contains("Re-using existing connection"));
}

#[test]
fn curl_speaking_http_1_0() {
    let server = Hello::start();
    let output = curl(&["-v", "--http1.0", &server.url("/")], b"");
    assert_eq!(text(&output.stdout), "hello\n");
    let log = text(&output.stderr);
    assert!(log.contains("< Connection: close"), "{log}");
}
