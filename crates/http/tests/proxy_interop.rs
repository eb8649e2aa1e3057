//! The proxies against real peers over 127.0.0.1: curl and Python's
//! `urllib` as clients, Python's `http.server` (`proxy_upstream.py`) as the
//! upstream, the proxies run as the `proxy_reverse`/`proxy_forward`
//! examples.

use std::path::Path;
mod support;

use std::process::Command;
use std::time::Duration;

use gyre_testing::peers::{KillOnDrop, free_port, require_program, run_to_end_of_input, start_until};
use support::peers::{LOCAL, curl, curl_any, start_example, text};

/// Starts `proxy_upstream.py`; its port.
fn upstream() -> (KillOnDrop, u16) {
    require_program("python3", "python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/proxy_upstream.py");
    let (child, line) = start_until(Command::new("python3").arg(script), b"", "PORT ");
    (child, line["PORT ".len()..].trim().parse().unwrap())
}

/// Starts an example proxy with `args` on a free port of 127.0.0.1.
fn example(name: &str, args: &[&str]) -> (KillOnDrop, u16) {
    let mut all = vec!["--listen", LOCAL];
    all.extend_from_slice(args);
    start_example(name, &all)
}

fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| ((i % (251 * 256)) % 251) as u8).collect()
}

#[test]
fn curl_through_the_reverse_proxy_sees_forwarding_headers() {
    let (_up, up_port) = upstream();
    let (_proxy, port) = example(
        "proxy_reverse",
        &["--upstream", &format!("http://127.0.0.1:{up_port}/")],
    );
    let out = curl(&[
        "-H",
        "Connection: keep-alive, X-Secret",
        "-H",
        "X-Secret: s",
        &format!("http://127.0.0.1:{port}/headers?a=1"),
    ]);
    let seen = text(&out.stdout);
    assert!(seen.starts_with("GET /headers?a=1 HTTP/1.1\n"), "{seen}");
    assert!(seen.contains(&format!("Host: 127.0.0.1:{up_port}\n")), "{seen}");
    assert!(seen.contains("X-Forwarded-For: 127.0.0.1\n"), "{seen}");
    assert!(
        seen.contains(&format!("X-Forwarded-Host: 127.0.0.1:{port}\n")),
        "{seen}"
    );
    assert!(seen.contains("Via: 1.1 gyre\n"), "{seen}");
    assert!(!seen.contains("X-Secret"), "{seen}");
}

#[test]
fn curl_uploads_and_downloads_stream_through_the_reverse_proxy() {
    let (_up, up_port) = upstream();
    let (_proxy, port) = example(
        "proxy_reverse",
        &["--upstream", &format!("http://127.0.0.1:{up_port}")],
    );
    let dir = std::env::temp_dir().join(format!("gyre-proxy-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("upload.bin");
    let upload = pattern(6 << 20);
    std::fs::write(&file, &upload).unwrap();
    let url = format!("http://127.0.0.1:{port}/upload");
    let data = format!("@{}", file.display());
    let fixed = curl(&["--data-binary", &data, &url]);
    assert_eq!(
        text(&fixed.stdout),
        format!("{} {}", upload.len(), sha256_hex(&upload))
    );
    let chunked = curl(&["-H", "Transfer-Encoding: chunked", "--data-binary", &data, &url]);
    assert_eq!(
        text(&chunked.stdout),
        format!("{} {}", upload.len(), sha256_hex(&upload))
    );
    let size = 24 << 20;
    let download = curl(&[&format!("http://127.0.0.1:{port}/big/{size}")]);
    assert_eq!(download.stdout.len(), size);
    assert_eq!(sha256_hex(&download.stdout), sha256_hex(&pattern(size)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn python_urllib_through_a_mounted_reverse_proxy() {
    let (_up, up_port) = upstream();
    let upstream_url = format!("http://127.0.0.1:{up_port}/base");
    let (_proxy, port) = example("proxy_reverse", &["--upstream", &upstream_url, "--mount", "api"]);
    let script = format!(
        "import urllib.request, urllib.error\n\
         r = urllib.request.urlopen('http://127.0.0.1:{port}/api/x%20y/headers?q=1', timeout=60)\n\
         print(r.status, r.read().decode())\n\
         r = urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:{port}/api/upload', data=b'abc'), timeout=60)\n\
         print(r.read().decode())\n\
         try:\n    urllib.request.urlopen('http://127.0.0.1:{port}/elsewhere', timeout=60)\n\
         except urllib.error.HTTPError as e:\n    print('status', e.code)\n"
    );
    let output = run_to_end_of_input(
        Command::new("python3").args(["-c", &script]),
        b"",
        Duration::from_secs(90),
    );
    let printed = text(&output.stdout);
    assert!(output.status.success(), "{printed}{}", text(&output.stderr));
    assert!(
        printed.starts_with("200 GET /base/x%20y/headers?q=1 HTTP/1.1\n"),
        "{printed}"
    );
    assert!(printed.contains("X-Forwarded-For: 127.0.0.1\n"), "{printed}");
    assert!(
        printed.contains(&format!("3 {}\n", sha256_hex(b"abc"))),
        "{printed}"
    );
    assert!(printed.contains("status 404\n"), "{printed}");
}

#[test]
fn an_upstream_that_is_down_is_a_502() {
    let dead = free_port();
    let (_proxy, port) = example(
        "proxy_reverse",
        &["--upstream", &format!("http://127.0.0.1:{dead}")],
    );
    let out = curl(&["-i", &format!("http://127.0.0.1:{port}/anything")]);
    let answer = text(&out.stdout);
    assert!(answer.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{answer}");
}

#[test]
fn curl_through_the_forward_proxy_to_python_http_server() {
    let (_up, up_port) = upstream();
    let (_proxy, port) = example("proxy_forward", &[]);
    let proxy = format!("http://127.0.0.1:{port}");
    let out = curl(&[
        "--proxy",
        &proxy,
        &format!("http://127.0.0.1:{up_port}/headers?x=1"),
    ]);
    let seen = text(&out.stdout);
    assert!(seen.starts_with("GET /headers?x=1 HTTP/1.1\n"), "{seen}");
    assert!(seen.contains(&format!("Host: 127.0.0.1:{up_port}\n")), "{seen}");
    assert!(seen.contains("X-Forwarded-For: 127.0.0.1\n"), "{seen}");
    assert!(seen.contains("Via: 1.1 gyre\n"), "{seen}");
    assert!(!seen.to_ascii_lowercase().contains("proxy-"), "{seen}");
    let upload = pattern(3 << 20);
    let dir = std::env::temp_dir().join(format!("gyre-proxy-forward-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("upload.bin");
    std::fs::write(&file, &upload).unwrap();
    let posted = curl(&[
        "--proxy",
        &proxy,
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("http://127.0.0.1:{up_port}/upload"),
    ]);
    assert_eq!(
        text(&posted.stdout),
        format!("{} {}", upload.len(), sha256_hex(&upload))
    );
    let _ = std::fs::remove_dir_all(&dir);
    let dead = free_port();
    let down = curl(&["-i", "--proxy", &proxy, &format!("http://127.0.0.1:{dead}/")]);
    assert!(
        text(&down.stdout).starts_with("HTTP/1.1 502 Bad Gateway\r\n"),
        "{}",
        text(&down.stdout)
    );
}

#[test]
fn curl_connect_tunnel_to_openssl_s_server() {
    require_program("openssl", "openssl");
    let dir = std::env::temp_dir().join(format!("gyre-proxy-tunnel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = gyre_testing::certs::TestCa::new("gyre proxy test CA");
    let (cert, key) = ca.server(&["localhost"]).write(&dir, "server");
    let ca_file = ca.write(&dir, "ca");
    let tls_port = free_port();
    let (_server, _) = start_until(
        Command::new("openssl")
            .args(["s_server", "-www", "-accept", &tls_port.to_string()])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key),
        b"",
        "ACCEPT",
    );
    let https = format!("https://localhost:{tls_port}/");
    // The default policy refuses tunnels to ports other than 443.
    let (_strict, strict_port) = example("proxy_forward", &[]);
    let strict = format!("http://127.0.0.1:{strict_port}");
    let refused = curl_any(&[
        "-p",
        "--proxy",
        &strict,
        "--cacert",
        ca_file.to_str().unwrap(),
        &https,
    ]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("403"), "{}", text(&refused.stderr));
    // Allowed once the port is configured: TLS end to end through the tunnel.
    let (_open, open_port) = example("proxy_forward", &["--connect-port", &tls_port.to_string()]);
    let page = curl(&[
        "-p",
        "--proxy",
        &format!("http://127.0.0.1:{open_port}"),
        "--cacert",
        ca_file.to_str().unwrap(),
        &https,
    ]);
    assert!(
        text(&page.stdout).contains("Ciphers supported in s_server binary"),
        "{}",
        text(&page.stdout)
    );
    // A target nobody listens on: 502, the tunnel is not opened.
    let dead = free_port();
    let (_dead_proxy, dead_proxy_port) = example("proxy_forward", &["--connect-port", &dead.to_string()]);
    let unreachable = curl_any(&[
        "-p",
        "--proxy",
        &format!("http://127.0.0.1:{dead_proxy_port}"),
        &format!("https://localhost:{dead}/"),
    ]);
    assert!(
        text(&unreachable.stderr).contains("502"),
        "{}",
        text(&unreachable.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn curl_proxy_basic_auth_407() {
    let (_up, up_port) = upstream();
    let (_proxy, port) = example("proxy_forward", &["--user", "alice:s3cret"]);
    let proxy = format!("http://127.0.0.1:{port}");
    let target = format!("http://127.0.0.1:{up_port}/headers");
    let refused = curl(&["-i", "--proxy", &proxy, &target]);
    let answer = text(&refused.stdout);
    assert!(
        answer.starts_with("HTTP/1.1 407 Proxy Authentication Required\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("Proxy-Authenticate: Basic realm=\"gyre proxy\"\r\n"),
        "{answer}"
    );
    let wrong = curl(&["-i", "--proxy", &proxy, "--proxy-user", "alice:nope", &target]);
    assert!(
        text(&wrong.stdout).starts_with("HTTP/1.1 407"),
        "{}",
        text(&wrong.stdout)
    );
    let allowed = curl(&["--proxy", &proxy, "--proxy-user", "alice:s3cret", &target]);
    let seen = text(&allowed.stdout);
    assert!(seen.starts_with("GET /headers HTTP/1.1\n"), "{seen}");
    assert!(
        !seen.contains("Proxy-Authorization"),
        "credentials must not leak upstream: {seen}"
    );
}

/// Starts `proxy_twisted_upstream.py` under the peers' Python; its port.
fn twisted_upstream() -> (KillOnDrop, u16) {
    let python = gyre_testing::peers::peer_python("twisted");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/proxy_twisted_upstream.py");
    let (child, line) = start_until(Command::new(python).arg(script), b"", "PORT ");
    (child, line["PORT ".len()..].trim().parse().unwrap())
}

#[test]
fn curl_through_both_proxies_to_twisted_web() {
    let (_up, up_port) = twisted_upstream();
    let (_reverse, reverse_port) = example(
        "proxy_reverse",
        &["--upstream", &format!("http://127.0.0.1:{up_port}")],
    );
    // gzip passes through untouched: curl decodes what Twisted encoded.
    let out = curl(&[
        "--compressed",
        "-D",
        "-",
        &format!("http://127.0.0.1:{reverse_port}/headers"),
    ]);
    let seen = text(&out.stdout);
    assert!(
        seen.to_ascii_lowercase().contains("content-encoding: gzip\r\n"),
        "{seen}"
    );
    assert!(seen.contains("GET /headers\n"), "{seen}");
    assert!(seen.contains("X-Forwarded-For: 127.0.0.1\n"), "{seen}");
    assert!(seen.contains("Via: 1.1 gyre\n"), "{seen}");
    let posted = curl(&[
        "--data-binary",
        "twisted body",
        &format!("http://127.0.0.1:{reverse_port}/upload"),
    ]);
    assert_eq!(
        text(&posted.stdout),
        format!("12 {}", sha256_hex(b"twisted body"))
    );
    // The forward proxy in front of the reverse proxy: X-Forwarded-For chains.
    let (_forward, forward_port) = example("proxy_forward", &[]);
    let chained = curl(&[
        "--proxy",
        &format!("http://127.0.0.1:{forward_port}"),
        &format!("http://127.0.0.1:{reverse_port}/headers"),
    ]);
    let seen = text(&chained.stdout);
    assert!(seen.contains("X-Forwarded-For: 127.0.0.1, 127.0.0.1\n"), "{seen}");
    assert!(seen.contains("Via: 1.1 gyre, 1.1 gyre\n"), "{seen}");
}
