//! The one unsafe call of the tokio host: registering the reactor's
//! descriptor with tokio.
//!
//! Since tokio 1.54 the safe `AsyncFd::new` is deprecated (it cannot check
//! that an arbitrary `AsRawFd` keeps its descriptor open), and
//! `AsyncFd::register_with_interest` is `unsafe`. Here the registered value
//! is an [`OwnedFd`] the `AsyncFd` owns, which is exactly the guarantee it
//! asks for.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::OwnedFd;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Registers `fd` with the current runtime's I/O driver for reading.
pub(super) fn readable(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the `AsyncFd` owns `fd`, an `OwnedFd`: the descriptor stays
    // open (nobody else can close or replace it) for as long as the
    // registration lives, and it is deregistered before it is closed
    // (`AsyncFd`'s drop deregisters, then drops the `OwnedFd`).
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(io::Error::from)
}
