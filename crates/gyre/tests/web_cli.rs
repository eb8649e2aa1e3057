//! `gyre web` end to end: the real binary on 127.0.0.1, fetched with curl
//! (plain and ranged), its access log, `--help`, argument errors, and a
//! clean exit on SIGTERM and SIGINT; plus the pure argument parser.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use gyre::cli::web::{WebOptions, parse};
use gyre_testing::peers::{KillOnDrop, require_program, run_to_end_of_input, start_until};
use support::port_after;

fn gyre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gyre"))
}

/// A running `gyre web` and the port it printed.
struct Web {
    child: KillOnDrop,
    port: u16,
    dir: PathBuf,
}

impl Web {
    fn start(name: &str, extra: &[&str]) -> Web {
        Web::start_on(name, "tcp:0:interface=127.0.0.1", "http", extra)
    }

    fn start_on(name: &str, listen: &str, scheme: &str, extra: &[&str]) -> Web {
        let dir = std::env::temp_dir().join(format!("gyre-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("site/app")).unwrap();
        std::fs::write(dir.join("site/hello.txt"), "hello from gyre web\n").unwrap();
        std::fs::write(dir.join("site/app/main.html"), "<p>app</p>").unwrap();
        std::fs::write(dir.join("site/data.wasm"), b"\0asm").unwrap();
        let (child, line) = start_until(
            gyre()
                .args(["web", "--path"])
                .arg(dir.join("site"))
                .args(["--listen", listen])
                .args(extra),
            b"",
            "listening on",
        );
        assert!(line.starts_with("listening on tcp:127.0.0.1:"), "{line}");
        let port = port_after(&line, "listening on tcp:127.0.0.1:");
        assert!(
            line.contains(&format!("({scheme}://127.0.0.1:{port}/)")),
            "{line}"
        );
        Web { child, port, dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends `signal` and waits (bounded) for the exit.
    fn stop_with(mut self, signal: &str) -> std::process::ExitStatus {
        self.child.signal_and_wait(signal, Duration::from_secs(30))
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn curl(args: &[&str]) -> String {
    require_program("curl", "curl");
    let output = run_to_end_of_input(
        Command::new("curl").args(["-sS", "--max-time", "30"]).args(args),
        b"",
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn serves_files_and_exits_cleanly_on_sigterm() {
    let web = Web::start("term", &[]);
    assert_eq!(curl(&[&web.url("/hello.txt")]), "hello from gyre web\n");
    assert_eq!(curl(&["-r", "0-4", &web.url("/hello.txt")]), "hello");
    assert!(curl(&[&web.url("/")]).contains("<a href=\"hello.txt\">"));
    let status = web.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn proxy_prefixes_go_upstream_and_the_rest_stays_static() {
    require_program("python3", "python3");
    let upstream_dir = std::env::temp_dir().join(format!("gyre-web-upstream-{}", std::process::id()));
    std::fs::create_dir_all(upstream_dir.join("v1")).unwrap();
    std::fs::write(upstream_dir.join("v1/answer.txt"), "from the upstream\n").unwrap();
    let (_upstream, line) = start_until(
        Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(&upstream_dir),
        b"",
        "Serving HTTP on",
    );
    let up_port: u16 = line
        .split(" port ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|port| port.parse().ok())
        .expect("the upstream port");
    let dead = gyre_testing::peers::free_port();
    let web = Web::start(
        "proxy",
        &[
            "--proxy",
            &format!("/api=http://127.0.0.1:{up_port}/v1"),
            "--proxy",
            &format!("/down=http://127.0.0.1:{dead}"),
        ],
    );
    assert_eq!(curl(&[&web.url("/api/answer.txt")]), "from the upstream\n");
    assert_eq!(curl(&[&web.url("/hello.txt")]), "hello from gyre web\n");
    assert!(curl(&["-i", &web.url("/apiary")]).starts_with("HTTP/1.1 404 "));
    assert!(curl(&["-i", &web.url("/down/x")]).starts_with("HTTP/1.1 502 Bad Gateway\r\n"));
    assert!(parse(&["--proxy", "api=ftp://x"]).is_err());
    assert!(parse(&["--proxy", "/../x=http://x"]).is_err());
    assert_eq!(
        parse(&["--proxy", "api/v2/=http://h:1"]).unwrap().proxies,
        [("/api/v2".to_owned(), "http://h:1".to_owned())]
    );
    let status = web.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
    let _ = std::fs::remove_dir_all(&upstream_dir);
}

#[test]
fn serves_https_on_an_ssl_endpoint() {
    let certs = std::env::temp_dir().join(format!("gyre-web-certs-{}", std::process::id()));
    std::fs::create_dir_all(&certs).unwrap();
    let ca = gyre_testing::certs::TestCa::new("gyre web test CA");
    let ca_file = ca.write(&certs, "ca");
    let (chain, key) = ca.server(&["127.0.0.1"]).write(&certs, "server");
    let listen = format!(
        "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
        key.display(),
        chain.display()
    );
    let web = Web::start_on("tls", &listen, "https", &[]);
    let url = format!("https://127.0.0.1:{}/hello.txt", web.port);
    assert_eq!(
        curl(&["--cacert", ca_file.to_str().unwrap(), &url]),
        "hello from gyre web\n"
    );
    assert_eq!(web.stop_with("TERM").code(), Some(0));
    let _ = std::fs::remove_dir_all(&certs);
}

#[test]
fn options_apply_and_sigint_stops_it_too() {
    let web = Web::start(
        "options",
        &[
            "--index",
            "main.html",
            "--mime",
            "wasm=application/x-test-wasm",
            "--header",
            "X-Served-By: gyre",
        ],
    );
    let log = web.dir.join("access.log");
    assert_eq!(curl(&[&web.url("/app/")]), "<p>app</p>");
    let head = curl(&["-I", &web.url("/data.wasm")]);
    assert!(
        head.contains("Content-Type: application/x-test-wasm\r\n"),
        "{head}"
    );
    assert!(head.contains("X-Served-By: gyre\r\n"), "{head}");
    assert!(!log.exists());
    let status = web.stop_with("INT");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn access_log_goes_to_a_file() {
    let dir = std::env::temp_dir().join(format!("gyre-web-accesslog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("access.log");
    let _ = std::fs::remove_file(&log);
    let web = Web::start("log", &["--access-log", log.to_str().unwrap()]);
    curl(&[
        "-A",
        "test-agent",
        "-e",
        "http://referer/",
        &web.url("/hello.txt"),
    ]);
    curl(&["-o", "/dev/null", &web.url("/missing")]);
    let status = web.stop_with("TERM");
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("127.0.0.1 - - ["), "{text}");
    assert!(
        lines[0].ends_with("\"GET /hello.txt HTTP/1.1\" 200 20 \"http://referer/\" \"test-agent\""),
        "{text}"
    );
    assert!(lines[1].contains("\"GET /missing HTTP/1.1\" 404 "), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_and_usage_errors() {
    let output = gyre().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.contains("web") && text.contains("Examples:"),
        "{text}"
    );
    let output = gyre().args(["web", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && text.contains("--access-log FILE|-") && text.contains("ssl:8443"));
    for bad in [
        &["web", "--bogus"][..],
        &["web", "--mime", "nothing"],
        &["web", "--listen"],
        &["nope"],
        &[],
    ] {
        let output = gyre().args(bad).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
    }
    let output = gyre()
        .args(["web", "--path", "/nonexistent/gyre"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "checked with the arguments");
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a directory"));
    let output = gyre().args(["web", "--listen", "tcp:notaport"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn arguments_parse_into_options() {
    let options = parse(&[
        "--path=site",
        "--listen",
        "tcp:0",
        "--listen=ssl:8443:privateKey=k.pem:certKey=c.pem",
        "--index",
        "a.html",
        "--index",
        "b.html",
        "--mime",
        ".wasm=application/wasm",
        "--header",
        "Cache-Control:  no-cache ",
        "--access-log",
        "-",
    ])
    .unwrap();
    assert_eq!(
        options,
        WebOptions {
            path: "site".into(),
            listen: vec!["tcp:0".into(), "ssl:8443:privateKey=k.pem:certKey=c.pem".into()],
            index: vec!["a.html".into(), "b.html".into()],
            mime: vec![(".wasm".into(), "application/wasm".into())],
            headers: vec![("Cache-Control".into(), "no-cache".into())],
            access_log: Some("-".into()),
            help: false,
            proxies: Vec::new(),
        }
    );
    let defaults = parse::<&str>(&[]).unwrap();
    assert_eq!(
        (defaults.path, defaults.listen),
        (PathBuf::from("."), vec!["tcp:8080".to_owned()])
    );
    for bad in [
        &["--header", "no colon"][..],
        &["--header", "Bad Name: x"],
        &["--header", ": x"],
        &["--mime", "x"],
        &["--mime", "=a/b"],
        &["--path"],
        &["stray"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    assert!(parse(&["-h"]).unwrap().help);
}
