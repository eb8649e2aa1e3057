//! The in-memory [`CookieJar`] (RFC 6265 section 5.3) and
//! [`CookieAgent`], which fills it from responses and sends its cookies.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gyre_core::Deferred;

use crate::client::agent::HttpClient;
use crate::client::cookie::parse::SetCookie;
use crate::client::request::RequestBody;
use crate::client::response::Response;
use crate::client::url::{RequestUrl, Scheme};
use crate::{HeaderMap, Method};

/// The most cookies a jar keeps; the oldest go first.
pub const MAX_COOKIES: usize = 3000;

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
