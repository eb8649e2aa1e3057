//! Taking ownership of descriptors this process inherited by number, such as
//! the sockets a service manager passes for socket activation (systemd's
//! `LISTEN_FDS`, starting at 3).

use std::collections::HashSet;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// Descriptors already taken over, so that none is owned twice.
static TAKEN: Mutex<Option<HashSet<RawFd>>> = Mutex::new(None);

/// Takes ownership of inherited descriptor `fd`, at most once per process.
/// Fails if it was already taken or is not open.
#[allow(unsafe_code)]
pub(crate) fn take_inherited(fd: RawFd) -> io::Result<OwnedFd> {
    let mut taken = TAKEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if fd < 0 || taken.as_ref().is_some_and(|set| set.contains(&fd)) {
        return Err(io::Error::other(format!(
            "descriptor {fd} was already taken over"
        )));
    }
    // Check it is open before owning it (F_GETFD fails with EBADF if not).
    // SAFETY: fcntl on a descriptor number with integer arguments.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(io::Error::last_os_error());
    }
    taken.get_or_insert_with(HashSet::new).insert(fd);
    // SAFETY: `fd` is open (checked above), was inherited by this process
    // (the caller's contract: nothing else in the process owns it), and the
    // TAKEN set guarantees it is wrapped in an `OwnedFd` at most once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
