//! Arbitrary bytes as a `Set-Cookie` value: never a panic; a parsed
//! cookie re-parses equal from its canonical form; storing it in a jar
//! and building the `Cookie` field for the same URL never panics.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use gyre_http::client::cookie::parse_cookie_date;
use gyre_http::client::{CookieJar, RequestUrl, SetCookie};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let _ = parse_cookie_date(&text);
    if let Some(cookie) = SetCookie::parse(&text) {
        let again = SetCookie::parse(&cookie.to_header()).expect("the canonical form parses");
        assert_eq!(
            again,
            SetCookie {
                expires: None,
                ..cookie.clone()
            }
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut jar = CookieJar::new();
        for url in ["https://www.example.com/a/b", "http://127.0.0.1/"] {
            let url = RequestUrl::parse(url).unwrap();
            jar.store(&url, cookie.clone(), now);
            let _ = jar.header_for(&url, now);
        }
    }
});
