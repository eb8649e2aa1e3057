//! `Set-Cookie` values and cookie dates (RFC 6265 sections 5.1.1 and 5.2).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::date::days_from_civil;

/// The largest `Set-Cookie` value looked at (RFC 6265 asks for at least 4096 bytes).
pub const MAX_SET_COOKIE: usize = 8192;

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
    let days = days_from_civil(year as i64, month as u32, day as u32);
    let seconds = days * 86400 + (hour * 3600 + minute * 60 + second) as i64;
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
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
}
