//! [`SocksServerFactory`]: the SOCKS4/4a/5 server, the adapter between a
//! gyre connection and the sans-IO [`ServerHandshake`].
//!
//! Each connection gets a `Session` (`session.rs`; shared, because the
//! password check, the outgoing connection, a BIND listener and a UDP
//! relay all answer later). The session feeds bytes to the handshake,
//! writes what it queues, and carries out its events: checks passwords with the
//! [`PasswordChecker`], asks the [`AccessPolicy`], then connects (through
//! a `HostnameEndpoint`, so host names are resolved by the pluggable
//! `HostResolver` off the loop), listens (BIND) or binds a UDP relay
//! (`commands.rs`). A client that has not sent its whole request within
//! the handshake timeout is disconnected (the timer runs on the reactor's
//! `Clock`).

use std::rc::Rc;
use std::time::Duration;

use gyre_core::clock::Clock;
use gyre_core::interfaces::{ReactorTcp, ReactorUdp};
use gyre_core::{Address, Factory, Failure, Protocol, Transport};
use gyre_endpoints::HostResolver;

use super::auth::{AccessPolicy, PasswordChecker};
use super::session::Session;
use crate::portforward::RelayConfig;

/// The default time a client has to send its complete request.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time a BIND waits for the remote host to connect.
pub const DEFAULT_BIND_TIMEOUT: Duration = Duration::from_secs(120);
/// The default connect timeout for CONNECT targets (per address tried).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection of one server shares.
#[derive(Clone)]
pub(crate) struct Settings<R> {
    pub(crate) reactor: R,
    pub(crate) resolver: Rc<dyn HostResolver>,
    pub(crate) checker: Option<Rc<dyn PasswordChecker>>,
    pub(crate) policy: Option<Rc<dyn AccessPolicy>>,
    pub(crate) handshake_timeout: Duration,
    pub(crate) bind_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) relay: RelayConfig,
    pub(crate) allow_socks4: bool,
    pub(crate) allow_bind: bool,
    pub(crate) allow_udp: bool,
}

/// A SOCKS server: SOCKS4, SOCKS4a and SOCKS5 on one port, told apart by
/// the first byte.
///
/// Without a password checker SOCKS5 clients use "no authentication" and
/// SOCKS4 is served; with one, SOCKS5 clients must authenticate
/// (RFC 1929) and SOCKS4 requests, which cannot carry a password, are
/// refused unless [`allow_socks4`](Self::allow_socks4) says otherwise.
///
/// ```
/// use std::rc::Rc;
/// use gyre_core::SharedFactory;
/// use gyre_endpoints::StaticResolver;
/// use gyre_protocols::socks::{SocksServerFactory, StaticPasswords};
/// use gyre_testing::MemoryReactor;
///
/// let reactor = MemoryReactor::new();
/// let factory = SocksServerFactory::new(reactor.clone(), Rc::new(StaticResolver::new()))
///     .with_password_checker(Rc::new(StaticPasswords::new().with_user("alice", "secret")));
/// let _shared = SharedFactory::new(factory);
/// ```
pub struct SocksServerFactory<R> {
    settings: Rc<Settings<R>>,
}

impl<R> SocksServerFactory<R>
where
    R: ReactorTcp + ReactorUdp + Clock + Clone + 'static,
{
    /// A server connecting through `reactor` and resolving host names
    /// with `resolver` (`ThreadedResolver` in production).
    pub fn new(reactor: R, resolver: Rc<dyn HostResolver>) -> Self {
        SocksServerFactory {
            settings: Rc::new(Settings {
                reactor,
                resolver,
                checker: None,
                policy: None,
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                bind_timeout: DEFAULT_BIND_TIMEOUT,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                relay: RelayConfig::default(),
                allow_socks4: true,
                allow_bind: true,
                allow_udp: true,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Settings<R>)) -> Self {
        f(Rc::make_mut(&mut self.settings));
        self
    }

    /// Requires SOCKS5 username/password authentication checked by
    /// `checker`, and refuses SOCKS4.
    pub fn with_password_checker(self, checker: Rc<dyn PasswordChecker>) -> Self {
        self.edit(|s| {
            s.checker = Some(checker);
            s.allow_socks4 = false;
        })
    }

    /// Asks `policy` about every request (and every UDP destination).
    pub fn with_policy(self, policy: Rc<dyn AccessPolicy>) -> Self {
        self.edit(|s| s.policy = Some(policy))
    }

    /// Whether SOCKS4/4a requests are served (default: unless a password
    /// checker is set).
    pub fn allow_socks4(self, allow: bool) -> Self {
        self.edit(|s| s.allow_socks4 = allow)
    }

    /// Whether BIND is served (default yes).
    pub fn allow_bind(self, allow: bool) -> Self {
        self.edit(|s| s.allow_bind = allow)
    }

    /// Whether UDP ASSOCIATE is served (default yes).
    pub fn allow_udp(self, allow: bool) -> Self {
        self.edit(|s| s.allow_udp = allow)
    }

    /// Time a client has to send its complete request (default 30 s).
    pub fn handshake_timeout(self, timeout: Duration) -> Self {
        self.edit(|s| s.handshake_timeout = timeout)
    }

    /// Time a BIND waits for the remote host (default 120 s).
    pub fn bind_timeout(self, timeout: Duration) -> Self {
        self.edit(|s| s.bind_timeout = timeout)
    }

    /// Connect timeout per address for CONNECT (default 30 s).
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.edit(|s| s.connect_timeout = timeout)
    }

    /// Settings of the relays (bytes held while connecting).
    pub fn relay_config(self, config: RelayConfig) -> Self {
        self.edit(|s| s.relay = config)
    }
}

impl<R> Factory for SocksServerFactory<R>
where
    R: ReactorTcp + ReactorUdp + Clock + Clone + 'static,
{
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(SocksServerProtocol {
            settings: self.settings.clone(),
            session: None,
        }))
    }
}

/// One client connection.
struct SocksServerProtocol<R> {
    settings: Rc<Settings<R>>,
    session: Option<Rc<Session<R>>>,
}

impl<R> Protocol for SocksServerProtocol<R>
where
    R: ReactorTcp + ReactorUdp + Clock + Clone + 'static,
{
    fn connection_made(&mut self, transport: &Transport) {
        self.session = Some(Session::start(self.settings.clone(), transport));
    }

    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        if let Some(session) = &self.session {
            session.input(data);
        }
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        let relay = self.session.as_ref().and_then(|s| s.relay.borrow().clone());
        match relay {
            Some(relay) => relay.read_connection_lost(),
            None => transport.lose_connection(),
        }
    }

    fn connection_lost(&mut self, _: &Transport, _: Failure) {
        if let Some(session) = self.session.take() {
            session.end();
        }
    }
}
