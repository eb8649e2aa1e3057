//! Who may use a SOCKS server, and for what: the [`PasswordChecker`] that
//! verifies RFC 1929 credentials and the [`AccessPolicy`] that allows or
//! denies each target.
//!
//! The checker answers with a `Deferred`, as Twisted's
//! `ICredentialsChecker.requestAvatarId` does, so a checker may consult a
//! password file on a thread or a database without blocking the loop, and
//! a later cred/portal crate can adapt its checkers to this trait with a
//! few lines. Success carries the authenticated user id (the "avatar id"),
//! which the access policy then sees.

use std::fmt;
use std::net::SocketAddr;

use gyre_core::deferred::Deferred;
use gyre_core::{Address, simple_error};

use super::handshake::Version;
use super::wire::v5::PasswordAuth;
use super::wire::{Command, TargetAddr};

simple_error!(
    /// A [`PasswordChecker`] refused the credentials (Twisted's `UnauthorizedLogin`).
    LoginDenied,
    "the user name or password was refused"
);

/// Verifies a username and password (RFC 1929 sub-negotiation).
pub trait PasswordChecker {
    /// Fires with the authenticated user id, or fails (with [`LoginDenied`]
    /// or any other failure, both of which refuse the client).
    fn check(&self, credentials: &PasswordAuth) -> Deferred<Vec<u8>>;
}

/// A fixed table of users and passwords, compared in constant time per
/// entry so a wrong password's timing says nothing about how much of it
/// was right.
#[derive(Clone, Default)]
pub struct StaticPasswords {
    users: Vec<(Vec<u8>, Vec<u8>)>,
}

impl StaticPasswords {
    /// An empty table (which refuses everyone).
    pub fn new() -> Self {
        StaticPasswords::default()
    }

    /// Adds a user.
    pub fn with_user(mut self, username: impl Into<Vec<u8>>, password: impl Into<Vec<u8>>) -> Self {
        self.users.push((username.into(), password.into()));
        self
    }
}

impl fmt::Debug for StaticPasswords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .users
            .iter()
            .map(|(name, _)| name.escape_ascii().to_string())
            .collect();
        f.debug_struct("StaticPasswords").field("users", &names).finish()
    }
}

/// Byte strings compared without an early exit on the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut difference = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b) {
        difference |= x ^ y;
    }
    difference == 0
}

impl PasswordChecker for StaticPasswords {
    fn check(&self, credentials: &PasswordAuth) -> Deferred<Vec<u8>> {
        let found = self.users.iter().fold(false, |found, (name, password)| {
            let matches =
                same_bytes(name, &credentials.username) & same_bytes(password, &credentials.password);
            found | matches
        });
        if found {
            Deferred::succeed(credentials.username.clone())
        } else {
            Deferred::fail(LoginDenied::new())
        }
    }
}

/// What an [`AccessPolicy`] is asked about.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// The client's address (the control connection's peer).
    pub client: &'a Address,
    /// The authenticated user id (SOCKS5 with a password), if any.
    pub user: Option<&'a [u8]>,
    /// The SOCKS4 user id field (empty for SOCKS5); unverified.
    pub user_id: &'a [u8],
    /// The version asked in.
    pub version: Version,
    /// The command. For UDP ASSOCIATE the policy is asked once for the
    /// association (target: where the client says it will send from) and
    /// once per datagram destination (`resolved` set).
    pub command: Command,
    /// The target as the client gave it.
    pub target: &'a TargetAddr,
    /// For a UDP datagram, the address it is about to be sent to (a host
    /// name resolved); `None` for the request itself.
    pub resolved: Option<SocketAddr>,
}

/// Allows or denies each request; a denied request is answered
/// "connection not allowed by ruleset" (SOCKS4: 91).
///
/// A closure is a policy:
///
/// ```
/// use gyre_protocols::socks::{AccessPolicy, AccessRequest};
/// use gyre_protocols::socks::wire::TargetAddr;
///
/// // No connections to loopback addresses given as IPs.
/// let policy = |request: &AccessRequest<'_>| match request.target {
///     TargetAddr::Ip(addr) => !addr.ip().is_loopback(),
///     TargetAddr::Domain { .. } => true,
/// };
/// fn takes(_: &dyn AccessPolicy) {}
/// takes(&policy);
/// ```
pub trait AccessPolicy {
    /// Whether the request may go ahead.
    fn allow(&self, request: &AccessRequest<'_>) -> bool;
}

impl<F: Fn(&AccessRequest<'_>) -> bool> AccessPolicy for F {
    fn allow(&self, request: &AccessRequest<'_>) -> bool {
        self(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_testing::{failure_result_of, success_result_of};

    fn credentials(username: &[u8], password: &[u8]) -> PasswordAuth {
        PasswordAuth {
            username: username.to_vec(),
            password: password.to_vec(),
        }
    }

    #[test]
    fn static_passwords_accept_exactly_the_listed_pairs() {
        let table = StaticPasswords::new()
            .with_user("alice", "wonderland")
            .with_user("bob", "builder");
        assert_eq!(
            success_result_of(table.check(&credentials(b"bob", b"builder"))),
            b"bob"
        );
        for (user, password) in [
            (&b"bob"[..], &b"wonderland"[..]),
            (b"alice", b"wonderlan"),
            (b"alice", b"wonderland!"),
            (b"", b""),
            (b"carol", b"builder"),
        ] {
            let failure = failure_result_of(table.check(&credentials(user, password)));
            assert!(failure.is::<LoginDenied>(), "{failure}");
        }
        assert!(!format!("{table:?}").contains("wonderland"));
    }
}
