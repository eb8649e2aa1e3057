//! Cookies (RFC 6265): parsing `Cookie`, building `Set-Cookie`.

use std::fmt;
use std::time::{Duration, SystemTime};

pub use crate::date::format_http_date as http_date;
use crate::wire::token::is_token;

/// The most cookies taken from one `Cookie` field; the rest is ignored.
const MAX_COOKIES: usize = 256;

/// Parses a `Cookie` field value into `(name, value)` pairs, in order.
///
/// Lenient like browsers and Twisted (RFC 6265 §5.4 is what user agents
/// send; servers see worse): pairs are split on `;`, names and values
/// trimmed, a value's surrounding double quotes removed; a piece without
/// `=` or with an empty or invalid name (not a token) is skipped; at most
/// 256 pairs.
///
/// ```
/// use gyre_http::resource::parse_cookies;
/// let cookies = parse_cookies("a=1; b=\"two\";junk; =x; c=");
/// assert_eq!(cookies, [("a".into(), "1".into()), ("b".into(), "two".into()), ("c".into(), "".into())]);
/// ```
pub fn parse_cookies(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|piece| {
            let (name, value) = piece.split_once('=')?;
            let name = name.trim();
            if !is_token(name.as_bytes()) {
                return None;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some((name.to_owned(), value.to_owned()))
        })
        .take(MAX_COOKIES)
        .collect()
}

/// RFC 6265 `cookie-octet`: printable ASCII except space, `"`, `,`, `;`, `\`.
fn is_cookie_value(text: &str) -> bool {
    text.bytes()
        .all(|b| (0x21..0x7f).contains(&b) && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

/// An attribute value (Path, Domain): no control characters, no `;`.
fn is_attribute_value(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';')
}

/// Why a cookie could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieError {
    /// The name is not an HTTP token.
    InvalidName,
    /// The value holds characters a cookie value cannot.
    InvalidValue,
    /// A `Path` or `Domain` holds a control character or `;`.
    InvalidAttribute,
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CookieError::InvalidName => "invalid cookie name",
            CookieError::InvalidValue => "invalid cookie value",
            CookieError::InvalidAttribute => "invalid cookie attribute",
        })
    }
}

impl std::error::Error for CookieError {}

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only to the same site.
    Strict,
    /// Sent on top-level navigations too.
    Lax,
    /// Sent everywhere (browsers require `Secure`, which is then added).
    None,
}

/// A `Set-Cookie` field, validated when built so that no name, value or
/// attribute can inject another attribute or header. `Display` writes the
/// field value.
///
/// ```
/// use std::time::Duration;
/// use gyre_http::resource::{SameSite, SetCookie};
/// let cookie = SetCookie::new("id", "42").unwrap().path("/").unwrap()
///     .max_age(Duration::from_secs(60)).http_only().same_site(SameSite::Lax);
/// assert_eq!(cookie.to_string(), "id=42; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
/// assert!(SetCookie::new("id", "a;b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    name: String,
    value: String,
    path: Option<String>,
    domain: Option<String>,
    max_age: Option<u64>,
    expires: Option<SystemTime>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
}

impl SetCookie {
    /// A cookie `name=value`; the name must be a token and the value
    /// cookie-octets.
    pub fn new(name: &str, value: &str) -> Result<SetCookie, CookieError> {
        if !is_token(name.as_bytes()) {
            return Err(CookieError::InvalidName);
        }
        if !is_cookie_value(value) {
            return Err(CookieError::InvalidValue);
        }
        Ok(SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            path: None,
            domain: None,
            max_age: None,
            expires: None,
            secure: false,
            http_only: false,
            same_site: None,
        })
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie's value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// With `Path`.
    pub fn path(mut self, path: &str) -> Result<SetCookie, CookieError> {
        if !is_attribute_value(path) {
            return Err(CookieError::InvalidAttribute);
        }
        self.path = Some(path.to_owned());
        Ok(self)
    }

    /// With `Domain`.
    pub fn domain(mut self, domain: &str) -> Result<SetCookie, CookieError> {
        if !is_attribute_value(domain) || domain.contains(' ') {
            return Err(CookieError::InvalidAttribute);
        }
        self.domain = Some(domain.to_owned());
        Ok(self)
    }

    /// With `Max-Age` (whole seconds; zero deletes the cookie).
    pub fn max_age(mut self, age: Duration) -> SetCookie {
        self.max_age = Some(age.as_secs());
        self
    }

    /// With `Expires`.
    pub fn expires(mut self, time: SystemTime) -> SetCookie {
        self.expires = Some(time);
        self
    }

    /// With `Secure`.
    pub fn secure(mut self) -> SetCookie {
        self.secure = true;
        self
    }

    /// With `HttpOnly`.
    pub fn http_only(mut self) -> SetCookie {
        self.http_only = true;
        self
    }

    /// With `SameSite`.
    pub fn same_site(mut self, same_site: SameSite) -> SetCookie {
        self.same_site = Some(same_site);
        self
    }
}

impl fmt::Display for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)?;
        if let Some(path) = &self.path {
            write!(f, "; Path={path}")?;
        }
        if let Some(domain) = &self.domain {
            write!(f, "; Domain={domain}")?;
        }
        if let Some(age) = self.max_age {
            write!(f, "; Max-Age={age}")?;
        }
        if let Some(expires) = self.expires {
            write!(f, "; Expires={}", http_date(expires))?;
        }
        if self.secure || self.same_site == Some(SameSite::None) {
            f.write_str("; Secure")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        match self.same_site {
            Some(SameSite::Strict) => f.write_str("; SameSite=Strict"),
            Some(SameSite::Lax) => f.write_str("; SameSite=Lax"),
            Some(SameSite::None) => f.write_str("; SameSite=None"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn dates() {
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        let rfc = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(http_date(rfc), "Sun, 06 Nov 1994 08:49:37 GMT");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(http_date(leap), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn set_cookie_attributes_and_validation() {
        let cookie = SetCookie::new("n", "v")
            .unwrap()
            .domain("example.com")
            .unwrap()
            .expires(UNIX_EPOCH)
            .secure()
            .same_site(SameSite::Strict);
        assert_eq!(
            cookie.to_string(),
            "n=v; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Strict"
        );
        let none = SetCookie::new("n", "").unwrap().same_site(SameSite::None);
        assert_eq!(none.to_string(), "n=; Secure; SameSite=None");
        assert_eq!(SetCookie::new("a b", "v"), Err(CookieError::InvalidName));
        assert_eq!(SetCookie::new("", "v"), Err(CookieError::InvalidName));
        assert_eq!(
            SetCookie::new("a", "x\r\nEvil: 1"),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(SetCookie::new("a", "é"), Err(CookieError::InvalidValue));
        let bad_path = SetCookie::new("a", "b").unwrap().path("/; Secure");
        assert_eq!(bad_path, Err(CookieError::InvalidAttribute));
    }
}
