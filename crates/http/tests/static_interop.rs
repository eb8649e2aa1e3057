//! `StaticFiles` against real clients over 127.0.0.1: curl (ranges,
//! multipart, `-z`, `--etag-save/--etag-compare`, HEAD, a 20 MiB file
//! checked by SHA-256, `..` and `%2e%2e` attempts, a symlink out of the
//! root), wget, and Python's `http.client`/`urllib`.

use std::path::{Path, PathBuf};
mod support;

use std::process::Command;
use std::time::Duration;

use gyre_testing::peers::{KillOnDrop, require_program, run_to_end_of_input};
use support::peers::{LOCAL, curl, start_example, status, text};

/// A directory served by the `static_serve` example.
struct Served {
    _child: KillOnDrop,
    port: u16,
    dir: PathBuf,
}

impl Served {
    fn start(name: &str) -> Served {
        let dir = std::env::temp_dir().join(format!("gyre-static-interop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/docs")).unwrap();
        std::fs::write(dir.join("secret.txt"), "outside the root\n").unwrap();
        let digits: String = (0..100).map(|i| char::from(b'0' + (i % 10) as u8)).collect();
        std::fs::write(dir.join("root/digits.txt"), &digits).unwrap();
        std::fs::write(dir.join("root/docs/index.html"), "<h1>docs</h1>\n").unwrap();
        std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("root/link.txt")).unwrap();
        let root = dir.join("root");
        let (child, port) = start_example("static_serve", &[root.to_str().unwrap(), LOCAL]);
        Served {
            _child: child,
            port,
            dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn curl_single_and_multiple_ranges() {
    let served = Served::start("ranges");
    let output = curl(&["-i", "-r", "0-9", &served.url("/digits.txt")]);
    let answer = text(&output.stdout);
    assert!(answer.starts_with("HTTP/1.1 206"), "{answer}");
    assert!(answer.contains("Content-Range: bytes 0-9/100\r\n") && answer.ends_with("\r\n\r\n0123456789"));
    let output = curl(&["-r", "0-99", &served.url("/digits.txt")]);
    assert_eq!(output.stdout.len(), 100);
    let answer = text(&curl(&["-i", "-r", "0-9,20-29", &served.url("/digits.txt")]).stdout);
    assert!(
        answer.contains("Content-Type: multipart/byteranges; boundary="),
        "{answer}"
    );
    assert_eq!(answer.matches("0123456789").count(), 2, "{answer}");
    assert!(answer.contains("Content-Range: bytes 20-29/100"), "{answer}");
    assert_eq!(status(&["-r", "500-600", &served.url("/digits.txt")]), "416");
}

#[test]
fn curl_conditionals_and_head() {
    let served = Served::start("conditional");
    let url = served.url("/digits.txt");
    assert_eq!(status(&["-z", "Fri, 01 Jan 9999 00:00:00 GMT", &url]), "304");
    assert_eq!(status(&["-z", "Thu, 01 Jan 1970 00:00:10 GMT", &url]), "200");
    let etag_file = served.dir.join("etag");
    let etag = etag_file.to_str().unwrap();
    assert_eq!(status(&["--etag-save", etag, &url]), "200");
    assert!(std::fs::read_to_string(&etag_file).unwrap().starts_with('"'));
    assert_eq!(status(&["--etag-compare", etag, &url]), "304");
    let head = text(&curl(&["-I", &url]).stdout);
    assert!(
        head.starts_with("HTTP/1.1 200") && head.contains("Content-Length: 100\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Last-Modified: ") && head.contains("ETag: \""),
        "{head}"
    );
}

fn sha256(path: &Path) -> String {
    require_program("sha256sum", "coreutils");
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    text(&output.stdout).split_whitespace().next().unwrap().to_owned()
}

#[test]
fn curl_downloads_a_20_mib_file_intact() {
    let served = Served::start("big");
    let big = served.root().join("big.bin");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..20 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&big, &data).unwrap();
    let copy = served.dir.join("copy.bin");
    curl(&["-o", copy.to_str().unwrap(), &served.url("/big.bin")]);
    assert_eq!(sha256(&copy), sha256(&big));
    let tail = curl(&["-r", "20971000-", &served.url("/big.bin")]).stdout;
    assert_eq!(tail, data[20_971_000..]);
}

#[test]
fn curl_escape_attempts_are_refused() {
    let served = Served::start("escape");
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/docs/%2E%2E/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
    ] {
        let code = status(&["--path-as-is", &served.url(path)]);
        assert!(code == "400" || code == "404", "{path}: {code}");
    }
    assert_eq!(
        status(&[&served.url("/link.txt")]),
        "404",
        "symlink out of the root"
    );
    assert_eq!(status(&[&served.url("/docs")]), "301");
    assert_eq!(
        text(&curl(&["-L", &served.url("/docs")]).stdout),
        "<h1>docs</h1>\n"
    );
    assert_eq!(status(&["-X", "POST", &served.url("/digits.txt")]), "405");
}

#[test]
fn wget_fetches_a_file() {
    let served = Served::start("wget");
    require_program("wget", "wget");
    let output = run_to_end_of_input(
        Command::new("wget").args(["-q", "-O", "-", "--timeout=30", &served.url("/docs/")]),
        b"",
        Duration::from_secs(60),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "<h1>docs</h1>\n");
}

#[test]
fn python_http_client_and_urllib() {
    let served = Served::start("python");
    require_program("python3", "python3");
    let script = r#"
import http.client, sys, urllib.request, urllib.error
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
conn.request("GET", "/digits.txt", headers={"Range": "bytes=-5"})
r = conn.getresponse()
assert r.status == 206, r.status
assert r.read() == b"56789"
etag = r.getheader("ETag")
conn.request("GET", "/digits.txt", headers={"If-None-Match": etag})
r = conn.getresponse()
assert r.status == 304, r.status
r.read()
conn.request("HEAD", "/")
r = conn.getresponse()
assert r.status == 200 and r.getheader("Content-Type") == "text/html; charset=utf-8"
r.read()
with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
    body = page.read().decode()
assert 'href="docs/"' in body and "digits.txt" in body, body
try:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=30)
    raise SystemExit("no 404")
except urllib.error.HTTPError as error:
    assert error.code == 404
print("ok")
"#;
    let output = run_to_end_of_input(
        Command::new("python3").args(["-c", script, &served.port.to_string()]),
        b"",
        Duration::from_secs(60),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "ok\n");
}
