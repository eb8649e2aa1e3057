//! The file a path-bound Unix socket leaves in the file system: clearing a
//! stale one before binding, removing ours when the port closes, and the
//! optional lock file that makes both race-free between processes.
//!
//! A socket file outlives the process that bound it (a crash, `kill -9`),
//! and `bind` then fails with "address in use" although nobody listens.
//! Before binding, an existing socket file is probed with a non-blocking
//! connect: refused means stale, so it is removed; anything else means a
//! live server, and listening fails. Two servers starting at the same
//! instant could both find the file stale; the lock file (Twisted's
//! `lockfile=1`) closes that window: whoever holds `PATH.lock` owns `PATH`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;
use socket2::{Domain, SockAddr, Socket, Type};

/// Removes the socket file at `path` if nothing is bound to it any more.
/// `socket_type` is the type of socket about to bind there (stream or
/// datagram): the probe is a non-blocking connect of that type, refused
/// when the file is stale. Fails with `AddrInUse` when a socket answers or
/// the path is not a socket.
pub(crate) fn clear_stale(path: &Path, socket_type: Type) -> io::Result<()> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    if !metadata.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "the path exists and is not a socket",
        ));
    }
    let probe = Socket::new(Domain::UNIX, socket_type.nonblocking().cloexec(), None)?;
    match probe.connect(&SockAddr::unix(path)?) {
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => remove_if_same(path, &metadata),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        // Connected, or a stream listener's queue is full: someone is bound.
        Ok(()) => Err(live_server()),
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => Err(live_server()),
        Err(error) => Err(error),
    }
}

/// Sets the permissions of the socket file at `path` to exactly `mode`.
pub(crate) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

fn live_server() -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        "another process is listening on this socket",
    )
}

/// Removes `path` only if it is still the file `metadata` describes.
fn remove_if_same(path: &Path, metadata: &fs::Metadata) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(now) if now.dev() == metadata.dev() && now.ino() == metadata.ino() => {
            match fs::remove_file(path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// A socket file we created; removed when dropped, unless it was replaced
/// meanwhile (by a new server that took over the path).
pub(crate) struct SocketFile {
    path: PathBuf,
    metadata: fs::Metadata,
}

impl SocketFile {
    /// Records the socket file just bound at `path`.
    pub(crate) fn bound(path: &Path) -> io::Result<SocketFile> {
        Ok(SocketFile {
            path: path.to_path_buf(),
            metadata: fs::symlink_metadata(path)?,
        })
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(error) = remove_if_same(&self.path, &self.metadata) {
            let path = self.path.display();
            tracing::warn!(target: "gyre::reactor", %error, %path, "removing socket file");
        }
    }
}

/// An exclusive `flock` on `PATH.lock`, held while the port listens. The
/// file holds our pid for people looking; the lock itself is what counts,
/// and the kernel releases it if the process dies.
pub(crate) struct Lockfile {
    path: PathBuf,
    /// Open for as long as the lock is held: closing it releases the lock.
    _held: File,
}

/// How often to retry when the lock file was replaced under us.
const LOCK_ATTEMPTS: usize = 8;

impl Lockfile {
    /// Takes the lock for the socket at `socket_path`, or fails with
    /// `AddrInUse` when another process holds it.
    pub(crate) fn acquire(socket_path: &Path) -> io::Result<Lockfile> {
        let mut name = socket_path.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        for _ in 0..LOCK_ATTEMPTS {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)?;
            match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        "the socket's lock file is held",
                    ));
                }
                Err(error) => return Err(error.into()),
            }
            // The previous owner may have removed the file between our
            // open and our lock: then we locked an orphan; start again.
            let ours = file.metadata()?;
            match fs::metadata(&path) {
                Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {
                    file.set_len(0)?;
                    writeln!(file, "{}", std::process::id())?;
                    return Ok(Lockfile { path, _held: file });
                }
                _ => continue,
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "the socket's lock file keeps changing",
        ))
    }
}

impl Drop for Lockfile {
    fn drop(&mut self) {
        // Removed while still locked, so nobody can lock the old file and
        // believe they own the path (they check the inode after locking).
        if let Err(error) = fs::remove_file(&self.path) {
            let path = self.path.display();
            tracing::warn!(target: "gyre::reactor", %error, %path, "removing lock file");
        }
    }
}
