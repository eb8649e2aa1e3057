//! Carrying out a granted-by-policy SOCKS request: CONNECT through a
//! `HostnameEndpoint`, BIND on a listening port, UDP ASSOCIATE on a UDP
//! relay, and [`reply_code_for`], which turns a connection failure into
//! the reply the client sees.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use gyre_core::clock::{Clock, ClockExt};
use gyre_core::errors::{ConnectionRefused, DnsLookupFailed, TimedOut};
use gyre_core::interfaces::{ReactorTcp, ReactorUdp};
use gyre_core::{Address, Factory, Failure, Protocol, SharedFactory, simple_error};
use gyre_endpoints::HostnameEndpoint;
use gyre_endpoints::errors::NoAddresses;

use super::handshake::SocksRequest;
use super::session::Session;
use super::udp_relay::UdpRelay;
use super::wire::{Command, ReplyCode, TargetAddr};
use crate::portforward::Relay;

simple_error!(
    /// A host other than the one named in a BIND request connected to the
    /// BIND port; SOCKS4 says to refuse it.
    UnexpectedBindPeer,
    "a different host connected to the BIND port"
);

/// The SOCKS5 reply for a failed connection attempt: refused, host or
/// network unreachable (a name that does not resolve is an unreachable
/// host, as is a timeout), or a general failure.
pub fn reply_code_for(failure: &Failure) -> ReplyCode {
    if failure.is::<ConnectionRefused>() {
        return ReplyCode::ConnectionRefused;
    }
    if failure.is::<DnsLookupFailed>() || failure.is::<NoAddresses>() || failure.is::<TimedOut>() {
        return ReplyCode::HostUnreachable;
    }
    match failure.downcast_ref::<io::Error>().map(io::Error::kind) {
        Some(io::ErrorKind::ConnectionRefused) => ReplyCode::ConnectionRefused,
        Some(io::ErrorKind::NetworkUnreachable) => ReplyCode::NetworkUnreachable,
        Some(io::ErrorKind::HostUnreachable) => ReplyCode::HostUnreachable,
        _ => ReplyCode::GeneralFailure,
    }
}

/// The address as a reply carries it.
fn socket_addr(address: &Address) -> SocketAddr {
    address
        .socket_addr()
        .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
}

impl<R> Session<R>
where
    R: ReactorTcp + ReactorUdp + Clock + Clone + 'static,
{
    /// Starts what `request` asks for; the reply follows when it is known.
    pub(crate) fn carry_out(&self, request: SocksRequest) {
        let settings = &self.settings;
        match request.command {
            Command::Connect => self.connect(&request.target),
            Command::Bind if settings.allow_bind => self.bind(&request.target),
            Command::UdpAssociate if settings.allow_udp => self.associate(&request),
            _ => {
                self.machine.borrow_mut().reject(ReplyCode::CommandNotSupported);
            }
        }
    }

    /// A relay for this connection whose outcome is answered to the
    /// client: CONNECT replies with the address it connected from, BIND
    /// (second reply) with the address of the host that connected.
    fn new_relay(&self, bind: bool) -> Relay {
        let relay = Relay::new(&self.transport, self.settings.relay);
        let weak = self.me.clone();
        relay.when_connected(move |_inbound, far| {
            if let Some(session) = weak.upgrade() {
                session.stop_listener();
                if bind {
                    let remote = socket_addr(&far.peer());
                    session.answer(|machine| machine.bind_connected(remote));
                } else {
                    let bound = socket_addr(&far.host());
                    session.answer(|machine| machine.grant(bound));
                }
            }
        });
        let weak = self.me.clone();
        relay.when_failed(move |_inbound, failure| {
            if let Some(session) = weak.upgrade() {
                session.stop_listener();
                let code = reply_code_for(&failure);
                tracing::debug!(target: "gyre::socks", %failure, %code, "request failed");
                session.answer(|machine| machine.reject(code));
            }
        });
        *self.relay.borrow_mut() = Some(relay.clone());
        relay
    }

    fn connect(&self, target: &TargetAddr) {
        let relay = self.new_relay(false);
        let host = match target {
            TargetAddr::Ip(addr) => addr.ip().to_string(),
            TargetAddr::Domain { host, .. } => host.clone(),
        };
        let settings = &self.settings;
        let endpoint = HostnameEndpoint::new(
            settings.reactor.clone(),
            settings.resolver.clone(),
            &host,
            target.port(),
        )
        .timeout(settings.connect_timeout);
        relay.connect(&endpoint);
    }

    /// BIND: listen on this connection's own address, reply with the port,
    /// relay the first connection from the expected host.
    fn bind(&self, target: &TargetAddr) {
        let host_ip = socket_addr(&self.transport.host()).ip();
        let relay = self.new_relay(true);
        let expected = match target {
            TargetAddr::Ip(addr) if !addr.ip().is_unspecified() => Some(addr.ip()),
            _ => None,
        };
        let gate = SharedFactory::new(BindGate {
            far: relay.far_factory(),
            expected,
            relay: relay.clone(),
            clock: Rc::new(self.settings.reactor.clone()),
        });
        let listened = self
            .settings
            .reactor
            .listen_tcp(SocketAddr::new(host_ip, 0), gate, 1);
        let port = match listened {
            Ok(port) => port,
            Err(failure) => {
                tracing::debug!(target: "gyre::socks", %failure, "BIND could not listen");
                relay.fail(failure);
                return;
            }
        };
        let bound = socket_addr(&port.host());
        *self.listener.borrow_mut() = Some(port);
        self.machine.borrow_mut().grant(bound);
        let timeout = self.settings.bind_timeout;
        let weak = self.me.clone();
        let timer = self.settings.reactor.call_later(timeout, move || {
            let relay = weak.upgrade().and_then(|session| session.relay.borrow().clone());
            if let Some(relay) = relay {
                relay.fail(Failure::new(TimedOut::new()).context("nobody connected to the BIND port"));
            }
        });
        *self.timer.borrow_mut() = Some(timer);
    }

    /// UDP ASSOCIATE: a relay socket on this connection's own address, for
    /// datagrams from the client's address only.
    fn associate(&self, request: &SocksRequest) {
        let host_ip = socket_addr(&self.transport.host()).ip();
        let client = socket_addr(&self.transport.peer()).ip();
        let port = request.target.port();
        let relay = UdpRelay::new(
            self.transport.peer(),
            client,
            (port != 0).then_some(port),
            self.user.borrow().clone(),
            self.settings.resolver.clone(),
            self.settings.policy.clone(),
        );
        match self
            .settings
            .reactor
            .listen_udp(SocketAddr::new(host_ip, 0), Box::new(relay))
        {
            Ok(udp) => {
                let bound = socket_addr(&udp.host());
                *self.udp.borrow_mut() = Some(udp);
                self.machine.borrow_mut().grant(bound);
            }
            Err(failure) => {
                tracing::debug!(target: "gyre::socks", %failure, "UDP ASSOCIATE could not bind");
                self.machine.borrow_mut().reject(ReplyCode::GeneralFailure);
            }
        }
    }
}

/// The factory of a BIND port: the expected host's first connection gets
/// the relay's far side; another host fails the BIND (on the next turn:
/// failing stops the port, which must not happen while it is building).
struct BindGate {
    far: SharedFactory,
    expected: Option<IpAddr>,
    relay: Relay,
    clock: Rc<dyn Clock>,
}

impl Factory for BindGate {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let ip = peer.socket_addr().map(|addr| addr.ip());
        if let (Some(expected), Some(ip)) = (self.expected, ip)
            && expected.to_canonical() != ip.to_canonical()
        {
            let failure = Failure::new(UnexpectedBindPeer::new()).context(format!("{ip} connected"));
            let relay = self.relay.clone();
            self.clock.call_later(Duration::ZERO, move || relay.fail(failure));
            return None;
        }
        self.far.build_protocol(peer)
    }
}
