//! [`RequestTarget`]: the request target in one of its four forms
//! (RFC 9112 §3.2).

use std::fmt;

use crate::error::{ErrorKind, HttpError};
use crate::wire::Method;

/// Which of the four forms a request target has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetForm {
    /// `/path?query`: the usual form, to an origin server.
    Origin,
    /// `http://host/path?query`: to a proxy (and accepted by servers).
    Absolute,
    /// `host:port`: only with `CONNECT`.
    Authority,
    /// `*`: only with `OPTIONS`, meaning the server itself.
    Asterisk,
}

/// A validated request target.
///
/// The target is checked against its method: `CONNECT` takes exactly the
/// authority form, `*` is only for `OPTIONS`, and every other request
/// takes the origin or absolute form. A fragment (`#`) is never sent on
/// the wire and is refused.
///
/// ```
/// use gyre_http::{Method, RequestTarget, TargetForm};
///
/// let target = RequestTarget::parse(&Method::GET, "/search?q=gyre").unwrap();
/// assert_eq!((target.form(), target.path(), target.query()), (TargetForm::Origin, "/search", Some("q=gyre")));
///
/// let proxied = RequestTarget::parse(&Method::GET, "http://example.com:8080/a?b").unwrap();
/// assert_eq!(proxied.form(), TargetForm::Absolute);
/// assert_eq!((proxied.authority(), proxied.path()), (Some("example.com:8080"), "/a"));
///
/// let tunnel = RequestTarget::parse(&Method::CONNECT, "example.com:443").unwrap();
/// assert_eq!(tunnel.authority(), Some("example.com:443"));
/// assert!(RequestTarget::parse(&Method::GET, "*").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestTarget {
    raw: Box<str>,
    form: TargetForm,
}

impl RequestTarget {
    /// Checks `raw` as the target of a `method` request.
    pub fn parse(method: &Method, raw: &str) -> Result<RequestTarget, HttpError> {
        let invalid = || HttpError::new(ErrorKind::InvalidTarget);
        if raw.is_empty() || raw.contains('#') || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid());
        }
        let form = if *method == Method::CONNECT {
            if !is_authority_with_port(raw) {
                return Err(invalid());
            }
            TargetForm::Authority
        } else if raw == "*" {
            if *method != Method::OPTIONS {
                return Err(invalid());
            }
            TargetForm::Asterisk
        } else if raw.starts_with('/') {
            TargetForm::Origin
        } else if has_scheme(raw) {
            TargetForm::Absolute
        } else {
            return Err(invalid());
        };
        Ok(RequestTarget {
            raw: raw.into(),
            form,
        })
    }

    /// The target as sent.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Its form.
    pub fn form(&self) -> TargetForm {
        self.form
    }

    /// The path: the origin-form target up to `?`, the path of an
    /// absolute-form one (`/` when empty), and `""` for the authority and
    /// asterisk forms.
    pub fn path(&self) -> &str {
        let path_and_query = match self.form {
            TargetForm::Origin => &self.raw[..],
            TargetForm::Absolute => {
                let rest = self.after_scheme();
                match rest.strip_prefix("//") {
                    Some(with_authority) => with_authority
                        .find(['/', '?'])
                        .map_or("", |at| &with_authority[at..]),
                    None => rest,
                }
            }
            TargetForm::Authority | TargetForm::Asterisk => return "",
        };
        let path = path_and_query.split('?').next().unwrap_or("");
        if path.is_empty() && self.form == TargetForm::Absolute {
            "/"
        } else {
            path
        }
    }

    /// The query, after `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        match self.form {
            TargetForm::Origin | TargetForm::Absolute => self.raw.split_once('?').map(|(_, query)| query),
            _ => None,
        }
    }

    /// The scheme of an absolute-form target (`http`, `https`, ...).
    pub fn scheme(&self) -> Option<&str> {
        (self.form == TargetForm::Absolute).then(|| self.raw.split(':').next().unwrap_or(""))
    }

    /// `host[:port]` of an absolute-form or authority-form target.
    pub fn authority(&self) -> Option<&str> {
        match self.form {
            TargetForm::Authority => Some(&self.raw),
            TargetForm::Absolute => {
                let rest = self.after_scheme().strip_prefix("//")?;
                let end = rest.find(['/', '?']).unwrap_or(rest.len());
                Some(&rest[..end])
            }
            _ => None,
        }
    }

    fn after_scheme(&self) -> &str {
        self.raw.split_once(':').map_or("", |(_, rest)| rest)
    }
}

/// `scheme ":"` with scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
fn has_scheme(raw: &str) -> bool {
    let Some((scheme, _)) = raw.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `host:port` as CONNECT requires: a non-empty host (a name or a bracketed
/// IPv6 literal, no userinfo or path) and a decimal port.
fn is_authority_with_port(raw: &str) -> bool {
    let Some((host, port)) = raw.rsplit_once(':') else {
        return false;
    };
    let port_ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    let host_ok = if let Some(literal) = host.strip_prefix('[') {
        literal.strip_suffix(']').is_some_and(|inner| {
            !inner.is_empty()
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        })
    } else {
        !host.is_empty() && host.bytes().all(is_reg_name_byte)
    };
    port_ok && host_ok
}

/// Characters of a registered host name (unreserved, sub-delims, percent).
pub(crate) fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
        )
}

impl fmt::Display for RequestTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for RequestTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self.form, self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: &Method, raw: &str) -> Option<TargetForm> {
        RequestTarget::parse(method, raw).ok().map(|t| t.form())
    }

    #[test]
    fn forms_follow_the_method() {
        assert_eq!(parse(&Method::GET, "/"), Some(TargetForm::Origin));
        assert_eq!(parse(&Method::GET, "https://h/"), Some(TargetForm::Absolute));
        assert_eq!(parse(&Method::OPTIONS, "*"), Some(TargetForm::Asterisk));
        assert_eq!(parse(&Method::CONNECT, "h:443"), Some(TargetForm::Authority));
        assert_eq!(parse(&Method::CONNECT, "[::1]:8080"), Some(TargetForm::Authority));
        for (method, raw) in [
            (Method::GET, "*"),
            (Method::CONNECT, "/"),
            (Method::CONNECT, "h"),
            (Method::CONNECT, "h:"),
            (Method::CONNECT, "user@h:80"),
            (Method::CONNECT, "h:80/x"),
            (Method::GET, "relative"),
            (Method::GET, "/a#frag"),
            (Method::GET, ""),
            (Method::GET, "/a b"),
            (Method::GET, "1http://x/"),
        ] {
            assert_eq!(parse(&method, raw), None, "{method} {raw}");
        }
    }

    #[test]
    fn parts() {
        let target = RequestTarget::parse(&Method::GET, "http://h:1?x=1").unwrap();
        assert_eq!(
            (target.scheme(), target.authority(), target.path(), target.query()),
            (Some("http"), Some("h:1"), "/", Some("x=1"))
        );
        let target = RequestTarget::parse(&Method::GET, "/p/q").unwrap();
        assert_eq!(
            (target.scheme(), target.authority(), target.path(), target.query()),
            (None, None, "/p/q", None)
        );
        let target = RequestTarget::parse(&Method::GET, "urn:x:y").unwrap();
        assert_eq!((target.authority(), target.path()), (None, "x:y"));
    }
}
