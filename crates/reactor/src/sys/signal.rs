//! Reading a signal's current disposition (`sigaction` with no new action),
//! which neither std nor rustix expose. The signal module uses it once per
//! signal, before hooking it, to learn whether the process had left the
//! signal at its default action, ignored it, or had its own handler.

use std::io;

/// What the process does with a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// The signal's default action (terminate, for SIGINT and SIGTERM).
    Default,
    /// Ignored (`SIG_IGN`), as a shell does for SIGINT of background jobs.
    Ignored,
    /// Someone installed a handler.
    Handled,
}

/// The current disposition of `signal`.
#[allow(unsafe_code)]
pub(crate) fn disposition(signal: i32) -> io::Result<Disposition> {
    // SAFETY: `libc::sigaction` is plain old data for which all-zero bytes
    // is a valid value.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null `act` makes `sigaction` only read the current action
    // into `current`, a valid, writable, properly aligned struct; nothing is
    // changed for the process.
    let rc = unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(match current.sa_sigaction {
        libc::SIG_DFL => Disposition::Default,
        libc::SIG_IGN => Disposition::Ignored,
        _ => Disposition::Handled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dispositions_without_changing_them() {
        // SIGWINCH is left at its default by the test harness.
        assert_eq!(disposition(libc::SIGWINCH).unwrap(), Disposition::Default);
        assert_eq!(disposition(libc::SIGWINCH).unwrap(), Disposition::Default);
        // The Rust runtime ignores SIGPIPE.
        assert_eq!(disposition(libc::SIGPIPE).unwrap(), Disposition::Ignored);
        assert!(disposition(1000).is_err());
    }
}
