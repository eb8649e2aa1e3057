//! The `resource_site` example against real clients over 127.0.0.1: curl
//! (redirects, a cookie jar keeping a session, Basic auth, `--compressed`,
//! virtual hosts by `Host`, 405 with `Allow`) and Python (`http.client`
//! with its `gzip` module, `urllib` with a cookie jar).

mod support;

use std::process::Command;
use std::time::Duration;

use gyre_testing::peers::{KillOnDrop, require_program, run_to_end_of_input};
use support::peers::{LOCAL, curl, start_example, status, text};

/// A running `resource_site` on an ephemeral port.
struct SiteServer {
    _child: KillOnDrop,
    port: u16,
}

impl SiteServer {
    fn start() -> SiteServer {
        let (child, port) = start_example("resource_site", &["--listen", LOCAL]);
        SiteServer { _child: child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// The `big` resource's body, as the example builds it.
fn big_body() -> String {
    (0..20_000)
        .map(|i| format!("line {i}: gyre compresses this\n"))
        .collect()
}

#[test]
fn curl_follows_a_redirect() {
    let site = SiteServer::start();
    let output = curl(&["-L", "-v", &site.url("/old")]);
    assert_eq!(text(&output.stdout), "a page\n");
    let log = text(&output.stderr);
    assert!(log.contains("< HTTP/1.1 302 Found"), "{log}");
    assert!(log.contains("< Location: /page"), "{log}");
}

#[test]
fn curl_keeps_a_session_in_its_cookie_jar() {
    let site = SiteServer::start();
    let dir = std::env::temp_dir().join(format!("gyre-resource-jar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jar = dir.join("jar.txt");
    let jar = jar.to_str().unwrap();
    let _ = std::fs::remove_file(jar);
    for visit in 1..=3 {
        let output = curl(&["-c", jar, "-b", jar, &site.url("/counter")]);
        assert_eq!(text(&output.stdout), format!("visit {visit}\n"));
    }
    let saved = std::fs::read_to_string(jar).unwrap();
    assert!(saved.contains("GYRE_SESSION"), "{saved}");
    assert!(saved.contains("#HttpOnly_127.0.0.1"), "{saved}");
    assert_eq!(
        text(&curl(&["-c", jar, "-b", jar, &site.url("/logout")]).stdout),
        "session ended\n"
    );
    assert_eq!(
        text(&curl(&["-c", jar, "-b", jar, &site.url("/counter")]).stdout),
        "visit 1\n"
    );
    let fresh = curl(&[&site.url("/counter")]);
    assert_eq!(text(&fresh.stdout), "visit 1\n", "no cookie, a new session");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn curl_basic_auth_right_and_wrong() {
    let site = SiteServer::start();
    let right = curl(&["-u", "user:pass", &site.url("/private/")]);
    assert_eq!(text(&right.stdout), "welcome, user\n");
    assert_eq!(status(&["-u", "user:wrong", &site.url("/private/")]), "401");
    assert_eq!(status(&["-u", "nobody:pass", &site.url("/private/")]), "401");
    let challenge = curl(&["-i", &site.url("/private/")]);
    let answer = text(&challenge.stdout);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.contains("WWW-Authenticate: Basic realm=\"gyre example\""),
        "{answer}"
    );
}

#[test]
fn curl_decompresses_a_gzip_body() {
    let site = SiteServer::start();
    let output = curl(&["--compressed", "-v", &site.url("/big")]);
    assert_eq!(text(&output.stdout), big_body());
    let log = text(&output.stderr);
    assert!(log.contains("< Content-Encoding: gzip"), "{log}");
    assert!(log.contains("< Vary: Accept-Encoding"), "{log}");
    let plain = curl(&["-v", &site.url("/big")]);
    assert_eq!(text(&plain.stdout), big_body());
    assert!(!text(&plain.stderr).contains("Content-Encoding"));
}

#[test]
fn curl_picks_a_virtual_host_and_gets_405_with_allow() {
    let site = SiteServer::start();
    let other = curl(&["-H", "Host: other.example", &site.url("/")]);
    assert_eq!(text(&other.stdout), "the other host\n");
    let default = curl(&["-H", "Host: unknown.example", &site.url("/page")]);
    assert_eq!(text(&default.stdout), "a page\n");
    let refused = curl(&["-i", "-X", "DELETE", &site.url("/page")]);
    let answer = text(&refused.stdout);
    assert!(answer.starts_with("HTTP/1.1 405 Method Not Allowed"), "{answer}");
    assert!(answer.contains("Allow: GET, HEAD, OPTIONS\r\n"), "{answer}");
    assert_eq!(status(&[&site.url("/nowhere")]), "404");
}

fn python(script: &str, port: u16) -> String {
    require_program("python3", "python3");
    let output = run_to_end_of_input(
        Command::new("python3").args(["-c", script, &port.to_string()]),
        b"",
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const PYTHON_GZIP: &str = r#"
import gzip, http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
conn.request("GET", "/big", headers={"Accept-Encoding": "gzip"})
response = conn.getresponse()
raw = response.read()
body = gzip.decompress(raw).decode()
expected = "".join("line %d: gyre compresses this\n" % i for i in range(20000))
print(response.status, response.getheader("Content-Encoding"), body == expected, len(raw) < len(expected) // 10)
conn.request("HEAD", "/big", headers={"Accept-Encoding": "gzip"})
response = conn.getresponse()
print(response.status, response.getheader("Content-Encoding"), len(response.read()))
"#;

#[test]
fn python_http_client_decompresses_gzip() {
    let site = SiteServer::start();
    assert_eq!(python(PYTHON_GZIP, site.port), "200 gzip True True\n200 None 0\n");
}

const PYTHON_URLLIB: &str = r#"
import base64, http.cookiejar, sys, urllib.error, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
print([opener.open(base + "/counter", timeout=20).read().decode().strip() for _ in range(3)])
print([cookie.name for cookie in jar])
print(opener.open(base + "/old", timeout=20).read().decode().strip())
request = urllib.request.Request(base + "/private/")
request.add_header("Authorization", "Basic " + base64.b64encode(b"user:pass").decode())
print(urllib.request.urlopen(request, timeout=20).read().decode().strip())
try:
    urllib.request.urlopen(base + "/private/", timeout=20)
except urllib.error.HTTPError as error:
    print(error.code, error.headers["WWW-Authenticate"])
"#;

#[test]
fn python_urllib_keeps_a_session_follows_redirects_and_authenticates() {
    let site = SiteServer::start();
    let output = python(PYTHON_URLLIB, site.port);
    assert_eq!(
        output,
        "['visit 1', 'visit 2', 'visit 3']\n['GYRE_SESSION']\na page\nwelcome, user\n\
         401 Basic realm=\"gyre example\", charset=\"UTF-8\"\n"
    );
}
