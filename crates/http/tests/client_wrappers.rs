//! Redirects and cookies in memory: every redirect status with the
//! browser method rules, relative Location, loops and the limit,
//! credentials dropped across origins, and cookies set by one response
//! and sent with the next (through redirects too).

mod client_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::SystemTime;

use client_support::{MemNet, Routed, answer};
use gyre_http::client::{
    Agent, ClientError, CookieAgent, CookieJar, HttpClient, RedirectAgent, RequestBody, RequestUrl, Response,
};
use gyre_http::{HeaderMap, Method, StatusCode};
use gyre_testing::{ManualClock, failure_result_of, success_result_of};

type Log = Rc<RefCell<Vec<String>>>;

/// Routes by host and request line: `/r/STATUS/TARGET` redirects with
/// STATUS to TARGET (rest of the path), `/loop` to itself, `/cookie` sets
/// cookies, anything else answers 200 with the method.
fn net(log: &Log) -> Rc<MemNet> {
    let log = log.clone();
    MemNet::new(move |_| {
        let route: client_support::Route = Rc::new(|head: &str| {
            let line = head.lines().next().unwrap_or_default();
            let target = line.split(' ').nth(1).unwrap_or_default();
            if let Some(rest) = target.strip_prefix("/r/") {
                let (status, location) = rest.split_once('/').unwrap();
                let location = location.replace("%3A", ":").replace("%2F", "/");
                return answer(status.parse().unwrap(), &[("Location", &location)], "moved");
            }
            match target {
                "/loop" => answer(302, &[("Location", "/loop")], ""),
                "/cookie" => {
                    let headers = [
                        ("Set-Cookie", "a=1; Path=/"),
                        ("Set-Cookie", "b=2; Domain=example.com; Path=/"),
                    ];
                    answer(200, &headers, "set")
                }
                "/cookie-redirect" => answer(302, &[("Set-Cookie", "r=3"), ("Location", "/plain")], ""),
                _ => answer(200, &[], line.split(' ').next().unwrap_or_default()),
            }
        });
        Box::new(Routed::new(route, log.clone()))
    })
}

fn redirecting(net: &Rc<MemNet>) -> RedirectAgent<Agent> {
    RedirectAgent::new(Agent::builder(Rc::new(ManualClock::new()), net.clone()).build())
}

fn send(
    client: &impl HttpClient,
    net: &MemNet,
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: RequestBody,
) -> gyre_core::Deferred<Response> {
    let response = client.request(method, &RequestUrl::parse(url).unwrap(), headers, body);
    net.pump();
    response
}

fn text(net: &MemNet, response: Response) -> String {
    let body = response.read_body(1 << 16);
    net.pump();
    String::from_utf8(success_result_of(body)).unwrap()
}

fn request_lines(log: &Log) -> Vec<String> {
    log.borrow()
        .iter()
        .map(|entry| entry.lines().next().unwrap().to_owned())
        .collect()
}

#[test]
fn redirect_statuses_follow_browser_method_rules() {
    let cases = [
        (301, Method::POST, "GET /plain HTTP/1.1", ""),
        (302, Method::POST, "GET /plain HTTP/1.1", ""),
        (303, Method::POST, "GET /plain HTTP/1.1", ""),
        (303, Method::PUT, "GET /plain HTTP/1.1", ""),
        (302, Method::PUT, "PUT /plain HTTP/1.1", "data"),
        (307, Method::POST, "POST /plain HTTP/1.1", "data"),
        (308, Method::PUT, "PUT /plain HTTP/1.1", "data"),
    ];
    for (status, method, expected, body) in cases {
        let log = Log::default();
        let net = net(&log);
        let agent = redirecting(&net);
        let url = format!("http://example.com/r/{status}/%2Fplain");
        let response = send(
            &agent,
            &net,
            method.clone(),
            &url,
            HeaderMap::new(),
            RequestBody::bytes(&b"data"[..]),
        );
        let response = success_result_of(response);
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.url, "http://example.com/plain");
        let second = log.borrow()[1].clone();
        assert!(second.starts_with(expected), "{status} {method}: {second}");
        assert!(
            second.ends_with(&format!("\r\n\r\n{body}")),
            "{status} {method}: {second}"
        );
        if body.is_empty() {
            assert!(!second.contains("Content-Length"), "{second}");
        }
        assert_eq!(net.connections(), 1, "the redirect's connection is reused");
    }
}

#[test]
fn unreplayable_bodies_are_not_resent_and_the_redirect_is_returned() {
    let log = Log::default();
    let net = net(&log);
    let agent = redirecting(&net);
    let body = RequestBody::stream(Some(4), |writer| {
        writer.write(b"data").unwrap();
        writer.finish().unwrap();
    });
    let response = send(
        &agent,
        &net,
        Method::POST,
        "http://example.com/r/307/%2Fplain",
        HeaderMap::new(),
        body,
    );
    assert_eq!(success_result_of(response).status.as_u16(), 307);
    assert_eq!(log.borrow().len(), 1);
}

#[test]
fn relative_and_absolute_locations_resolve_against_the_answering_url() {
    let log = Log::default();
    let net = net(&log);
    let agent = redirecting(&net);
    // Location `../../plain` from /r/302/…: up from /r/302/ to /plain.
    let response = send(
        &agent,
        &net,
        Method::GET,
        "http://example.com/r/302/..%2F..%2Fplain",
        HeaderMap::new(),
        RequestBody::empty(),
    );
    let response = success_result_of(response);
    assert_eq!(response.url, "http://example.com/plain");
    let response = send(
        &agent,
        &net,
        Method::GET,
        "http://example.com/r/302/http%3A%2F%2Fother.example%3A81%2Fx?y=1",
        HeaderMap::new(),
        RequestBody::empty(),
    );
    assert_eq!(success_result_of(response).url, "http://other.example:81/x?y=1");
    let lines = request_lines(&log);
    assert_eq!(lines.last().unwrap(), "GET /x?y=1 HTTP/1.1");
    assert!(
        log.borrow()
            .last()
            .unwrap()
            .contains("Host: other.example:81\r\n")
    );
}

#[test]
fn loops_and_the_limit_fail_with_a_typed_error() {
    let log = Log::default();
    let net = net(&log);
    let agent = redirecting(&net).limit(5);
    let response = send(
        &agent,
        &net,
        Method::GET,
        "http://example.com/loop",
        HeaderMap::new(),
        RequestBody::empty(),
    );
    let failure = failure_result_of(response);
    assert_eq!(
        failure.downcast_ref::<ClientError>(),
        Some(&ClientError::TooManyRedirects {
            limit: 5,
            location: "http://example.com/loop".into()
        })
    );
    assert_eq!(log.borrow().len(), 6, "the first request and five redirects");
    // A limit of zero returns nothing but the error at the first redirect.
    let agent = redirecting(&net).limit(0);
    let response = send(
        &agent,
        &net,
        Method::GET,
        "http://example.com/r/301/%2Fplain",
        HeaderMap::new(),
        RequestBody::empty(),
    );
    assert!(matches!(
        failure_result_of(response).downcast_ref::<ClientError>(),
        Some(ClientError::TooManyRedirects { .. })
    ));
}

#[test]
fn credentials_do_not_follow_to_another_origin() {
    let log = Log::default();
    let net = net(&log);
    let agent = redirecting(&net);
    let mut headers = HeaderMap::new();
    headers.append("Authorization", "Bearer secret").unwrap();
    headers.append("Cookie", "session=1").unwrap();
    headers.append("X-Other", "kept").unwrap();
    let same = send(
        &agent,
        &net,
        Method::GET,
        "http://example.com/r/302/%2Fplain",
        headers.clone(),
        RequestBody::empty(),
    );
    success_result_of(same);
    assert!(log.borrow()[1].contains("Authorization: Bearer secret"));
    for target in [
        "http%3A%2F%2Fevil.example%2F",
        "https%3A%2F%2Fexample.com%2F",
        "http%3A%2F%2Fexample.com%3A8080%2F",
    ] {
        log.borrow_mut().clear();
        let url = format!("http://example.com/r/302/{target}");
        success_result_of(send(
            &agent,
            &net,
            Method::GET,
            &url,
            headers.clone(),
            RequestBody::empty(),
        ));
        let next = log.borrow()[1].clone();
        assert!(
            !next.contains("Authorization") && !next.contains("Cookie"),
            "{target}: {next}"
        );
        assert!(next.contains("X-Other: kept"));
    }
}

#[test]
fn cookies_are_stored_and_sent_also_across_redirects() {
    let log = Log::default();
    let net = net(&log);
    let jar = Rc::new(RefCell::new(CookieJar::new()));
    let clock = ManualClock::new();
    let agent = Agent::builder(Rc::new(clock), net.clone()).build();
    let start = SystemTime::now();
    let agent = RedirectAgent::new(CookieAgent::new(agent, jar.clone()).with_time(move || start));
    let response = send(
        &agent,
        &net,
        Method::GET,
        "http://www.example.com/cookie",
        HeaderMap::new(),
        RequestBody::empty(),
    );
    assert_eq!(text(&net, success_result_of(response)), "set");
    assert_eq!(jar.borrow().cookies().len(), 2);
    let response = send(
        &agent,
        &net,
        Method::GET,
        "http://www.example.com/cookie-redirect",
        HeaderMap::new(),
        RequestBody::empty(),
    );
    success_result_of(response);
    let entries = log.borrow();
    assert!(entries[1].contains("Cookie: a=1; b=2\r\n"), "{}", entries[1]);
    assert!(entries[2].starts_with("GET /plain"));
    assert!(
        entries[2].contains("Cookie: a=1; b=2; r=3\r\n"),
        "the cookie set by the redirect is sent to its target: {}",
        entries[2]
    );
    drop(entries);
    // A sibling host gets the domain cookie only.
    let response = send(
        &agent,
        &net,
        Method::GET,
        "http://api.example.com/x",
        HeaderMap::new(),
        RequestBody::empty(),
    );
    success_result_of(response);
    let last = log.borrow().last().unwrap().clone();
    assert!(
        last.contains("\r\nCookie: b=2\r\nHost: api.example.com\r\n"),
        "{last}"
    );
}
