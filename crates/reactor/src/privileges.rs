//! Running as another user after binding privileged ports (`gyre --user
//! nobody web --listen tcp:80`): start as root, listen, then give root up
//! for good with [`Identity::assume`] before handling any connection, as
//! Twisted's `twistd --uid/--gid` does.
//!
//! ```no_run
//! use gyre_reactor::privileges::Identity;
//!
//! let nobody = Identity::resolve(Some("nobody"), None)?;
//! // ... listen on port 80 ...
//! nobody.assume()?; // every thread now runs as nobody
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io;

use crate::sys::users;

/// A user and group ID to run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The user ID.
    pub uid: u32,
    /// The group ID (also the only supplementary group once assumed).
    pub gid: u32,
}

impl Identity {
    /// The process's current real user and group.
    pub fn current() -> Identity {
        Identity {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        }
    }

    /// The identity named by a user (a name or a number) and a group (a
    /// name or a number). The group defaults to the user's primary group;
    /// the user defaults to the current one.
    ///
    /// # Errors
    /// When a name is not known to the system's user or group database,
    /// or a user number that has no entry comes without a group: keeping
    /// the current group (root's, as a rule) would keep a privilege the
    /// caller meant to give up.
    pub fn resolve(user: Option<&str>, group: Option<&str>) -> io::Result<Identity> {
        let current = Identity::current();
        let not_found = |what: String| io::Error::new(io::ErrorKind::NotFound, what);
        let (uid, primary) = match user {
            None => (current.uid, Some(current.gid)),
            Some(user) => match users::user_by_name(user)? {
                Some((uid, gid)) => (uid, Some(gid)),
                None => {
                    let uid = user
                        .parse::<u32>()
                        .map_err(|_| not_found(format!("no user {user:?}")))?;
                    (uid, users::user_by_id(uid).map(|(_, gid)| gid))
                }
            },
        };
        let gid = match (group, primary) {
            (None, Some(primary)) => primary,
            (None, None) => {
                return Err(not_found(format!(
                    "user {uid} has no entry in the user database to take its group from; give a group"
                )));
            }
            (Some(group), _) => match users::group_by_name(group)? {
                Some(gid) => gid,
                None => group
                    .parse::<u32>()
                    .map_err(|_| not_found(format!("no group {group:?}")))?,
            },
        };
        Ok(Identity { uid, gid })
    }

    /// Becomes this user and group in every thread, with this group as
    /// the only supplementary group, and checks that the change cannot be
    /// undone (a process that could still switch back to root did not
    /// really give it up).
    ///
    /// # Errors
    /// When the process may not change its identity (it is not root), or
    /// the check fails.
    pub fn assume(&self) -> io::Result<()> {
        users::switch_user(self.uid, self.gid)?;
        let now = Identity::current();
        let effective = rustix::process::geteuid().as_raw();
        if now != *self || effective != self.uid {
            return Err(io::Error::other(format!(
                "asked to become {self}, but the process is now {now} (effective user {effective})"
            )));
        }
        if self.uid != 0 && users::switch_user(0, 0).is_ok() {
            return Err(io::Error::other(
                "root privileges could be regained after dropping them",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match users::user_by_id(self.uid) {
            Some((name, _)) => write!(f, "{name} (uid {}, gid {})", self.uid, self.gid),
            None => write!(f, "uid {}, gid {}", self.uid, self.gid),
        }
    }
}
