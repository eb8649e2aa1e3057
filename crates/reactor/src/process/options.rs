//! [`ProcessOptions`]: what to run and how its descriptors are wired.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use gyre_core::process::ChildFd;

/// What one of the child's descriptors is connected to (Twisted's
/// `childFDs` values).
#[derive(Debug)]
#[non_exhaustive]
pub enum ChildFdMode {
    /// A pipe the child writes and the reactor reads: its data arrives in
    /// `child_data_received` with this descriptor's number (Twisted's `"r"`).
    /// The default for stdout and stderr.
    FromChild,
    /// A pipe the reactor writes (`write_to_child`) and the child reads
    /// (Twisted's `"w"`). The default for stdin.
    ToChild,
    /// The child shares this process's descriptor of the same number (a
    /// descriptor above 2 must be open here).
    Inherit,
    /// `/dev/null`.
    Null,
    /// This descriptor, for example one end of a socket pair (Twisted's
    /// integer values). It is closed here once the child started.
    Fd(OwnedFd),
    /// The same open file as another, lower, descriptor of the child: the
    /// shell's `2>&1` is `child_fd(ChildFd::STDERR, SameAs(ChildFd::STDOUT))`.
    SameAs(ChildFd),
}

/// The size of a pseudo-terminal, in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtySize {
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
}

/// A program to run and how to run it, for
/// [`Reactor::spawn_process_with`](crate::Reactor::spawn_process_with).
///
/// ```no_run
/// # use gyre_reactor::process::{ChildFdMode, ProcessOptions};
/// # use gyre_core::process::ChildFd;
/// let options = ProcessOptions::new("sh")
///     .args(["-c", "echo out; echo status >&3"])
///     .env("LANG", "C")
///     .cwd("/tmp")
///     .child_fd(ChildFd(3), ChildFdMode::FromChild);
/// ```
#[derive(Debug)]
pub struct ProcessOptions {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) env_clear: bool,
    /// Variables to set (`Some`) or remove (`None`), in order.
    pub(crate) env: Vec<(OsString, Option<OsString>)>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) fds: BTreeMap<u32, ChildFdMode>,
    pub(crate) pty: Option<Option<PtySize>>,
}

impl ProcessOptions {
    /// Runs `program`, looked up in `PATH` when it has no slash, with no
    /// arguments, this process's environment and working directory, and
    /// pipes for stdin, stdout and stderr.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let mut fds = BTreeMap::new();
        fds.insert(0, ChildFdMode::ToChild);
        fds.insert(1, ChildFdMode::FromChild);
        fds.insert(2, ChildFdMode::FromChild);
        ProcessOptions {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env_clear: false,
            env: Vec::new(),
            cwd: None,
            fds,
            pty: None,
        }
    }

    /// Adds one argument. Unlike Twisted's `args`, the list does not start
    /// with the program name: the program is `argv[0]`, as in std.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable for the child.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Starts the child with an empty environment (plus what `env` sets
    /// afterwards), which is Twisted's default.
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self.env.clear();
        self
    }

    /// Runs the child in `dir`.
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Connects the child's descriptor `fd` as `mode` says. Descriptors 0,
    /// 1 and 2 are pipes unless changed here; higher ones exist in the child
    /// only when given a mode (descriptors opened by std, gyre and rustix are
    /// close-on-exec).
    pub fn child_fd(mut self, fd: ChildFd, mode: ChildFdMode) -> Self {
        self.fds.insert(fd.0, mode);
        self
    }

    /// Gives the child no pipe for `fd`, undoing an earlier `child_fd`.
    /// Stdin, stdout and stderr get `/dev/null` instead, never a closed
    /// descriptor: the program's next `open` would take that number, and its
    /// "output" would land in whatever file it opened.
    pub fn close_child_fd(mut self, fd: ChildFd) -> Self {
        if fd.0 <= 2 {
            self.fds.insert(fd.0, ChildFdMode::Null);
        } else {
            self.fds.remove(&fd.0);
        }
        self
    }

    /// Runs the child on a pseudo-terminal (`enabled`), as a session leader
    /// with the terminal as its controlling terminal: it sees a tty on
    /// stdin, stdout and stderr (`isatty`), line editing and echo apply, and
    /// its output arrives as [`ChildFd::STDOUT`] data. Modes set for
    /// descriptors 0 to 2 are ignored; descriptors above 2 still work.
    pub fn pty(mut self, enabled: bool) -> Self {
        self.pty = if enabled { Some(self.pty.flatten()) } else { None };
        self
    }

    /// Runs the child on a pseudo-terminal of this size.
    pub fn pty_size(mut self, rows: u16, cols: u16) -> Self {
        self.pty = Some(Some(PtySize { rows, cols }));
        self
    }

    /// The program to run.
    pub fn program(&self) -> &OsStr {
        &self.program
    }
}
