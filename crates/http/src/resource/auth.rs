//! HTTP Basic authentication (RFC 7617) as a wrapping resource, checked
//! through a pluggable [`CredentialChecker`] (Twisted's
//! `HTTPAuthSessionWrapper` + `BasicCredentialFactory` + a checker).

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use gyre_core::Deferred;
use ring::digest::{SHA256, digest};

pub use crate::base64::decode as decode_base64;
use crate::wire::{HeaderMap, ResponseHead, StatusCode};

use super::methods::log_send;
use super::ready::ErrorPage;
use super::{Reply, Resource, SiteRequest, render_tree};

/// The failure a checker returns for wrong credentials (answered `401`;
/// any other failure is answered `500`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unauthorized login")
    }
}

impl std::error::Error for Unauthorized {}

/// Checks a username and password, now or later (a database, a cred
/// portal): the Deferred fires with the user id, or fails with
/// [`Unauthorized`].
pub trait CredentialChecker: 'static {
    /// Checks one pair of credentials.
    fn check(&self, username: &str, password: &str) -> Deferred<String>;
}

/// Users and passwords in memory (Twisted's
/// `InMemoryUsernamePasswordDatabaseDontUse`, but comparing SHA-256
/// digests in constant time, so neither the password nor its length leaks
/// through timing).
#[derive(Default)]
pub struct InMemoryChecker {
    users: HashMap<String, [u8; 32]>,
}

impl InMemoryChecker {
    /// No users.
    pub fn new() -> InMemoryChecker {
        InMemoryChecker::default()
    }

    /// The same with a user.
    pub fn with_user(mut self, username: &str, password: &str) -> InMemoryChecker {
        self.users
            .insert(username.to_owned(), sha256(password.as_bytes()));
        self
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, data).as_ref());
    out
}

/// Compares without an early exit.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

impl CredentialChecker for InMemoryChecker {
    fn check(&self, username: &str, password: &str) -> Deferred<String> {
        let offered = sha256(password.as_bytes());
        // An unknown user still costs one comparison.
        let expected = self.users.get(username).copied();
        let matches = constant_time_eq(&offered, &expected.unwrap_or([0xa5; 32]));
        if matches && expected.is_some() {
            Deferred::succeed(username.to_owned())
        } else {
            Deferred::fail(Unauthorized)
        }
    }
}

/// Guards a tree with HTTP Basic auth: without valid credentials the
/// answer is `401` with `WWW-Authenticate: Basic realm="…"`; with them the
/// walk continues into the tree, [`SiteRequest::user`] telling who.
pub struct BasicAuth {
    realm: String,
    checker: Rc<dyn CredentialChecker>,
    protected: Rc<dyn Resource>,
}

impl BasicAuth {
    /// Guards `protected` in `realm` (quotes and backslashes are escaped,
    /// control characters dropped), checking with `checker`.
    pub fn new(realm: &str, checker: Rc<dyn CredentialChecker>, protected: Rc<dyn Resource>) -> BasicAuth {
        BasicAuth {
            realm: realm.chars().filter(|c| !c.is_control()).collect(),
            checker,
            protected,
        }
    }

    fn challenge(&self, reply: &Reply) {
        let realm = self.realm.replace('\\', "\\\\").replace('"', "\\\"");
        let page = ErrorPage::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Authentication required.",
        );
        let mut head = ResponseHead::new(StatusCode::UNAUTHORIZED);
        let body = page.body();
        let sent = head
            .headers
            .append(
                "WWW-Authenticate",
                format!("Basic realm=\"{realm}\", charset=\"UTF-8\""),
            )
            .and_then(|h| h.append("Content-Type", "text/html; charset=utf-8"))
            .and_then(|h| h.append("Content-Length", body.len().to_string()))
            .map(drop)
            .and_then(|()| reply.send_head(head))
            .and_then(|()| reply.write(body.as_bytes()))
            .and_then(|()| reply.finish());
        log_send(sent);
    }
}

/// The `user:password` of an `Authorization: Basic` field.
fn credentials(request: &SiteRequest) -> Option<(String, String)> {
    basic_credentials(request.headers(), "authorization")
}

/// The username and password of a `Basic` credentials field named `name`
/// (`Authorization`, `Proxy-Authorization`); `None` when it is missing,
/// of another scheme, or malformed.
pub(crate) fn basic_credentials(headers: &HeaderMap, name: &str) -> Option<(String, String)> {
    let field = headers.get_str(name)?.trim();
    let (scheme, encoded) = field.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(decode_base64(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

impl Resource for BasicAuth {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, request: &SiteRequest, reply: Reply) {
        let Some((user, password)) = credentials(request) else {
            return self.challenge(&reply);
        };
        let checked = self.checker.check(&user, &password);
        let realm = self.realm.clone();
        let (request, protected) = (request.clone(), self.protected.clone());
        let checker = self.checker.clone();
        checked.add_both(move |result| {
            match result {
                Ok(user) => {
                    request.set_user(user.clone());
                    render_tree(protected, &request, reply);
                }
                Err(failure) if failure.is::<Unauthorized>() => {
                    BasicAuth::new(&realm, checker, protected).challenge(&reply);
                }
                Err(failure) => {
                    tracing::warn!(%failure, "resource: the credential checker failed");
                    let page = ErrorPage::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", "");
                    log_send(page.send(&reply));
                }
            }
            // Handled here: nothing is left for later callbacks.
            Ok::<String, gyre_core::Failure>(String::new())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(decode_base64("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert_eq!(decode_base64("YWI=").unwrap(), b"ab");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("YQ=").is_none());
        assert!(decode_base64("Y===").is_none());
        assert!(decode_base64("YQ==YQ==").is_none());
        assert!(decode_base64("a!bc").is_none());
    }
}
