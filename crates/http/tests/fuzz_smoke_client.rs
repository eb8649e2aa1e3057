//! The stable-Rust stand-in for the fuzz target `http_client_set_cookie`:
//! thousands of seeded mutated and random `Set-Cookie` values. Nothing may
//! panic; a parsed cookie re-parses equal from its canonical form; the
//! jar stores and sends whatever parses without panicking, and a cookie it
//! accepted for a URL is sent back to that URL unless it already expired.

use std::time::{Duration, UNIX_EPOCH};

use gyre_http::client::cookie::parse_cookie_date;
use gyre_http::client::{CookieJar, RequestUrl, SetCookie};
use gyre_testing::fuzz_smoke::run_smoke;

const SEEDS: &[&[u8]] = &[
    b"id=a3fWa; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure; HttpOnly",
    b"a=b; Domain=.example.com; Path=/docs; Max-Age=60",
    b"session=\"quoted\"; path=/; max-age=-1",
    b"x=1; Expires=Sunday, 06-Nov-94 08:49:37 GMT; Domain=www.example.com",
    b"=novalue",
    b"k=v;;;; ; Secure=yes; HttpOnly=no; Path=relative",
];

const PIECES: &[&[u8]] = &[
    b";",
    b"=",
    b" ",
    b".",
    b"/",
    b"-",
    b":",
    b",",
    b"\"",
    b"\t",
    b"\0",
    b"\r\n",
    b"Domain",
    b"Path",
    b"Max-Age",
    b"Expires",
    b"Secure",
    b"HttpOnly",
    b"example.com",
    b"com",
    b"99999999999999999999",
    b"Nov",
    b"1994",
    b"08:49:37",
    b"GMT",
    "\u{e9}".as_bytes(),
];

#[test]
fn set_cookie_values_never_panic_and_round_trip() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let urls = [
        "https://www.example.com/a/b",
        "http://127.0.0.1/",
        "http://docs.example.com/docs/x",
    ];
    let urls: Vec<RequestUrl> = urls.iter().map(|url| RequestUrl::parse(url).unwrap()).collect();
    let mut parsed = 0;
    run_smoke(0xC00C1E, 5000, SEEDS, PIECES, |input| {
        let text = String::from_utf8_lossy(input);
        let _ = parse_cookie_date(&text);
        let Some(cookie) = SetCookie::parse(&text) else {
            return;
        };
        parsed += 1;
        let again = SetCookie::parse(&cookie.to_header()).expect("the canonical form parses");
        assert_eq!(
            again,
            SetCookie {
                expires: None,
                ..cookie.clone()
            },
            "{text:?}"
        );
        for url in &urls {
            let mut jar = CookieJar::new();
            let live =
                cookie.max_age.is_none_or(|age| age > 0) && cookie.expires.is_none_or(|when| when > now);
            let path_ok = cookie.path.as_deref().is_none_or(|path| {
                let rest = url.path().strip_prefix(path);
                rest.is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || path.ends_with('/'))
            });
            if jar.store(url, cookie.clone(), now) && live && path_ok {
                let Some(header) = jar.header_for(url, now) else {
                    panic!("an accepted live cookie is not sent back: {text:?} to {url}")
                };
                assert!(
                    header.contains(&format!("{}={}", cookie.name, cookie.value)),
                    "{text:?}: {header}"
                );
            }
        }
    });
    assert!(
        parsed > 500,
        "only {parsed} inputs parsed: the smoke test explores too little"
    );
}
