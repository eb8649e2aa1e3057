//! `fork` and `_exit`, for detaching a daemon (see [`crate::daemon`]).

use std::io;

/// Which side of a fork this is.
pub(crate) enum Forked {
    /// The original process; the child's process ID.
    Parent(i32),
    /// The new process.
    Child,
}

/// Forks, refusing when the process has more than one thread: the child
/// of a multithreaded process holds copies of locks other threads may
/// have held (the allocator's among them) and may only call
/// async-signal-safe functions, which a Rust program cannot promise.
#[allow(unsafe_code)]
pub(crate) fn fork_single_threaded() -> io::Result<Forked> {
    let threads = std::fs::read_dir("/proc/self/task")?.count();
    if threads != 1 {
        return Err(io::Error::other(format!(
            "cannot fork a process that has {threads} threads: detach before starting any thread"
        )));
    }
    // SAFETY: the process has exactly one thread (checked above, and only
    // this thread could start another), so the child is a complete copy
    // in which every lock is in a consistent state.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Ends the process at once, without running exit handlers or flushing
/// buffers that the other side of the fork will flush (a copied
/// `stdout` buffer would be written twice).
#[allow(unsafe_code)]
pub(crate) fn exit_immediately(code: i32) -> ! {
    // SAFETY: `_exit` takes an integer and never returns.
    unsafe { libc::_exit(code) }
}
