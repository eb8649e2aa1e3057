//! `systemd:` socket activation: serve on a listening socket the service
//! manager passed in (descriptors from 3, counted by `LISTEN_FDS`, meant
//! for us when `LISTEN_PID` is our pid), as `sd_listen_fds(3)` describes.

use std::fmt;
use std::os::fd::RawFd;

use gyre_core::connector::ListeningPort;
use gyre_core::deferred::Deferred;
use gyre_core::{Failure, SharedFactory};
use gyre_reactor::Reactor;
use rustix::net::AddressFamily;

use crate::endpoint::{ServerEndpoint, listened};
use crate::spec::{SystemdDomain, SystemdSpec};

/// The first descriptor passed by the service manager.
pub const LISTEN_FDS_START: RawFd = 3;

/// This process was not given the socket a `systemd:` endpoint asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSocketActivated {
    /// Why, in words.
    pub reason: String,
}

impl fmt::Display for NotSocketActivated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no socket-activated listener: {}", self.reason)
    }
}

impl std::error::Error for NotSocketActivated {}

/// How many sockets were passed to process `my_pid`, from the values of
/// `LISTEN_PID` and `LISTEN_FDS` (sans-IO: the caller reads the environment).
pub fn passed_sockets(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    my_pid: u32,
) -> Result<usize, NotSocketActivated> {
    let reason = |reason: String| NotSocketActivated { reason };
    let pid = listen_pid.ok_or_else(|| reason("LISTEN_PID is not set".into()))?;
    let pid: u32 = pid
        .trim()
        .parse()
        .map_err(|_| reason(format!("LISTEN_PID {pid:?} is not a process id")))?;
    if pid != my_pid {
        return Err(reason(format!(
            "LISTEN_PID is {pid}, not this process ({my_pid})"
        )));
    }
    let count = listen_fds.ok_or_else(|| reason("LISTEN_FDS is not set".into()))?;
    count
        .trim()
        .parse()
        .map_err(|_| reason(format!("LISTEN_FDS {count:?} is not a count")))
}

/// Serves on a socket passed by systemd (Twisted's `systemd:` endpoint).
#[derive(Clone)]
pub struct SystemdEndpoint {
    reactor: Reactor,
    spec: SystemdSpec,
}

impl SystemdEndpoint {
    /// An endpoint for the `spec.index`th passed socket.
    pub fn new(reactor: Reactor, spec: SystemdSpec) -> Self {
        SystemdEndpoint { reactor, spec }
    }

    fn adopt(&self, factory: SharedFactory) -> Result<ListeningPort, Failure> {
        let count = passed_sockets(
            std::env::var("LISTEN_PID").ok().as_deref(),
            std::env::var("LISTEN_FDS").ok().as_deref(),
            std::process::id(),
        )?;
        if self.spec.index >= count {
            return Err(Failure::new(NotSocketActivated {
                reason: format!(
                    "index {} asked for, but only {count} sockets were passed",
                    self.spec.index
                ),
            }));
        }
        let fd = RawFd::try_from(self.spec.index)
            .ok()
            .and_then(|index| LISTEN_FDS_START.checked_add(index))
            .ok_or_else(|| NotSocketActivated {
                reason: format!("index {} is out of range", self.spec.index),
            })?;
        let owned = self
            .reactor
            .take_inherited_fd(fd)
            .map_err(|error| NotSocketActivated {
                reason: format!("descriptor {fd}: {error}"),
            })?;
        let family = rustix::net::getsockname(&owned)
            .map_err(|error| Failure::new(std::io::Error::from(error)).context(format!("descriptor {fd}")))?
            .address_family();
        let expected = match self.spec.domain {
            SystemdDomain::Inet => AddressFamily::INET,
            SystemdDomain::Inet6 => AddressFamily::INET6,
            SystemdDomain::Unix => AddressFamily::UNIX,
        };
        if family != expected {
            return Err(Failure::new(NotSocketActivated {
                reason: format!("descriptor {fd} is not of domain {:?}", self.spec.domain),
            }));
        }
        self.reactor.adopt_listener(owned, factory)
    }
}

impl ServerEndpoint for SystemdEndpoint {
    fn listen(&self, factory: SharedFactory) -> Deferred<ListeningPort> {
        listened(self.adopt(factory))
    }
}
