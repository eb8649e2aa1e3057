//! Cookies: a `Set-Cookie` parser ([`SetCookie::parse`], RFC 6265 section
//! 5.2), an in-memory [`CookieJar`] (section 5.3, without the public
//! suffix list), and [`CookieAgent`], which stores the cookies of every
//! response and sends the matching ones with every request.
//!
//! The jar is sans-IO: every call takes the current time, so it is tested
//! without a clock. Rules kept: host-only cookies unless `Domain` is set;
//! a `Domain` must be the host or a parent of it, and not a single label
//! (`com`) — a basic stand-in for the public suffix list; no `Domain` on
//! IP literals; `Secure` cookies are only set and sent over https;
//! `Max-Age` wins over `Expires`, and a past expiry deletes.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gyre_core::Deferred;

use crate::client::agent::HttpClient;
use crate::client::request::RequestBody;
use crate::client::response::Response;
use crate::client::url::{RequestUrl, Scheme};
use crate::{HeaderMap, Method};

/// The largest `Set-Cookie` value looked at (RFC 6265 asks for at least 4096 bytes).
pub const MAX_SET_COOKIE: usize = 8192;
/// The most cookies a jar keeps; the oldest go first.
pub const MAX_COOKIES: usize = 3000;

/// A parsed `Set-Cookie` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// The cookie name.
    pub name: String,
    /// The cookie value (quotes kept, as RFC 6265 says).
    pub value: String,
    /// `Domain`, lower case, without a leading dot.
    pub domain: Option<String>,
    /// `Path`, when it starts with `/`.
    pub path: Option<String>,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `Max-Age` in seconds (may be zero or negative: delete).
    pub max_age: Option<i64>,
    /// `Expires`, when it parsed as a date.
    pub expires: Option<SystemTime>,
}

impl SetCookie {
    /// The field in a canonical form (without `Expires`, which
    /// `max_age` replaces); parsing it gives the same cookie back, less
    /// `expires`.
    pub fn to_header(&self) -> String {
        let mut out = format!("{}={}", self.name, self.value);
        if let Some(domain) = &self.domain {
            out.push_str(&format!("; Domain={domain}"));
        }
        if let Some(path) = &self.path {
            out.push_str(&format!("; Path={path}"));
        }
        if self.secure {
            out.push_str("; Secure");
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if let Some(age) = self.max_age {
            out.push_str(&format!("; Max-Age={age}"));
        }
        out
    }

    /// Parses one `Set-Cookie` value; `None` when it has no `=` in its
    /// first part, an empty name, or is longer than [`MAX_SET_COOKIE`].
    pub fn parse(text: &str) -> Option<SetCookie> {
        if text.len() > MAX_SET_COOKIE {
            return None;
        }
        let mut parts = text.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || name.chars().chain(value.chars()).any(|c| c.is_control()) {
            return None;
        }
        let mut cookie = SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            domain: None,
            path: None,
            secure: false,
            http_only: false,
            max_age: None,
            expires: None,
        };
        for attribute in parts {
            let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            if value.chars().any(char::is_control) {
                continue;
            }
            match key.as_str() {
                "domain" => {
                    let domain = value.trim_start_matches(|c: char| c == '.' || c.is_whitespace());
                    let domain = domain.to_ascii_lowercase();
                    cookie.domain = (!domain.is_empty()).then_some(domain);
                }
                "path" if value.starts_with('/') => cookie.path = Some(value.to_owned()),
                "path" => cookie.path = None,
                "secure" => cookie.secure = true,
                "httponly" => cookie.http_only = true,
                "max-age" => {
                    let digits = value.strip_prefix('-').unwrap_or(value);
                    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        let seconds = digits.parse::<i64>().unwrap_or(i64::MAX);
                        cookie.max_age = Some(if value.starts_with('-') { -seconds } else { seconds });
                    }
                }
                "expires" => {
                    if let Some(when) = parse_cookie_date(value) {
                        cookie.expires = Some(when);
                    }
                }
                _ => {}
            }
        }
        Some(cookie)
    }
}

/// Parses a cookie date (RFC 6265 section 5.1.1: tokens in any order, so
/// `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT` and
/// asctime forms all work).
pub fn parse_cookie_date(text: &str) -> Option<SystemTime> {
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    let delimiter = |c: char| !(c.is_ascii_alphanumeric() || c == ':');
    for token in text.split(delimiter).filter(|t| !t.is_empty()) {
        if time.is_none() && token.contains(':') {
            let fields: Vec<&str> = token.split(':').collect();
            if fields.len() == 3
                && fields
                    .iter()
                    .all(|f| (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
            {
                let n: Vec<u64> = fields.iter().map(|f| f.parse().unwrap_or(99)).collect();
                time = Some((n[0], n[1], n[2]));
                continue;
            }
        }
        let digits = token.bytes().take_while(u8::is_ascii_digit).count();
        if day.is_none() && (1..=2).contains(&digits) && digits == token.len() {
            day = token.parse::<u64>().ok();
            continue;
        }
        if month.is_none() && token.len() >= 3 {
            const MONTHS: [&str; 12] = [
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ];
            let prefix = token[..3].to_ascii_lowercase();
            if let Some(index) = MONTHS.iter().position(|m| *m == prefix) {
                month = Some(index as u64 + 1);
                continue;
            }
        }
        if year.is_none() && (2..=4).contains(&digits) && digits == token.len() {
            year = token.parse::<u64>().ok();
        }
    }
    let (hour, minute, second) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    year += match year {
        70..=99 => 1900,
        0..=69 => 2000,
        _ => 0,
    };
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year as i64, month as i64, day as i64);
    let seconds = days * 86400 + (hour * 3600 + minute * 60 + second) as i64;
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A stored cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
    /// The domain (the host itself for a host-only cookie).
    pub domain: String,
    /// Sent to `domain` only, not its subdomains.
    pub host_only: bool,
    /// Sent for this path and below.
    pub path: String,
    /// Sent over https only.
    pub secure: bool,
    /// When it stops being sent; `None` for a session cookie.
    pub expires: Option<SystemTime>,
}

/// An in-memory cookie jar; see the module docs.
#[derive(Debug, Default, Clone)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

fn is_ip_literal(host: &str) -> bool {
    host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Whether `host` is `domain` or one of its subdomains.
fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || (host.ends_with(domain)
            && host[..host.len() - domain.len()].ends_with('.')
            && !is_ip_literal(host))
}

/// The default path: the request path up to its last `/` (section 5.1.4).
fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(end) => path[..end].to_owned(),
    }
}

fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request[cookie.len()..].starts_with('/')))
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        CookieJar::default()
    }

    /// Stores the cookie of a `Set-Cookie` field received from `url`;
    /// whether it was accepted (a deletion counts as accepted).
    pub fn store(&mut self, url: &RequestUrl, set: SetCookie, now: SystemTime) -> bool {
        let host = url.origin().host.as_str();
        let secure_origin = url.scheme() == Scheme::Https;
        if set.secure && !secure_origin {
            return false;
        }
        let (domain, host_only) = match &set.domain {
            None => (host.to_owned(), true),
            Some(domain) => {
                let single_label = !domain.contains('.');
                if single_label || is_ip_literal(host) && domain != host || !domain_matches(host, domain) {
                    return false;
                }
                (domain.clone(), false)
            }
        };
        let expires = match (set.max_age, set.expires) {
            (Some(age), _) if age <= 0 => Some(UNIX_EPOCH),
            (Some(age), _) => now
                .checked_add(Duration::from_secs(age as u64))
                .or(Some(now + Duration::from_secs(1 << 40))),
            (None, expires) => expires,
        };
        let cookie = Cookie {
            name: set.name,
            value: set.value,
            domain,
            host_only,
            path: set.path.unwrap_or_else(|| default_path(url.path())),
            secure: set.secure,
            expires,
        };
        self.cookies
            .retain(|c| !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path));
        if cookie.expires.is_some_and(|when| when <= now) {
            return true;
        }
        if self.cookies.len() >= MAX_COOKIES {
            self.cookies.remove(0);
        }
        self.cookies.push(cookie);
        true
    }

    /// The `Cookie` field value for a request to `url`, if any cookie matches.
    pub fn header_for(&mut self, url: &RequestUrl, now: SystemTime) -> Option<String> {
        self.cookies.retain(|c| c.expires.is_none_or(|when| when > now));
        let host = url.origin().host.as_str();
        let secure = url.scheme() == Scheme::Https;
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| {
                if c.host_only {
                    c.domain == host
                } else {
                    domain_matches(host, &c.domain)
                }
            })
            .filter(|c| path_matches(url.path(), &c.path) && (secure || !c.secure))
            .collect();
        if matching.is_empty() {
            return None;
        }
        // Longer paths first (section 5.4); stable, so older cookies first among equals.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let pairs: Vec<String> = matching
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        Some(pairs.join("; "))
    }

    /// The cookies kept.
    pub fn cookies(&self) -> &[Cookie] {
        &self.cookies
    }
}

/// Stores and sends cookies around `inner` (Twisted's `CookieAgent`).
/// Put it inside a [`RedirectAgent`](crate::client::redirect::RedirectAgent)
/// so every hop of a redirect gets the cookies for its own URL.
pub struct CookieAgent<C> {
    inner: C,
    jar: Rc<RefCell<CookieJar>>,
    now: Rc<dyn Fn() -> SystemTime>,
}

impl<C: HttpClient> CookieAgent<C> {
    /// Wraps `inner` with `jar`, reading the wall clock for expiry.
    pub fn new(inner: C, jar: Rc<RefCell<CookieJar>>) -> Self {
        CookieAgent {
            inner,
            jar,
            now: Rc::new(SystemTime::now),
        }
    }

    /// Uses `now` instead of the wall clock (tests).
    pub fn with_time(mut self, now: impl Fn() -> SystemTime + 'static) -> Self {
        self.now = Rc::new(now);
        self
    }

    /// The jar.
    pub fn jar(&self) -> &Rc<RefCell<CookieJar>> {
        &self.jar
    }
}

impl<C: HttpClient> HttpClient for CookieAgent<C> {
    fn request(
        &self,
        method: Method,
        url: &RequestUrl,
        mut headers: HeaderMap,
        body: RequestBody,
    ) -> Deferred<Response> {
        if !headers.contains("cookie")
            && let Some(value) = self.jar.borrow_mut().header_for(url, (self.now)())
            && headers.insert("Cookie", &value).is_err()
        {
            tracing::debug!(target: "gyre::http", "a stored cookie cannot be sent: {value:?}");
        }
        let (jar, now, url) = (self.jar.clone(), self.now.clone(), url.clone());
        self.inner
            .request(method, &url.clone(), headers, body)
            .map(move |response| {
                let now = now();
                let mut jar = jar.borrow_mut();
                for value in response.headers.get_all("set-cookie") {
                    if let Some(set) = std::str::from_utf8(value).ok().and_then(SetCookie::parse) {
                        jar.store(&url, set, now);
                    }
                }
                response
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn dates_in_the_usual_forms() {
        let expected = at(784_111_777);
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_cookie_date(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        for bad in [
            "",
            "yesterday",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
        ] {
            assert_eq!(parse_cookie_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn set_cookie_attributes() {
        let set = SetCookie::parse("id=a3fWa; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Domain=.Example.com; Path=/docs; Secure; HttpOnly; Max-Age=60").unwrap();
        assert_eq!((set.name.as_str(), set.value.as_str()), ("id", "a3fWa"));
        assert_eq!(set.domain.as_deref(), Some("example.com"));
        assert_eq!(set.path.as_deref(), Some("/docs"));
        assert!(set.secure && set.http_only);
        assert_eq!(set.max_age, Some(60));
        assert!(set.expires.is_some());
        assert_eq!(SetCookie::parse("a=b; Max-Age=-5").unwrap().max_age, Some(-5));
        assert_eq!(SetCookie::parse("a=b; Max-Age=5x").unwrap().max_age, None);
        for bad in ["novalue", "=x", "a\u{1}=b", ""] {
            assert_eq!(SetCookie::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn domain_and_path_rules() {
        let mut jar = CookieJar::new();
        let url = RequestUrl::parse("http://www.example.com/a/b").unwrap();
        let now = at(1000);
        let store = |jar: &mut CookieJar, text: &str| jar.store(&url, SetCookie::parse(text).unwrap(), now);
        assert!(store(&mut jar, "host=1"));
        assert!(store(&mut jar, "parent=2; Domain=example.com; Path=/"));
        assert!(!store(&mut jar, "tld=3; Domain=com"), "single label");
        assert!(!store(&mut jar, "other=4; Domain=other.com"), "not a parent");
        assert!(!store(&mut jar, "sec=5; Secure"), "secure over http");
        let header = |jar: &mut CookieJar, url: &str| jar.header_for(&RequestUrl::parse(url).unwrap(), now);
        assert_eq!(
            header(&mut jar, "http://www.example.com/a/c").as_deref(),
            Some("host=1; parent=2")
        );
        assert_eq!(
            header(&mut jar, "http://www.example.com/").as_deref(),
            Some("parent=2"),
            "default path /a"
        );
        assert_eq!(
            header(&mut jar, "http://sub.example.com/a/x").as_deref(),
            Some("parent=2"),
            "host-only"
        );
        assert_eq!(header(&mut jar, "http://example.org/"), None);
        assert!(store(
            &mut jar,
            "parent=gone; Domain=example.com; Path=/; Max-Age=0"
        ));
        assert_eq!(header(&mut jar, "http://sub.example.com/a/x"), None);
    }

    #[test]
    fn expiry_and_secure_cookies() {
        let mut jar = CookieJar::new();
        let url = RequestUrl::parse("https://h.example/").unwrap();
        assert!(jar.store(&url, SetCookie::parse("s=1; Secure; Max-Age=10").unwrap(), at(0)));
        assert!(jar.store(
            &url,
            SetCookie::parse("e=2; Expires=Thu, 01 Jan 1970 00:01:00 GMT").unwrap(),
            at(0)
        ));
        assert_eq!(jar.header_for(&url, at(5)).as_deref(), Some("s=1; e=2"));
        assert_eq!(
            jar.header_for(&RequestUrl::parse("http://h.example/").unwrap(), at(5))
                .as_deref(),
            Some("e=2")
        );
        assert_eq!(jar.header_for(&url, at(30)).as_deref(), Some("e=2"));
        assert_eq!(jar.header_for(&url, at(60)), None);
        let ip = RequestUrl::parse("http://127.0.0.1/").unwrap();
        assert!(!jar.store(&ip, SetCookie::parse("a=1; Domain=0.0.1").unwrap(), at(0)));
        assert!(jar.store(&ip, SetCookie::parse("a=1").unwrap(), at(0)));
    }
}
