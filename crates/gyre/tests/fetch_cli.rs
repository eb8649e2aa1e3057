//! `gyre fetch` end to end, the real binary against servers on 127.0.0.1:
//! Python's `http.server` (a 1 MB download with progress, a redirect) and
//! `gyre web` over TLS with a throw-away CA (the gyre client against the
//! gyre server, and the refusal without the CA).

mod support;

use std::time::Duration;

use gyre_testing::certs::TestCa;
use gyre_testing::peers::{run_to_end_of_input, start_until};
use support::{fresh_dir, gyre, port_after, python_http_server};

const LIMIT: Duration = Duration::from_secs(60);

/// `gyre fetch ARGS`, bounded.
fn fetch(args: &[&str]) -> std::process::Output {
    run_to_end_of_input(gyre().arg("fetch").args(args), b"", LIMIT)
}

#[test]
fn fetch_downloads_from_python_http_server_with_progress_and_follows_its_redirect() {
    let dir = fresh_dir("fetch-python");
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/index.html"), "<p>sub</p>").unwrap();
    let (_server, port) = python_http_server(&dir);
    let out = dir.join("out.bin");
    let output = fetch(&[
        &format!("http://127.0.0.1:{port}/big.bin"),
        "-o",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(" 200 OK"), "{stderr}");
    assert!(stderr.contains("1000000/1000000 bytes (100%)"), "{stderr}");
    assert!(std::fs::read(&out).unwrap() == big, "the download differs");
    // http.server answers a directory without its slash with a 301.
    let output = fetch(&[&format!("http://127.0.0.1:{port}/sub")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, b"<p>sub</p>");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fetch_from_gyre_web_over_tls_verifies_the_server() {
    let dir = fresh_dir("fetch-tls");
    let site = dir.join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("hello.txt"), "hello over tls\n").unwrap();
    let ca = TestCa::new("gyre fetch test CA");
    let ca_file = ca.write(&dir, "ca");
    let (chain, key) = ca.server(&["localhost", "127.0.0.1"]).write(&dir, "server");
    let listen = format!(
        "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
        key.display(),
        chain.display()
    );
    let (_web, line) = start_until(
        gyre().args(["web", "--listen", &listen]).arg("--path").arg(&site),
        b"",
        "listening on",
    );
    let port = port_after(&line, "127.0.0.1:");
    let url = format!("https://localhost:{port}/hello.txt");
    let output = fetch(&[&url, "--ca", ca_file.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, b"hello over tls\n");
    // Without the CA the default (Mozilla) roots refuse the certificate.
    let refused = fetch(&[&url]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fetch_help_and_usage_errors() {
    let help = fetch(&["--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success());
    for option in ["--output", "--ca", "--proxy", "--timeout"] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
    let usage = fetch(&[]);
    assert_eq!(usage.status.code(), Some(2));
}
