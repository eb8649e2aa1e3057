//! A transport over the program's own standard input and output (Twisted's
//! `stdio.StandardIO`): the protocol's `data_received` gets what arrives on
//! stdin, its writes go to stdout, and end of file on stdin is
//! `read_connection_lost` (whose default closes the connection after
//! flushing).
//!
//! ```no_run
//! use gyre_core::prelude::*;
//! use gyre_reactor::Reactor;
//!
//! /// Upper-cases stdin to stdout, like `tr a-z A-Z`.
//! struct Shout;
//! impl Protocol for Shout {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         transport.write(&data.to_ascii_uppercase());
//!     }
//! }
//!
//! let reactor = Reactor::new().unwrap();
//! let stopper = reactor.clone();
//! reactor.standard_io(Box::new(Shout)).unwrap();
//! // ... stop the reactor from connection_lost, then:
//! # drop(stopper);
//! reactor.run().unwrap();
//! ```
//!
//! Both descriptors are made non-blocking, and their previous flags are
//! restored when the connection closes. `O_NONBLOCK` belongs to the open
//! file description, which a terminal shares with stderr and with the
//! shell, so while the transport is open `eprintln!` to the same terminal
//! can fail with `WouldBlock`; log elsewhere. Writes go straight to file
//! descriptor 1, past std's buffered `stdout()`: do not mix the two.
//!
//! When the connection closes, descriptors 0 and 1 are pointed at
//! `/dev/null` (never closed: a later `open` would take their numbers), so
//! the process at the other end sees end of file. `lose_write_connection`
//! does the same for stdout alone. Regular files, which the poller cannot
//! watch, work too: they are read until end of file and written directly.
//! Only one standard I/O transport can be open in a process at a time.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use gyre_core::address::{Address, ProcessAddress};
use gyre_core::{Failure, Protocol, Transport};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use rustix::fs::OFlags;
use rustix::stdio::{stdin, stdout};

use crate::Reactor;
use crate::sources::{Readiness, Source};
use crate::stream::{ReceivedExtras, StreamConnection, StreamSocket};

/// Set while a standard I/O transport owns descriptors 0 and 1.
static IN_USE: AtomicBool = AtomicBool::new(false);

impl Reactor {
    /// Runs `protocol` over this process's stdin and stdout.
    /// `connection_made` runs before this returns. Fails when another
    /// standard I/O transport is open.
    pub fn standard_io(&self, protocol: Box<dyn Protocol>) -> Result<Transport, Failure> {
        let socket = StdioSocket::open()
            .map_err(|error| Failure::new(error).context("taking over stdin and stdout"))?;
        let stdin_watched = socket.stdin_watched.clone();
        let host = Address::Process(ProcessAddress {
            pid: Some(std::process::id()),
        });
        let peer = Address::Process(ProcessAddress {
            pid: Some(std::os::unix::process::parent_id()),
        });
        let connection = StreamConnection::start(self, socket, protocol, host, peer, None)
            .map_err(|error| Failure::new(error).context("registering stdin and stdout"))?;
        if !stdin_watched.get() {
            // A regular file never becomes "ready": read it to its end now.
            let unwatched = connection.clone();
            let readiness = Readiness {
                readable: true,
                read_closed: true,
                ..Readiness::default()
            };
            self.call_soon(move || unwatched.ready(readiness));
        }
        Ok(Transport::new(connection))
    }
}

/// Descriptors 0 and 1 as one stream.
struct StdioSocket {
    saved_stdin: OFlags,
    saved_stdout: OFlags,
    /// Whether the poller watches stdin (false for regular files).
    stdin_watched: Rc<Cell<bool>>,
    stdout_watched: Cell<bool>,
    stdout_detached: Cell<bool>,
    /// Kept to stop watching stdout when it is detached before the close.
    registry: Option<Registry>,
    /// Registered once: the transport ran, and closing it detaches 0 and 1.
    started: bool,
}

impl StdioSocket {
    fn open() -> io::Result<StdioSocket> {
        if IN_USE.swap(true, Ordering::AcqRel) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "a standard I/O transport is already open",
            ));
        }
        let flags = make_non_blocking();
        let (saved_stdin, saved_stdout) = flags.inspect_err(|_| IN_USE.store(false, Ordering::Release))?;
        // From here on, dropping the socket restores the flags and releases IN_USE.
        Ok(StdioSocket {
            saved_stdin,
            saved_stdout,
            stdin_watched: Rc::default(),
            stdout_watched: Cell::new(false),
            stdout_detached: Cell::new(false),
            registry: None,
            started: false,
        })
    }

    /// Ends our output: stops watching stdout, sends FIN if it is a socket
    /// (stdin may be the same socket, keeping it open), restores its flags
    /// and points descriptor 1 at `/dev/null`.
    fn detach_stdout(&self) -> io::Result<()> {
        if self.stdout_detached.replace(true) {
            return Ok(());
        }
        if let Some(registry) = &self.registry
            && self.stdout_watched.replace(false)
        {
            registry.deregister(&mut SourceFd(&rustix::stdio::raw_stdout()))?;
        }
        match rustix::net::shutdown(stdout(), rustix::net::Shutdown::Write) {
            Ok(()) | Err(rustix::io::Errno::NOTSOCK) => {}
            Err(error) => return Err(error.into()),
        }
        rustix::fs::fcntl_setfl(stdout(), self.saved_stdout)?;
        rustix::stdio::dup2_stdout(dev_null()?)?;
        Ok(())
    }
}

/// Sets `O_NONBLOCK` on stdin and stdout; returns their previous flags
/// (restored if this fails half way).
fn make_non_blocking() -> io::Result<(OFlags, OFlags)> {
    let saved_stdin = rustix::fs::fcntl_getfl(stdin())?;
    let saved_stdout = rustix::fs::fcntl_getfl(stdout())?;
    rustix::fs::fcntl_setfl(stdin(), saved_stdin | OFlags::NONBLOCK)?;
    if let Err(error) = rustix::fs::fcntl_setfl(stdout(), saved_stdout | OFlags::NONBLOCK) {
        let _ = rustix::fs::fcntl_setfl(stdin(), saved_stdin);
        return Err(error.into());
    }
    Ok((saved_stdin, saved_stdout))
}

fn dev_null() -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
}

impl Drop for StdioSocket {
    /// Restores the flags, and, if the transport ran (it was registered),
    /// detaches both descriptors; a transport that never started leaves
    /// them as they were.
    fn drop(&mut self) {
        let restored = if self.started {
            rustix::fs::fcntl_setfl(stdin(), self.saved_stdin)
                .map_err(io::Error::from)
                .and_then(|()| Ok(rustix::stdio::dup2_stdin(dev_null()?)?))
                .and_then(|()| self.detach_stdout())
        } else {
            rustix::fs::fcntl_setfl(stdin(), self.saved_stdin)
                .and_then(|()| rustix::fs::fcntl_setfl(stdout(), self.saved_stdout))
                .map_err(io::Error::from)
        };
        if let Err(error) = restored {
            tracing::warn!(target: "gyre::reactor", %error, "releasing stdin and stdout");
        }
        IN_USE.store(false, Ordering::Release);
    }
}

/// Registers `fd` unless it is a regular file (`EPERM`): those are always
/// ready and need no watching.
fn watch(fd: i32, registry: &Registry, token: Token, interest: Interest) -> io::Result<bool> {
    match registry.register(&mut SourceFd(&fd), token, interest) {
        Ok(()) => Ok(true),
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => Ok(false),
        Err(error) => Err(error),
    }
}

impl mio::event::Source for StdioSocket {
    fn register(&mut self, registry: &Registry, token: Token, _interests: Interest) -> io::Result<()> {
        let registry_copy = registry.try_clone()?;
        self.stdin_watched.set(watch(
            rustix::stdio::raw_stdin(),
            registry,
            token,
            Interest::READABLE,
        )?);
        match watch(rustix::stdio::raw_stdout(), registry, token, Interest::WRITABLE) {
            Ok(watched) => self.stdout_watched.set(watched),
            Err(error) => {
                let _ = self.deregister(registry);
                return Err(error);
            }
        }
        self.registry = Some(registry_copy);
        self.started = true;
        Ok(())
    }

    fn reregister(&mut self, _registry: &Registry, _token: Token, _interests: Interest) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "standard I/O is registered once",
        ))
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        let stdin_result = match self.stdin_watched.replace(false) {
            true => registry.deregister(&mut SourceFd(&rustix::stdio::raw_stdin())),
            false => Ok(()),
        };
        if self.stdout_watched.replace(false) {
            registry.deregister(&mut SourceFd(&rustix::stdio::raw_stdout()))?;
        }
        self.registry = None;
        stdin_result
    }
}

impl StreamSocket for StdioSocket {
    fn recv(&self, buf: &mut [u8], _received: &mut ReceivedExtras) -> io::Result<usize> {
        Ok(rustix::io::read(stdin(), buf)?)
    }

    fn send(&self, data: &[u8]) -> io::Result<usize> {
        Ok(rustix::io::write(stdout(), data)?)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.detach_stdout()
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(None)
    }

    fn kind(&self) -> &'static str {
        "stdio"
    }
}
