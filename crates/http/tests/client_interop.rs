//! The client against real servers over 127.0.0.1: Python's `http.server`
//! (keep-alive reuse proven by the server's own connection count,
//! uploads fixed-length and chunked, chunked responses, gzip and deflate,
//! redirects, cookies), the same over TLS (Python's ssl module, a test CA:
//! the host name is verified and an unknown CA is refused), `openssl
//! s_server -www` (HTTP/1.0, body delimited by the close), Twisted web
//! serving static files gzip-encoded, and the `fetch` example.

use std::cell::RefCell;
use std::path::Path;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::{Deferred, Failure};
use gyre_endpoints::ThreadedResolver;
use gyre_http::client::{
    Agent, ContentDecoder, CookieAgent, CookieJar, EndpointConnector, HttpClient, PoolConfig, RedirectAgent,
    RequestBody, RequestUrl,
};
use gyre_http::{HeaderMap, Method};
use gyre_reactor::Reactor;
use gyre_testing::certs::TestCa;
use gyre_testing::peers::{KillOnDrop, peer_python, require_program, start_until};
use gyre_tls::TlsClientConfig;

const LIMIT: Duration = Duration::from_secs(60);

fn start(script: &str, args: &[&str], python: &Path) -> (KillOnDrop, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(script);
    let (child, line) = start_until(Command::new(python).arg(script).args(args), b"", "PORT ");
    (child, line["PORT ".len()..].parse().unwrap())
}

fn python3() -> std::path::PathBuf {
    require_program("python3", "python3");
    "python3".into()
}

fn agent(reactor: &Reactor, tls: TlsClientConfig) -> Agent {
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let connector = Rc::new(EndpointConnector::new(reactor.clone(), resolver, tls));
    Agent::builder(Rc::new(reactor.clone()), connector)
        .pool(PoolConfig::default())
        .build()
}

fn webpki() -> TlsClientConfig {
    TlsClientConfig::builder().webpki_roots().build().unwrap()
}

/// One request of a scenario: method, path, body.
type Step = (Method, &'static str, Option<RequestBody>);

/// Runs `steps` one after the other; each gives `STATUS BODY`.
fn run_steps(
    client: Rc<dyn HttpClient>,
    base: String,
    mut steps: Vec<Step>,
    mut done: Vec<String>,
) -> Deferred<Vec<String>> {
    if steps.is_empty() {
        return Deferred::succeed(done);
    }
    let (method, path, body) = steps.remove(0);
    let url = RequestUrl::parse(&format!("{base}{path}")).unwrap();
    let body = body.unwrap_or_else(RequestBody::empty);
    client
        .request(method, &url, HeaderMap::new(), body)
        .and_then(move |response| {
            let status = response.status.as_u16();
            response.read_body(4 << 20).and_then(move |data| {
                let text = if data.len() > 64 {
                    format!("{} bytes", data.len())
                } else {
                    String::from_utf8_lossy(&data).into_owned()
                };
                done.push(format!("{status} {text}"));
                run_steps(client, base, steps, done)
            })
        })
}

fn run(reactor: &Reactor, scenario: Deferred<Vec<String>>) -> Result<Vec<String>, Failure> {
    reactor.run_until(scenario.add_timeout(reactor, LIMIT))
}

#[test]
fn python_http_server_keep_alive_uploads_decoding_redirects_cookies() {
    let (_server, port) = start("client_peer_server.py", &[], &python3());
    let reactor = Reactor::new().unwrap();
    let jar = Rc::new(RefCell::new(CookieJar::new()));
    let stack: Rc<dyn HttpClient> = Rc::new(RedirectAgent::new(CookieAgent::new(
        ContentDecoder::new(agent(&reactor, webpki())),
        jar.clone(),
    )));
    let chunked = RequestBody::stream(None, |writer| {
        writer.write(b"streamed ").unwrap();
        writer.write(b"upload").unwrap();
        writer.finish().unwrap();
    });
    let steps: Vec<Step> = vec![
        (Method::GET, "/hello", None),
        (Method::HEAD, "/hello", None),
        (
            Method::POST,
            "/echo",
            Some(RequestBody::bytes(&b"fixed length"[..])),
        ),
        (Method::POST, "/echo", Some(chunked)),
        (Method::GET, "/chunked", None),
        (Method::GET, "/big", None),
        (Method::GET, "/gzip", None),
        (Method::GET, "/deflate", None),
        (Method::GET, "/redirect/3", None),
        (Method::POST, "/see-other", Some(RequestBody::bytes(&b"form"[..]))),
        (Method::GET, "/set-cookie", None),
        (Method::GET, "/show-cookie", None),
        (Method::GET, "/count", None),
    ];
    let base = format!("http://127.0.0.1:{port}");
    let answers = run(&reactor, run_steps(stack, base, steps, Vec::new())).unwrap();
    assert_eq!(
        answers,
        [
            "200 hello",
            "200 ",
            "200 POST 12 fixed length",
            "200 POST 15 streamed upload",
            "200 5007 bytes",
            "200 1000000 bytes",
            "200 8000 bytes",
            "200 9000 bytes",
            "200 GET 0 ",
            "200 GET 0 ",
            "200 ok",
            "200 flavour=oat",
            "200 1",
        ]
    );
    assert_eq!(jar.borrow().cookies().len(), 1);
}

#[test]
fn concurrent_requests_share_the_per_host_limit() {
    let (_server, port) = start("client_peer_server.py", &[], &python3());
    let reactor = Reactor::new().unwrap();
    let resolver = Rc::new(ThreadedResolver::new(reactor.clone()));
    let connector = Rc::new(EndpointConnector::new(reactor.clone(), resolver, webpki()));
    let pool = PoolConfig {
        max_per_host: 2,
        ..PoolConfig::default()
    };
    let agent = Rc::new(
        Agent::builder(Rc::new(reactor.clone()), connector)
            .pool(pool)
            .build(),
    );
    let requests: Vec<_> = (0..8)
        .map(|_| {
            agent
                .request_str(
                    Method::GET,
                    &format!("http://127.0.0.1:{port}/big"),
                    HeaderMap::new(),
                    RequestBody::empty(),
                )
                .and_then(|response| response.read_body(2 << 20))
        })
        .collect();
    let count_agent = agent.clone();
    let scenario = gyre_core::deferred::gather(requests).and_then(move |bodies| {
        assert!(bodies.iter().all(|body| body.len() == 1_000_000));
        count_agent
            .request_str(
                Method::GET,
                &format!("http://127.0.0.1:{port}/count"),
                HeaderMap::new(),
                RequestBody::empty(),
            )
            .and_then(|response| response.read_body(100))
            .map(|count| vec![String::from_utf8(count).unwrap()])
    });
    let count = run(&reactor, scenario).unwrap();
    assert_eq!(count, ["2"], "eight requests and the count over two connections");
}

#[test]
fn https_to_python_ssl_verifies_the_host_name_against_a_test_ca() {
    let dir = tempdir("https");
    let ca = TestCa::new("gyre client test CA");
    let (cert, key) = ca.server(&["localhost"]).write(&dir, "server");
    let ca_file = ca.write(&dir, "ca");
    let (_server, port) = start(
        "client_peer_server.py",
        &[cert.to_str().unwrap(), key.to_str().unwrap()],
        &python3(),
    );
    let trusted = TlsClientConfig::builder()
        .ca_file(&ca_file)
        .unwrap()
        .build()
        .unwrap();

    let reactor = Reactor::new().unwrap();
    let stack: Rc<dyn HttpClient> = Rc::new(ContentDecoder::new(agent(&reactor, trusted.clone())));
    let steps: Vec<Step> = vec![
        (Method::GET, "/hello", None),
        (Method::GET, "/gzip", None),
        (Method::POST, "/echo", Some(RequestBody::bytes(&b"secret"[..]))),
        (Method::GET, "/count", None),
    ];
    let answers = run(
        &reactor,
        run_steps(stack, format!("https://localhost:{port}"), steps, Vec::new()),
    )
    .unwrap();
    assert_eq!(
        answers,
        ["200 hello", "200 8000 bytes", "200 POST 6 secret", "200 1"]
    );

    // The certificate is for `localhost`, not 127.0.0.1: refused.
    let reactor = Reactor::new().unwrap();
    let stack: Rc<dyn HttpClient> = Rc::new(agent(&reactor, trusted));
    let steps: Vec<Step> = vec![(Method::GET, "/hello", None)];
    let wrong_name = run(
        &reactor,
        run_steps(stack, format!("https://127.0.0.1:{port}"), steps, Vec::new()),
    );
    assert!(wrong_name.is_err());

    // The default trust (webpki roots) does not know the test CA.
    let reactor = Reactor::new().unwrap();
    let stack: Rc<dyn HttpClient> = Rc::new(agent(&reactor, webpki()));
    let steps: Vec<Step> = vec![(Method::GET, "/hello", None)];
    let unknown_ca = run(
        &reactor,
        run_steps(stack, format!("https://localhost:{port}"), steps, Vec::new()),
    );
    assert!(unknown_ca.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn openssl_s_server_http_1_0_body_until_close() {
    require_program("openssl", "openssl");
    let dir = tempdir("s_server");
    let ca = TestCa::new("gyre s_server test CA");
    let (cert, key) = ca.server(&["localhost"]).write(&dir, "server");
    let ca_file = ca.write(&dir, "ca");
    let port = gyre_testing::peers::free_port();
    let (_server, _) = start_until(
        Command::new("openssl")
            .args(["s_server", "-www", "-accept", &port.to_string(), "-naccept", "4"])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key),
        b"",
        "ACCEPT",
    );
    let trusted = TlsClientConfig::builder()
        .ca_file(&ca_file)
        .unwrap()
        .build()
        .unwrap();
    let reactor = Reactor::new().unwrap();
    let agent = agent(&reactor, trusted);
    let url = format!("https://localhost:{port}/");
    let page = agent.request_str(Method::GET, &url, HeaderMap::new(), RequestBody::empty());
    let page = page.and_then(|response| {
        let head = format!("{:?} {}", response.version, response.status.as_u16());
        response
            .read_body(1 << 20)
            .map(move |body| vec![head, String::from_utf8_lossy(&body).into_owned()])
    });
    let page = run(&reactor, page).unwrap();
    assert_eq!(page[0], "HTTP/1.0 200");
    assert!(
        page[1].contains("Ciphers supported in s_server binary"),
        "{}",
        page[1]
    );
    assert!(
        page[1].trim_end().ends_with("</BODY></HTML>"),
        "the body read until the close: {}",
        page[1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn twisted_web_static_files_gzip_encoded() {
    let python = peer_python("twisted");
    let dir = tempdir("twisted");
    let content = "static content from Twisted\n".repeat(500);
    std::fs::write(dir.join("page.txt"), &content).unwrap();
    let (_server, port) = start("client_twisted_server.py", &[dir.to_str().unwrap()], &python);
    let reactor = Reactor::new().unwrap();
    let stack: Rc<dyn HttpClient> = Rc::new(ContentDecoder::new(agent(&reactor, webpki())));
    let steps: Vec<Step> = vec![
        (Method::GET, "/page.txt", None),
        (Method::GET, "/page.txt", None),
        (Method::GET, "/missing", None),
    ];
    let answers = run(
        &reactor,
        run_steps(stack, format!("http://127.0.0.1:{port}"), steps, Vec::new()),
    )
    .unwrap();
    assert_eq!(answers[0], format!("200 {} bytes", content.len()));
    assert_eq!(answers[1], answers[0]);
    assert!(answers[2].starts_with("404"), "{}", answers[2]);

    // Twisted did encode it: the same request without the decoder.
    let reactor = Reactor::new().unwrap();
    let mut headers = HeaderMap::new();
    headers.append("Accept-Encoding", "gzip").unwrap();
    let url = format!("http://127.0.0.1:{port}/page.txt");
    let raw = agent(&reactor, webpki()).request_str(Method::GET, &url, headers, RequestBody::empty());
    let raw = raw.and_then(|response| {
        let coding = response
            .headers
            .get_str("content-encoding")
            .unwrap_or("none")
            .to_owned();
        response
            .read_body(1 << 20)
            .map(move |body| vec![coding, body.len().to_string()])
    });
    let raw = run(&reactor, raw).unwrap();
    assert_eq!(raw[0], "gzip");
    assert!(raw[1].parse::<usize>().unwrap() < content.len() / 10, "{raw:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gyre-client-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
