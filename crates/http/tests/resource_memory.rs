//! The resource tree on in-memory transports: routing and path safety,
//! 404/405/OPTIONS/HEAD, virtual hosts, redirects, asynchronous rendering,
//! cookies, sessions expiring on a manual clock, Basic auth and gzip.

use std::cell::Cell;
use std::io::Read as _;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::{ClockExt, Deferred};
use gyre_http::resource::{
    BasicAuth, CredentialChecker, Data, ErrorPage, GzipEncoding, InMemoryChecker, NameVirtualHost, Node,
    Redirect, Resource, SESSION_COOKIE, SetCookie, Site, SiteRequest, Unauthorized,
};
use gyre_http::server::HttpServer;
use gyre_http::{Method, ResponseHead, StatusCode};
use gyre_testing::{ManualClock, StringTransportWithDisconnection, feed_chunked};

/// One parsed response.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses every response in `bytes` (Content-Length or chunked bodies;
/// `head_only` for answers to HEAD).
fn parse_answers(mut bytes: &[u8], head_only: &[bool]) -> Vec<Answer> {
    let mut answers = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head")
            + 4;
        let head = std::str::from_utf8(&bytes[..end - 4]).unwrap();
        bytes = &bytes[end..];
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap()[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.to_owned(), value.trim().to_owned())
            })
            .collect();
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        let no_body =
            head_only.get(answers.len()).copied().unwrap_or(false) || status == 204 || status == 304;
        if no_body {
        } else if answer.header("transfer-encoding") == Some("chunked") {
            loop {
                let line_end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
                let size =
                    usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap(), 16).unwrap();
                bytes = &bytes[line_end + 2..];
                if size == 0 {
                    bytes = &bytes[2..];
                    break;
                }
                answer.body.extend_from_slice(&bytes[..size]);
                bytes = &bytes[size + 2..];
            }
        } else if let Some(length) = answer.header("content-length") {
            let length: usize = length.parse().unwrap();
            answer.body = bytes[..length].to_vec();
            bytes = &bytes[length..];
        }
        answers.push(answer);
    }
    answers
}

fn serve(clock: &ManualClock, root: Rc<dyn Resource>) -> (HttpServer, Site) {
    let clock: Rc<ManualClock> = Rc::new(clock.clone());
    let site = Site::new(clock.clone(), root.clone());
    let sessions = site.sessions().clone();
    let server = HttpServer::new(clock.clone(), Site::new(clock, root).with_sessions(sessions));
    (server, site)
}

/// Sends `request` on a fresh connection and parses the one answer.
fn ask(server: &HttpServer, request: &str) -> Answer {
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(request.as_bytes());
    let head_only = request.starts_with("HEAD ");
    parse_answers(&connection.transport().take(), &[head_only])
        .pop()
        .expect("an answer")
}

fn get(server: &HttpServer, path: &str) -> Answer {
    ask(server, &format!("GET {path} HTTP/1.1\r\nHost: example\r\n\r\n"))
}

fn text(body: &str) -> impl Fn(&SiteRequest, gyre_http::resource::Reply) + 'static {
    let body = body.to_owned();
    move |_, reply| reply.send(StatusCode::OK, "text/plain", body.as_bytes()).unwrap()
}

/// Echoes where the walk ended: prepath | postpath.
struct Echo;

impl Resource for Echo {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render(&self, request: &SiteRequest, reply: gyre_http::resource::Reply) {
        let line = format!("{:?} {:?}", request.prepath(), request.postpath());
        reply.send(StatusCode::OK, "text/plain", line.as_bytes()).unwrap();
    }
}

fn tree() -> Rc<dyn Resource> {
    let docs = Node::new()
        .on(Method::GET, text("docs"))
        .with_child("", Rc::new(Data::new(b"docs index".to_vec(), "text/plain")))
        .with_child("a/b", Rc::new(Data::new(b"slashed".to_vec(), "text/plain")));
    let root = Node::new()
        .on(Method::GET, text("root"))
        .on(Method::POST, text("posted"))
        .with_child("docs", Rc::new(docs))
        .with_child("leaf", Rc::new(Echo))
        .with_child("plain", Rc::new(Node::new().on(Method::GET, text("plain"))));
    Rc::new(root)
}

#[test]
fn routing_walks_segments_leaves_and_trailing_slashes() {
    let clock = ManualClock::new();
    let (server, _) = serve(&clock, tree());
    assert_eq!(get(&server, "/").text(), "root");
    assert_eq!(get(&server, "/docs").text(), "docs");
    assert_eq!(
        get(&server, "/docs/").text(),
        "docs index",
        "the \"\" child answers a trailing slash"
    );
    assert_eq!(
        get(&server, "/plain/").text(),
        "plain",
        "no \"\" child: the resource itself"
    );
    assert_eq!(
        get(&server, "/docs/a%2Fb").text(),
        "slashed",
        "an encoded slash stays in its segment"
    );
    assert_eq!(
        get(&server, "/leaf/x/y%20z?q=1").text(),
        r#"["leaf"] ["x", "y z"]"#
    );
    assert_eq!(get(&server, "/docs/../leaf/./x").text(), r#"["leaf"] ["x"]"#);
    let missing = get(&server, "/docs/nope");
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("No Such Resource"));
    assert_eq!(get(&server, "/plain/deeper").status, 404);
    for refused in ["/../etc/passwd", "/docs/%2e%2e/x", "/a%00b", "/%zz", "/%ff"] {
        assert_eq!(get(&server, refused).status, 400, "{refused}");
    }
    let absolute = ask(
        &server,
        "GET http://example/docs HTTP/1.1\r\nHost: example\r\n\r\n",
    );
    assert_eq!(absolute.text(), "docs");
}

#[test]
fn pipelined_requests_route_the_same_at_every_chunk_size() {
    let clock = ManualClock::new();
    let (server, _) = serve(&clock, tree());
    let input = b"GET /docs/ HTTP/1.1\r\nHost: h\r\n\r\n\
        POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
        DELETE /plain HTTP/1.1\r\nHost: h\r\n\r\n\
        GET /nope HTTP/1.1\r\nHost: h\r\n\r\n";
    let run = feed_chunked(|| server.protocol(), input);
    let answers = parse_answers(&run.written, &[]);
    let summary: Vec<(u16, String)> = answers.iter().map(|a| (a.status, a.text())).collect();
    assert_eq!(summary[0], (200, "docs index".into()));
    assert_eq!(summary[1], (200, "posted".into()));
    assert_eq!(summary[2].0, 405);
    assert_eq!(summary[3].0, 404);
}

#[test]
fn unknown_methods_get_405_with_allow_and_options_lists_them() {
    let clock = ManualClock::new();
    let (server, _) = serve(&clock, tree());
    let refused = ask(&server, "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
    let options = ask(&server, "OPTIONS /plain HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(options.status, 204);
    assert_eq!(options.header("allow"), Some("GET, HEAD, OPTIONS"));
    let star = ask(&server, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        (star.status, star.header("allow")),
        (204, Some("GET, POST, HEAD, OPTIONS"))
    );
    let data = ask(
        &server,
        "PUT /docs/ HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(
        (data.status, data.header("allow")),
        (405, Some("GET, HEAD, OPTIONS"))
    );
}

#[test]
fn head_is_answered_by_get_without_the_body() {
    let clock = ManualClock::new();
    let (server, _) = serve(&clock, tree());
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(b"HEAD /docs HTTP/1.1\r\nHost: h\r\n\r\nGET /docs HTTP/1.1\r\nHost: h\r\n\r\n");
    let bytes = connection.transport().take();
    let answers = parse_answers(&bytes, &[true, false]);
    assert_eq!(answers[0].status, 200);
    assert_eq!(answers[0].header("content-length"), Some("4"));
    assert!(answers[0].body.is_empty());
    assert_eq!(answers[1].text(), "docs", "the HEAD answer carried no body bytes");
}

#[test]
fn virtual_hosts_pick_a_tree_by_host_header() {
    let clock = ManualClock::new();
    let a = Node::new()
        .on(Method::GET, text("site a"))
        .with_child("x", Rc::new(Echo));
    let vhosts = NameVirtualHost::new()
        .with_host("a.example", Rc::new(a))
        .with_host("B.example", Rc::new(Node::new().on(Method::GET, text("site b"))))
        .with_default(Rc::new(Node::new().on(Method::GET, text("default"))));
    let (server, _) = serve(&clock, Rc::new(vhosts));
    let host = |host: &str, path: &str| ask(&server, &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"));
    assert_eq!(host("a.example", "/").text(), "site a");
    assert_eq!(host("A.EXAMPLE:8080", "/").text(), "site a");
    assert_eq!(host("a.example", "/x/y").text(), r#"["x"] ["y"]"#);
    assert_eq!(host("b.example", "/").text(), "site b");
    assert_eq!(host("b.example.:80", "/").text(), "site b");
    assert_eq!(host("other", "/").text(), "default");
    let only = NameVirtualHost::new().with_host("a.example", Rc::new(Echo));
    let (server, _) = serve(&clock, Rc::new(only));
    assert_eq!(ask(&server, "GET / HTTP/1.1\r\nHost: zzz\r\n\r\n").status, 404);
    assert_eq!(
        ask(&server, "GET / HTTP/1.0\r\n\r\n").status,
        404,
        "no Host and no default"
    );
}

#[test]
fn redirects_send_their_status_and_location() {
    let clock = ManualClock::new();
    let root = Node::new();
    for code in [301, 302, 303, 307, 308] {
        let redirect = Redirect::new(StatusCode::new(code).unwrap(), "/target?a=<b>").unwrap();
        root.put_child(&code.to_string(), Rc::new(redirect));
    }
    let (server, _) = serve(&clock, Rc::new(root));
    for code in [301, 302, 303, 307, 308] {
        let answer = get(&server, &format!("/{code}/below"));
        assert_eq!(answer.status, code);
        assert_eq!(answer.header("location"), Some("/target?a=<b>"));
        assert!(
            answer.text().contains("/target?a=&lt;b&gt;"),
            "escaped in the HTML"
        );
    }
    assert!(Redirect::new(StatusCode::OK, "/x").is_none());
    assert!(Redirect::found("/x\r\nSet-Cookie: a=b").is_none());
    assert!(Redirect::found("").is_none());
    assert!(Redirect::found("/a b").is_none());
    assert!(Redirect::found("/é").is_none());
}

#[test]
fn rendering_may_finish_later_from_a_timer() {
    let clock = ManualClock::new();
    let timer_clock = clock.clone();
    let root = Node::new().on(Method::GET, move |request, reply| {
        let request = request.clone();
        timer_clock.call_later(Duration::from_secs(2), move || {
            let body = format!("late {:?}", request.postpath());
            reply.send(StatusCode::OK, "text/plain", body.as_bytes()).unwrap();
        });
    });
    let (server, _) = serve(&clock, Rc::new(root));
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(connection.transport().take().is_empty());
    clock.advance(Duration::from_secs(2));
    let answers = parse_answers(&connection.transport().take(), &[]);
    assert_eq!(answers[0].text(), "late []");
}

#[test]
fn cookies_are_read_and_set() {
    let clock = ManualClock::new();
    let root = Node::new().on(Method::GET, |request, reply| {
        let seen = format!("{:?} {:?}", request.cookie("b"), request.cookies().len());
        let cookie = SetCookie::new("theme", "dark")
            .unwrap()
            .path("/")
            .unwrap()
            .http_only();
        reply.add_cookie(&cookie).unwrap();
        reply.send(StatusCode::OK, "text/plain", seen.as_bytes()).unwrap();
    });
    let (server, _) = serve(&clock, Rc::new(root));
    let answer = ask(
        &server,
        "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=\"2\"\r\nCookie: c=3\r\n\r\n",
    );
    assert_eq!(answer.text(), "Some(\"2\") 3");
    assert_eq!(answer.header("set-cookie"), Some("theme=dark; Path=/; HttpOnly"));
}

/// A visit counter in the session, `/logout` expires it.
fn counter_tree(expired: Rc<Cell<u32>>) -> Rc<dyn Resource> {
    let logout = Node::new().on(Method::GET, |request, reply| {
        request.session(&reply).expire();
        reply.send(StatusCode::OK, "text/plain", b"bye").unwrap();
    });
    let root = Node::new()
        .on(Method::GET, move |request, reply| {
            let session = request.session(&reply);
            let count = session.get_or_insert_with(|| Cell::new(0u32));
            count.set(count.get() + 1);
            let expired = expired.clone();
            if count.get() == 1 {
                session.notify_on_expire(move || expired.set(expired.get() + 1));
            }
            reply
                .send(StatusCode::OK, "text/plain", count.get().to_string().as_bytes())
                .unwrap();
        })
        .with_child("logout", Rc::new(logout));
    Rc::new(root)
}

fn with_cookie(server: &HttpServer, path: &str, cookie: &str) -> Answer {
    ask(
        server,
        &format!("GET {path} HTTP/1.1\r\nHost: h\r\nCookie: {cookie}\r\n\r\n"),
    )
}

#[test]
fn sessions_count_visits_and_expire_after_inactivity_on_the_clock() {
    let clock = ManualClock::new();
    let expired = Rc::new(Cell::new(0));
    let (server, site) = serve(&clock, counter_tree(expired.clone()));
    let first = get(&server, "/");
    assert_eq!(first.text(), "1");
    let set = first.header("set-cookie").unwrap().to_owned();
    assert!(set.ends_with("; Path=/; HttpOnly; SameSite=Lax"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let id = cookie.strip_prefix(&format!("{SESSION_COOKIE}=")).unwrap();
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(
        get(&server, "/").header("set-cookie"),
        Some(set.as_str()),
        "ids are random"
    );
    assert_eq!(site.sessions().len(), 2);

    // Used every 14 minutes, the session lives on.
    for visit in 2..5 {
        clock.advance(Duration::from_secs(14 * 60));
        let answer = with_cookie(&server, "/", &cookie);
        assert_eq!(answer.text(), visit.to_string());
        assert_eq!(answer.header("set-cookie"), None);
    }
    assert_eq!(site.sessions().len(), 1, "the unused second session expired");
    // 15 minutes without use: gone, a new session starts.
    clock.advance(Duration::from_secs(15 * 60));
    assert_eq!(expired.get(), 2);
    assert!(site.sessions().is_empty());
    let fresh = with_cookie(&server, "/", &cookie);
    assert_eq!(fresh.text(), "1");
    assert!(fresh.header("set-cookie").is_some());
}

#[test]
fn sessions_expire_explicitly() {
    let clock = ManualClock::new();
    let expired = Rc::new(Cell::new(0));
    let (server, site) = serve(&clock, counter_tree(expired.clone()));
    let first = get(&server, "/");
    let cookie = first
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(with_cookie(&server, "/logout", &cookie).text(), "bye");
    assert_eq!((expired.get(), site.sessions().len()), (1, 0));
    assert_eq!(with_cookie(&server, "/", &cookie).text(), "1");
    assert_eq!(with_cookie(&server, "/", "GYRE_SESSION=forged; x=y").text(), "1");
}

/// Answers only after the clock advances, like a database would.
struct SlowChecker {
    clock: ManualClock,
    inner: InMemoryChecker,
}

impl CredentialChecker for SlowChecker {
    fn check(&self, username: &str, password: &str) -> Deferred<String> {
        let (later, resolver) = Deferred::new();
        let result = self.inner.check(username, password);
        self.clock.call_later(Duration::from_secs(1), move || {
            result.add_both(move |outcome| {
                resolver.fire(outcome);
                Ok::<String, gyre_core::Failure>(String::new())
            });
        });
        later
    }
}

struct Broken;

impl CredentialChecker for Broken {
    fn check(&self, _: &str, _: &str) -> Deferred<String> {
        Deferred::fail(gyre_core::Failure::msg("database down"))
    }
}

fn authorization(user: &str, password: &str) -> String {
    format!("Basic {}", encode_base64(format!("{user}:{password}").as_bytes()))
}

fn encode_base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let value = chunk
            .iter()
            .enumerate()
            .fold(0u32, |v, (i, b)| v | u32::from(*b) << (16 - 8 * i));
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(ALPHABET[(value >> (18 - 6 * index) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn whoami() -> Rc<dyn Resource> {
    let secret = Node::new().on(Method::GET, |request, reply| {
        let body = format!("hello {} at {:?}", request.user().unwrap(), request.postpath());
        reply.send(StatusCode::OK, "text/plain", body.as_bytes()).unwrap();
    });
    Rc::new(Node::new().with_child("deep", Rc::new(secret)))
}

#[test]
fn basic_auth_challenges_refuses_and_lets_in() {
    let clock = ManualClock::new();
    let checker = InMemoryChecker::new().with_user("alice", "s3cret:with colon");
    let guarded = BasicAuth::new("the \"vault\"", Rc::new(checker), whoami());
    let (server, _) = serve(&clock, Rc::new(Node::new().with_child("vault", Rc::new(guarded))));
    let challenge = get(&server, "/vault/deep");
    assert_eq!(challenge.status, 401);
    assert_eq!(
        challenge.header("www-authenticate"),
        Some(r#"Basic realm="the \"vault\"", charset="UTF-8""#)
    );
    let try_with = |value: &str| {
        ask(
            &server,
            &format!("GET /vault/deep HTTP/1.1\r\nHost: h\r\nAuthorization: {value}\r\n\r\n"),
        )
    };
    assert_eq!(try_with(&authorization("alice", "wrong")).status, 401);
    assert_eq!(try_with(&authorization("bob", "s3cret:with colon")).status, 401);
    assert_eq!(try_with("Basic !!!").status, 401);
    assert_eq!(try_with("Bearer abc").status, 401);
    let welcome = try_with(&authorization("alice", "s3cret:with colon"));
    assert_eq!(
        (welcome.status, welcome.text()),
        (200, "hello alice at []".into())
    );
    let lower = try_with(&format!("basic {}", encode_base64(b"alice:s3cret:with colon")));
    assert_eq!(lower.status, 200);
    assert_eq!(try_with(&authorization("alice", "s3cret:with colon")).status, 200);
}

#[test]
fn basic_auth_waits_for_an_asynchronous_checker() {
    let clock = ManualClock::new();
    let checker = SlowChecker {
        clock: clock.clone(),
        inner: InMemoryChecker::new().with_user("u", "p"),
    };
    let guarded = BasicAuth::new("r", Rc::new(checker), whoami());
    let (server, _) = serve(&clock, Rc::new(guarded));
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    let request = format!(
        "GET /deep/ HTTP/1.1\r\nHost: h\r\nAuthorization: {}\r\n\r\nGET /deep HTTP/1.1\r\nHost: h\r\nAuthorization: {}\r\n\r\n",
        authorization("u", "p"),
        authorization("u", "bad")
    );
    connection.data_received(request.as_bytes());
    assert!(
        connection.transport().take().is_empty(),
        "nothing before the checker answers"
    );
    clock.advance(Duration::from_secs(1));
    clock.advance(Duration::from_secs(1));
    let answers = parse_answers(&connection.transport().take(), &[]);
    assert_eq!(answers[0].text(), "hello u at []");
    assert_eq!(answers[1].status, 401);

    let (broken, _) = serve(&clock, Rc::new(BasicAuth::new("r", Rc::new(Broken), whoami())));
    let answer = ask(
        &broken,
        &format!(
            "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: {}\r\n\r\n",
            authorization("a", "b")
        ),
    );
    assert_eq!(answer.status, 500);
    let refused = gyre_testing::failure_result_of(InMemoryChecker::new().check("a", "b"));
    assert!(
        refused.is::<Unauthorized>(),
        "wrong credentials fail with Unauthorized"
    );
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

/// A body written in pieces over time, to check gzip streams.
fn big_body() -> Vec<u8> {
    (0..200_000u32)
        .flat_map(|i| format!("line {i} of the body\n").into_bytes())
        .collect()
}

fn gzip_tree(clock: &ManualClock) -> Rc<dyn Resource> {
    let timer_clock = clock.clone();
    let stream = Node::new().on(Method::GET, move |_, reply| {
        reply.send_head(ResponseHead::new(StatusCode::OK)).unwrap();
        let body = big_body();
        for (index, piece) in body.chunks(64 * 1024).enumerate() {
            let (reply, piece) = (reply.clone(), piece.to_vec());
            timer_clock.call_later(Duration::from_secs(index as u64 + 1), move || {
                reply.write(&piece).unwrap()
            });
        }
        timer_clock.call_later(Duration::from_secs(1000), move || reply.finish().unwrap());
    });
    let encoded = Node::new().on(Method::GET, |_, reply| {
        let mut head = ResponseHead::new(StatusCode::OK);
        head.headers.append("Content-Encoding", "br").unwrap();
        head.headers.append("Content-Length", "1000").unwrap();
        reply.send_head(head).unwrap();
        reply.write(&[7; 1000]).unwrap();
        reply.finish().unwrap();
    });
    let empty = Node::new().on(Method::GET, |_, reply| {
        reply
            .send_head(ResponseHead::new(StatusCode::NO_CONTENT))
            .unwrap();
        reply.finish().unwrap();
    });
    let root = Node::new()
        .with_child("page", Rc::new(Data::new(vec![b'a'; 10_000], "text/plain")))
        .with_child("tiny", Rc::new(Data::new(b"tiny".to_vec(), "text/plain")))
        .with_child("stream", Rc::new(stream))
        .with_child("encoded", Rc::new(encoded))
        .with_child("empty", Rc::new(empty))
        .with_child("missing", Rc::new(ErrorPage::not_found()));
    Rc::new(GzipEncoding::new(Rc::new(root)))
}

fn gzip_ask(server: &HttpServer, method: &str, path: &str, accept: &str) -> Answer {
    ask(
        server,
        &format!("{method} {path} HTTP/1.1\r\nHost: h\r\nAccept-Encoding: {accept}\r\n\r\n"),
    )
}

#[test]
fn gzip_compresses_for_clients_that_accept_it() {
    let clock = ManualClock::new();
    let (server, _) = serve(&clock, gzip_tree(&clock));
    let answer = gzip_ask(&server, "GET", "/page", "deflate, gzip;q=0.8");
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
    assert_eq!(answer.header("vary"), Some("Accept-Encoding"));
    assert_eq!(answer.header("content-length"), None);
    assert!(answer.body.len() < 200);
    assert_eq!(gunzip(&answer.body), vec![b'a'; 10_000]);

    for refused in ["identity", "gzip;q=0", "*;q=0, br", ""] {
        let plain = gzip_ask(&server, "GET", "/page", refused);
        assert_eq!(plain.header("content-encoding"), None, "{refused}");
        assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
        assert_eq!(plain.body.len(), 10_000);
    }
    assert_eq!(
        gzip_ask(&server, "GET", "/page", "*").header("content-encoding"),
        Some("gzip")
    );
}

#[test]
fn gzip_leaves_head_tiny_encoded_and_empty_answers_alone() {
    let clock = ManualClock::new();
    let (server, _) = serve(&clock, gzip_tree(&clock));
    let head = gzip_ask(&server, "HEAD", "/page", "gzip");
    assert_eq!(
        (head.header("content-encoding"), head.header("content-length")),
        (None, Some("10000"))
    );
    let tiny = gzip_ask(&server, "GET", "/tiny", "gzip");
    assert_eq!(
        (tiny.header("content-encoding"), tiny.text()),
        (None, "tiny".into())
    );
    let encoded = gzip_ask(&server, "GET", "/encoded", "gzip");
    assert_eq!(encoded.header("content-encoding"), Some("br"));
    assert_eq!(encoded.body, vec![7; 1000]);
    let empty = gzip_ask(&server, "GET", "/empty", "gzip");
    assert_eq!((empty.status, empty.header("content-encoding")), (204, None));
    let missing = gzip_ask(&server, "GET", "/missing", "gzip");
    assert_eq!((missing.status, missing.header("content-encoding")), (404, None));
}

#[test]
fn gzip_streams_pieces_as_they_are_written() {
    let clock = ManualClock::new();
    let (server, _) = serve(&clock, gzip_tree(&clock));
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(b"GET /stream HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    let mut received = connection.transport().take();
    let body = big_body();
    let pieces = body.len().div_ceil(64 * 1024);
    let mut grew = 0;
    for _ in 0..pieces {
        clock.advance(Duration::from_secs(1));
        let more = connection.transport().take();
        grew += usize::from(!more.is_empty());
        received.extend(more);
    }
    assert!(
        grew >= pieces / 4,
        "compressed output went out while writing ({grew} of {pieces})"
    );
    let before_finish = received.len();
    clock.advance(Duration::from_secs(1000));
    received.extend(connection.transport().take());
    assert!(
        before_finish * 2 > received.len(),
        "most of the body left before the end: {before_finish} of {}",
        received.len()
    );
    let answer = parse_answers(&received, &[]).pop().unwrap();
    assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
    assert_eq!(gunzip(&answer.body), body);
}

#[test]
fn deferred_resources_continue_the_walk_when_they_fire() {
    use gyre_http::resource::DeferredResource;
    let clock = ManualClock::new();
    let timer_clock = clock.clone();
    let later = DeferredResource::new(move |request| {
        let (found, resolver) = Deferred::new();
        let fail = request
            .postpath()
            .first()
            .is_some_and(|segment| segment == "fail");
        timer_clock.call_later(Duration::from_secs(5), move || {
            if fail {
                resolver.errback(gyre_core::Failure::msg("backend down"));
            } else {
                let tree: Rc<dyn Resource> = Rc::new(Node::new().with_child("x", Rc::new(Echo)));
                resolver.callback(tree);
            }
        });
        found
    });
    let (server, _) = serve(&clock, Rc::new(Node::new().with_child("later", Rc::new(later))));
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(
        b"GET /later/x/y HTTP/1.1\r\nHost: h\r\n\r\nGET /later/fail HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert!(connection.transport().take().is_empty());
    clock.advance(Duration::from_secs(5));
    clock.advance(Duration::from_secs(5));
    let answers = parse_answers(&connection.transport().take(), &[]);
    assert_eq!(answers[0].text(), r#"["later", "x"] ["y"]"#);
    assert_eq!(answers[1].status, 500);
}

#[test]
fn the_session_store_is_bounded_and_evicts_the_oldest() {
    use gyre_http::resource::SessionStore;
    let clock = ManualClock::new();
    let store = SessionStore::with_limit(Rc::new(clock.clone()), Duration::from_secs(60), 3);
    let sessions: Vec<_> = (0..10).map(|_| store.create()).collect();
    assert_eq!(store.len(), 3);
    assert!(sessions[..7].iter().all(|session| session.is_expired()));
    assert!(sessions[7..].iter().all(|session| !session.is_expired()));
    assert!(store.lookup(sessions[0].id()).is_none());
    assert_eq!(store.lookup(sessions[9].id()).unwrap().id(), sessions[9].id());
    sessions[8].expire();
    let next = store.create();
    assert_eq!(store.len(), 3, "room was made by the explicit expiry");
    assert!(!sessions[7].is_expired() && !next.is_expired());
    clock.advance(Duration::from_secs(60));
    assert!(store.is_empty());
}

/// A pull producer writing numbered lines through a reply, one piece per
/// request for more.
struct Lines {
    reply: gyre_http::resource::Reply,
    next: Cell<u32>,
}

impl gyre_core::producer::PullProducer for Lines {
    fn resume_producing(&self) {
        let next = self.next.get();
        if next == 40 {
            self.reply.finish().unwrap();
            return;
        }
        self.next.set(next + 1);
        let piece: String = (0..500).map(|i| format!("{next}:{i}\n")).collect();
        self.reply.write(piece.as_bytes()).unwrap();
    }
    fn stop_producing(&self) {}
}

#[test]
fn a_producer_streams_through_the_gzip_wrapper_as_the_client_reads() {
    let clock = ManualClock::new();
    let finished = Rc::new(Cell::new(false));
    let seen = finished.clone();
    let lines = Node::new().on(Method::GET, move |_, reply| {
        reply.send_head(ResponseHead::new(StatusCode::OK)).unwrap();
        let seen = seen.clone();
        reply.notify_finish().add_callback(move |()| {
            seen.set(true);
            Ok::<(), gyre_core::Failure>(())
        });
        let producer = Rc::new(Lines {
            reply: reply.clone(),
            next: Cell::new(0),
        });
        reply
            .register_producer(gyre_core::producer::Producer::Pull(producer))
            .unwrap();
    });
    let (server, _) = serve(&clock, Rc::new(GzipEncoding::new(Rc::new(lines))));
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(b"GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    let mut received = Vec::new();
    for _ in 0..60 {
        received.extend(connection.transport().take());
    }
    assert!(finished.get(), "the producer finished the response");
    assert!(
        connection.transport().producer().is_none(),
        "unregistered when finished"
    );
    let answer = parse_answers(&received, &[]).pop().unwrap();
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
    let expected: String = (0..40)
        .flat_map(|n| (0..500).map(move |i| format!("{n}:{i}\n")))
        .collect();
    assert_eq!(gunzip(&answer.body), expected.into_bytes());
}

#[test]
fn static_files_mounted_in_the_tree_serve_below_their_mount_point() {
    let dir = std::env::temp_dir().join(format!("gyre-resource-static-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let content: String = (0..200).map(|i| format!("line {i}\n")).collect();
    std::fs::write(dir.join("sub/a.txt"), &content).unwrap();
    let files = gyre_http::static_files::StaticFiles::new(&dir);
    let root = Node::new()
        .with_child("files", Rc::new(GzipEncoding::new(Rc::new(files))))
        .on(Method::GET, text("root"));
    let clock = ManualClock::new();
    let (server, _) = serve(&clock, Rc::new(root));

    let plain = get(&server, "/files/sub/a.txt");
    assert_eq!((plain.status, plain.text()), (200, content.clone()));
    assert!(plain.header("etag").is_some() && plain.header("last-modified").is_some());
    // Through the gzip wrapper, like any resource.
    let zipped = gzip_ask(&server, "GET", "/files/sub/a.txt", "gzip");
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&zipped.body), content.as_bytes());
    // Ranges are left alone by gzip and answered by the file resource.
    let range = ask(
        &server,
        "GET /files/sub/a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-5\r\n\r\n",
    );
    assert_eq!((range.status, range.text()), (206, "line 0".to_owned()));
    // Directories below the mount point: the redirect keeps the full path.
    let redirect = get(&server, "/files/sub");
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.header("location"), Some("/files/sub/"));
    let listing = get(&server, "/files/sub/");
    assert!(
        listing.status == 200 && listing.text().contains("a.txt"),
        "{}",
        listing.text()
    );
    // `..` cannot climb out of the mount point into the rest of the tree's files.
    assert_eq!(get(&server, "/files/sub/../../etc/passwd").status, 404);
    assert_eq!(get(&server, "/files/missing").status, 404);
    std::fs::remove_dir_all(&dir).unwrap();
}
