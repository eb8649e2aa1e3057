//! Unix stream sockets: listening, connecting, abstract names, peer
//! credentials and file descriptor passing.
//!
//! [`Reactor`] implements [`ReactorUnix`]; the `_with` methods take the
//! options below. Connections are ordinary [`Transport`](gyre_core::Transport)s
//! (the same stream transport as TCP) that also answer two capabilities:
//!
//! - [`PeerCredentials`](gyre_core::capability::PeerCredentials): uid, gid
//!   and pid of the process on the other end (`SO_PEERCRED`, Linux);
//! - [`UnixFdPassing`](gyre_core::capability::UnixFdPassing): an
//!   [`FdSender`](gyre_core::capability::FdSender) that queues descriptors to
//!   go out with the next bytes written. The kernel carries descriptors only
//!   together with data, so write at least one byte after queueing them.
//!   Descriptors that arrive are given to
//!   `Protocol::file_descriptors_received`, before the bytes they came with.
//!
//! Socket files: an existing socket file nobody listens on (left by a crash)
//! is replaced; one a live server answers on makes `listen_unix` fail with
//! `CannotListen`, as does a path that is not a socket. The file is removed
//! when the port stops listening, unless another server has replaced it
//! meanwhile. `mode` is applied between `bind` and `listen`, so no client
//! can connect while the file still has the umask's permissions. Abstract
//! names (Linux, [`UnixAddress::Abstract`]) have no file: mode and lock
//! file do not apply to them.
//!
//! ```
//! use std::time::Duration;
//! use gyre_core::address::UnixAddress;
//! use gyre_core::interfaces::ReactorUnix;
//! use gyre_core::prelude::*;
//! use gyre_reactor::Reactor;
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         transport.write(data);
//!     }
//! }
//!
//! let reactor = Reactor::new().unwrap();
//! let path = std::env::temp_dir().join(format!("gyre-doc-{}.sock", std::process::id()));
//! let port = reactor
//!     .listen_unix(UnixAddress::Path(path.clone()), protocol_factory(|_| Echo).into(), 50, Some(0o600))
//!     .unwrap();
//! assert!(path.exists());
//! let stopped = port.stop_listening();
//! assert!(!path.exists(), "the socket file goes with the port");
//! # drop(stopped);
//! ```

pub(crate) mod address;
mod connector;
mod listener;
mod socket;
pub(crate) mod socket_file;

use std::time::Duration;

use gyre_core::address::UnixAddress;
use gyre_core::connector::{Connector, ListeningPort};
use gyre_core::interfaces::ReactorUnix;
use gyre_core::{Failure, SharedClientFactory, SharedFactory};

pub(crate) use address::from_std as unix_address;
pub(crate) use listener::UnixAcceptor;
pub(crate) use socket::UnixSocket;

use crate::Reactor;
use crate::stream_connector;

/// Options for [`Reactor::listen_unix_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnixListenOptions {
    /// Length of the queue of connections not yet accepted (default 50, as in Twisted).
    pub backlog: u32,
    /// Permissions of the socket file (for example `0o660`); `None` leaves
    /// what the umask gives. Ignored for abstract names.
    pub mode: Option<u32>,
    /// Hold an exclusive lock on `PATH.lock` while listening, so two
    /// servers starting together cannot both take over a stale socket file
    /// (Twisted's `lockfile=1`). Ignored for abstract names.
    pub lockfile: bool,
}

impl Default for UnixListenOptions {
    fn default() -> Self {
        UnixListenOptions {
            backlog: 50,
            mode: None,
            lockfile: false,
        }
    }
}

impl UnixListenOptions {
    /// Sets the backlog.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Sets the socket file's permissions.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Uses a lock file next to the socket file.
    pub fn lockfile(mut self, enabled: bool) -> Self {
        self.lockfile = enabled;
        self
    }
}

/// Options for [`Reactor::connect_unix_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnixConnectOptions {
    /// Give up after this long with `TimedOut` (default 30 s, as in Twisted).
    /// Only a listener whose queue stays full makes a Unix connect wait.
    pub timeout: Duration,
}

impl Default for UnixConnectOptions {
    fn default() -> Self {
        UnixConnectOptions {
            timeout: Duration::from_secs(30),
        }
    }
}

impl UnixConnectOptions {
    /// Sets the connect timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Reactor {
    /// Listens on a Unix socket with `options`; see [`ReactorUnix::listen_unix`].
    pub fn listen_unix_with(
        &self,
        address: UnixAddress,
        factory: impl Into<SharedFactory>,
        options: UnixListenOptions,
    ) -> Result<ListeningPort, Failure> {
        listener::listen(self, address, factory.into(), options)
    }

    /// Connects to a Unix socket with `options`; see [`ReactorUnix::connect_unix`].
    /// A missing socket file fails with an `io::Error` of kind `NotFound`, a
    /// file nobody listens on with `ConnectionRefused`.
    pub fn connect_unix_with(
        &self,
        address: UnixAddress,
        factory: impl Into<SharedClientFactory>,
        options: UnixConnectOptions,
    ) -> Connector {
        let dialer = connector::UnixDialer {
            address,
            timeout: options.timeout,
        };
        stream_connector::connect(self, dialer, factory.into())
    }
}

impl ReactorUnix for Reactor {
    fn listen_unix(
        &self,
        address: UnixAddress,
        factory: SharedFactory,
        backlog: u32,
        mode: Option<u32>,
    ) -> Result<ListeningPort, Failure> {
        let mut options = UnixListenOptions::default().backlog(backlog);
        options.mode = mode;
        self.listen_unix_with(address, factory, options)
    }

    fn connect_unix(
        &self,
        address: UnixAddress,
        factory: SharedClientFactory,
        timeout: Duration,
    ) -> Connector {
        self.connect_unix_with(address, factory, UnixConnectOptions::default().timeout(timeout))
    }
}
