//! What a child process does between `fork` and `exec` beyond std's own
//! set-up of stdin, stdout and stderr: placing extra descriptors at the
//! numbers the caller asked for (Twisted's `childFDs`), keeping inherited
//! descriptors open across `exec`, making a terminal the controlling
//! terminal of a new session (PTY mode), and keeping every other descriptor
//! of the parent out of the child.
//!
//! Descriptors gyre and std open are close-on-exec, but a process can
//! inherit ones that are not (a build tool's jobserver pipe, a supervisor's
//! socket). Like Twisted, which closes every descriptor it did not map, the
//! child marks every descriptor from 3 up close-on-exec before placing the
//! ones it was asked for, so a child sees exactly its mapping. Marking rather
//! than closing keeps std's own exec-error pipe working until `exec`.
//!
//! The work runs in std's `pre_exec` hook, in the forked child of a possibly
//! multi-threaded parent: only async-signal-safe system calls are allowed
//! there, so everything is computed beforehand and the hook makes raw
//! `fcntl`/`dup2`/`setsid`/`ioctl` calls on descriptor numbers, with no
//! allocation and no locks. Because of the descriptor hygiene the hook is
//! always installed, so std always forks instead of using `posix_spawn`
//! (measured: about 1.1 ms per spawn of `true` either way on this machine).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
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
    /// One past the highest descriptor number that may be open, for the
    /// fallback when `close_range` is unavailable (computed in the parent).
    fd_limit: RawFd,
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

    /// Holds, in the parent, every target number that is free here, with a
    /// close-on-exec placeholder on `/dev/null`, until the returned
    /// descriptors are dropped (after `spawn`).
    ///
    /// std opens a close-on-exec pipe before the fork through which the child
    /// reports a failed `exec`; if that pipe got one of our target numbers,
    /// the hook's `dup2` would replace it, the error record would land in the
    /// user's descriptor and `spawn` would report success for a program that
    /// never ran. With every free target taken, the pipe gets other numbers.
    /// Targets already open here cannot be given to the pipe either. In the
    /// child each placeholder is replaced by the `dup2` onto its number, so
    /// none of them reaches the program.
    pub(crate) fn reserve_targets(&self) -> io::Result<Vec<OwnedFd>> {
        if self.moves.is_empty() {
            return Ok(Vec::new());
        }
        let null = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        let mut held = Vec::with_capacity(self.moves.len());
        for &(_, target) in &self.moves {
            // The lowest free number at or above `target`: `target` itself
            // exactly when it is free. A number beyond the descriptor limit
            // fails here and again (reported by std) in the child's `dup2`.
            if let Ok(copy) = rustix::io::fcntl_dupfd_cloexec(&null, target)
                && copy.as_raw_fd() == target
            {
                held.push(copy);
            }
        }
        Ok(held)
    }

    /// Installs the work as `command`'s `pre_exec` hook.
    #[allow(unsafe_code)]
    pub(crate) fn install(self, command: &mut Command) {
        let mut setup = self;
        setup.fd_limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .map_or(65_536, |limit| limit.min(1 << 20) as RawFd);
        // SAFETY: the hook runs in the forked child, where only
        // async-signal-safe calls are allowed. `run` makes only raw `setsid`,
        // `ioctl`, `close_range`, `fcntl` and `dup2` system calls on integers, writes to the
        // `scratch` vector allocated in the parent (no allocation), takes no
        // lock, and builds an `io::Error` from an errno (no allocation).
        unsafe {
            command.pre_exec(move || setup.run());
        }
    }

    /// Runs in the child after std placed stdin, stdout and stderr.
    #[allow(unsafe_code)]
    fn run(&mut self) -> io::Result<()> {
        self.mark_unmapped_close_on_exec();
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

impl ChildSetup {
    /// Marks every descriptor from 3 up close-on-exec; the mapping placed
    /// afterwards (inherited numbers, `dup2` targets) is made inheritable
    /// again explicitly.
    #[allow(unsafe_code)]
    fn mark_unmapped_close_on_exec(&self) {
        // SAFETY: a raw system call with integer arguments (Linux 5.11+).
        let marked =
            unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
        if marked == 0 {
            return;
        }
        // Older kernels: one fcntl per possible descriptor (EBADF for the
        // closed ones is expected and ignored).
        for fd in 3..self.fd_limit {
            // SAFETY: fcntl on a descriptor number with integer arguments.
            unsafe {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}
