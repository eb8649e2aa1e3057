//! What a child process does between `fork` and `exec` beyond std's own
//! set-up of stdin, stdout and stderr: placing extra descriptors at the
//! numbers the caller asked for (Twisted's `childFDs`), keeping inherited
//! descriptors open across `exec`, and making a terminal the controlling
//! terminal of a new session (PTY mode).
//!
//! The work runs in std's `pre_exec` hook, in the forked child of a possibly
//! multi-threaded parent: only async-signal-safe system calls are allowed
//! there, so everything is computed beforehand and the hook makes raw
//! `fcntl`/`dup2`/`setsid`/`ioctl` calls on descriptor numbers, with no
//! allocation and no locks. A child with nothing to do here keeps std's
//! faster `posix_spawn` path, since no hook is installed.

use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The descriptor work one child needs.
#[derive(Debug, Default)]
pub(crate) struct ChildSetup {
    /// (descriptor in the parent, number it must have in the child). The
    /// parent keeps the sources open until `spawn` returns.
    moves: Vec<(RawFd, RawFd)>,
    /// Scratch space for the intermediate copies, allocated here in the
    /// parent because the child may not allocate.
    scratch: Vec<RawFd>,
    /// Numbers the child inherits as they are in the parent.
    inherit: Vec<RawFd>,
    /// Start a new session and take the terminal on fd 0 as its controlling
    /// terminal.
    controlling_tty: bool,
}

impl ChildSetup {
    /// The child gets a copy of the parent's `source` as descriptor `target`.
    pub(crate) fn place(&mut self, source: RawFd, target: RawFd) {
        self.moves.push((source, target));
        self.scratch.push(-1);
    }

    /// The child keeps the parent's descriptor `fd` (which must be open).
    pub(crate) fn inherit(&mut self, fd: RawFd) {
        self.inherit.push(fd);
    }

    /// The child starts a new session with the terminal on its stdin as
    /// controlling terminal.
    pub(crate) fn controlling_tty(&mut self) {
        self.controlling_tty = true;
    }

    fn is_empty(&self) -> bool {
        self.moves.is_empty() && self.inherit.is_empty() && !self.controlling_tty
    }

    /// Installs the work as `command`'s `pre_exec` hook (nothing when there
    /// is no work, keeping std's `posix_spawn` path).
    #[allow(unsafe_code)]
    pub(crate) fn install(self, command: &mut Command) {
        if self.is_empty() {
            return;
        }
        let mut setup = self;
        // SAFETY: the hook runs in the forked child, where only
        // async-signal-safe calls are allowed. `run` makes only raw `setsid`,
        // `ioctl`, `fcntl` and `dup2` system calls on integers, writes to the
        // `scratch` vector allocated in the parent (no allocation), takes no
        // lock, and builds an `io::Error` from an errno (no allocation).
        unsafe {
            command.pre_exec(move || setup.run());
        }
    }

    /// Runs in the child after std placed stdin, stdout and stderr.
    #[allow(unsafe_code)]
    fn run(&mut self) -> io::Result<()> {
        if self.controlling_tty {
            // SAFETY: `setsid` and `ioctl(TIOCSCTTY)` take no pointers; fd 0
            // is the terminal's slave side std placed there.
            unsafe {
                check(libc::setsid())?;
                check(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
            }
        }
        for &fd in &self.inherit {
            // SAFETY: fcntl on a descriptor number with integer arguments.
            unsafe {
                let flags = check(libc::fcntl(fd, libc::F_GETFD))?;
                check(libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC))?;
            }
        }
        // Copy every source above every target first, so that placing one
        // descriptor can never overwrite the source of another.
        let above = self.moves.iter().map(|&(_, target)| target).max().unwrap_or(2) + 1;
        for (index, &(source, _)) in self.moves.iter().enumerate() {
            // SAFETY: fcntl on a descriptor number with integer arguments;
            // the copy is close-on-exec, so it disappears at `exec`.
            self.scratch[index] = unsafe { check(libc::fcntl(source, libc::F_DUPFD_CLOEXEC, above))? };
        }
        for (index, &(_, target)) in self.moves.iter().enumerate() {
            // SAFETY: dup2 on descriptor numbers; the copy at `target` is not
            // close-on-exec, so the program finds it there.
            unsafe {
                check(libc::dup2(self.scratch[index], target))?;
            }
        }
        Ok(())
    }
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}
