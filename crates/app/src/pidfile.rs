//! [`Pidfile`]: the file naming the process ID of a running server, so
//! scripts can signal it (`kill -HUP $(cat gyre.pid)`) and a second copy
//! refuses to start.
//!
//! A stale pidfile (its server died without removing it) must not stop a
//! restart, and a process ID can be reused by an unrelated program, so the
//! ID alone proves nothing. The server therefore holds an exclusive
//! `flock` on the file for as long as it runs: the kernel drops the lock
//! when the process dies, however it dies. Starting checks the lock, not
//! the ID: locked means running; unlocked means stale, and the file is
//! taken over.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// A pidfile this process holds (locked) until it is dropped or removed.
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
    file: File,
}

/// Why a pidfile could not be taken.
#[derive(Debug)]
pub enum PidfileError {
    /// Another live process holds it; its ID as the file says.
    Running(Option<u32>),
    /// The file could not be opened, locked or written.
    Io(io::Error),
}

impl std::fmt::Display for PidfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidfileError::Running(Some(pid)) => write!(f, "already running as process {pid}"),
            PidfileError::Running(None) => write!(f, "already running (the pidfile is locked)"),
            PidfileError::Io(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for PidfileError {}

impl Pidfile {
    /// Takes the pidfile at `path` for this process: writes its ID and
    /// locks it. A stale file is taken over (logged with its old ID).
    ///
    /// # Errors
    /// [`PidfileError::Running`] when another process holds it.
    pub fn create(path: &Path) -> Result<Pidfile, PidfileError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(PidfileError::Io)?;
        let mut previous = String::new();
        // Unreadable content is as good as none: the lock decides.
        let _ = file.read_to_string(&mut previous);
        let previous: Option<u32> = previous.trim().parse().ok();
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Err(PidfileError::Running(previous)),
            Err(error) => return Err(PidfileError::Io(error.into())),
        }
        if let Some(stale) = previous {
            tracing::warn!(target: "gyre::app", path = %path.display(), stale, "taking over a stale pidfile");
        }
        file.set_len(0).map_err(PidfileError::Io)?;
        file.rewind().map_err(PidfileError::Io)?;
        writeln!(file, "{}", std::process::id()).map_err(PidfileError::Io)?;
        file.sync_all().map_err(PidfileError::Io)?;
        Ok(Pidfile {
            path: path.to_owned(),
            file,
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file (still holding the lock, so no other process can
    /// have taken it over in between). After dropping root, the directory
    /// may no longer be writable: that is logged, and the lock is released
    /// anyway, so the file left behind counts as stale.
    pub fn remove(self) {
        if let Err(error) = std::fs::remove_file(&self.path) {
            tracing::warn!(target: "gyre::app", path = %self.path.display(), %error, "cannot remove the pidfile");
        }
        drop(self.file);
    }
}
