//! Applying a policy to every connection of a factory:
//! [`PolicyFactory`] decides, per incoming connection, whether it is
//! admitted and with which per-connection [`Policy`]; [`wrap_factory`]
//! turns it and any [`SharedFactory`] into a new `SharedFactory`.
//!
//! The result is an ordinary factory, so it can be handed to a listening
//! port or an endpoint, or wrapped again by another policy: the outermost
//! wrapper sees the connection first.

use gyre_core::address::Address;
use gyre_core::{Factory, Protocol, SharedFactory};

use crate::policies::wrap::{Policy, Wrapped};

/// What becomes of a new connection.
pub enum Admission<W> {
    /// Build the wrapped factory's protocol and run it behind this policy.
    Admit(W),
    /// Close the connection at once (the factory builds nothing).
    Refuse,
    /// Run this protocol instead of the wrapped factory's (a "busy" answer
    /// for connections over a limit).
    Divert(Box<dyn Protocol>),
}

impl<W> std::fmt::Debug for Admission<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Admission::Admit(_) => "Admit",
            Admission::Refuse => "Refuse",
            Admission::Divert(_) => "Divert",
        })
    }
}

/// Makes the per-connection policy of each new connection.
pub trait PolicyFactory: 'static {
    /// The policy each admitted connection runs behind.
    type Policy: Policy;

    /// Decides about a connection from `peer`.
    fn admit(&mut self, peer: &Address) -> Admission<Self::Policy>;

    /// The wrapped factory's first port started.
    fn start(&mut self) {}

    /// The wrapped factory's last port stopped.
    fn stop(&mut self) {}
}

/// A [`PolicyFactory`] made from a closure, for one-off policies.
pub struct FnPolicies<F>(F);

/// Makes a [`PolicyFactory`] from `admit`.
///
/// ```
/// use gyre_core::{Address, SharedFactory, protocol_factory};
/// use gyre_protocols::policies::{Admission, policy_fn, wrap_factory, TrafficLog};
/// # struct Echo;
/// # impl gyre_core::Protocol for Echo {
/// #     fn data_received(&mut self, t: &gyre_core::Transport, d: &[u8]) { t.write(d) }
/// # }
/// // Refuse one address, log everyone else's traffic.
/// let log = TrafficLog::new();
/// let policies = policy_fn(move |peer: &Address| match peer.socket_addr() {
///     Some(addr) if addr.ip().is_unspecified() => Admission::Refuse,
///     _ => Admission::Admit(log.logger(peer)),
/// });
/// let factory = wrap_factory(SharedFactory::new(protocol_factory(|_: &Address| Echo)), policies);
/// let peer = Address::tcp("0.0.0.0:1".parse().unwrap());
/// assert!(factory.build_protocol(&peer).is_none());
/// ```
pub fn policy_fn<W, F>(admit: F) -> FnPolicies<F>
where
    W: Policy,
    F: FnMut(&Address) -> Admission<W> + 'static,
{
    FnPolicies(admit)
}

impl<W, F> PolicyFactory for FnPolicies<F>
where
    W: Policy,
    F: FnMut(&Address) -> Admission<W> + 'static,
{
    type Policy = W;

    fn admit(&mut self, peer: &Address) -> Admission<W> {
        (self.0)(peer)
    }
}

/// A factory whose protocols run behind the policies `policies` makes.
struct PolicyWrappedFactory<F> {
    factory: SharedFactory,
    policies: F,
}

impl<F: PolicyFactory> Factory for PolicyWrappedFactory<F> {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        match self.policies.admit(peer) {
            Admission::Admit(policy) => {
                // A refusal by the wrapped factory drops `policy`, which
                // releases whatever it reserved (a connection slot).
                let protocol = self.factory.build_protocol(peer)?;
                Some(Box::new(Wrapped::new(policy, protocol)))
            }
            Admission::Refuse => None,
            Admission::Divert(protocol) => Some(protocol),
        }
    }

    fn start_factory(&mut self) {
        self.policies.start();
        self.factory.do_start();
    }

    fn stop_factory(&mut self) {
        self.factory.do_stop();
        self.policies.stop();
    }
}

/// `factory` with every connection it builds admitted by `policies` and
/// run behind the policy they choose. Start and stop reach `factory`.
pub fn wrap_factory<F: PolicyFactory>(factory: SharedFactory, policies: F) -> SharedFactory {
    SharedFactory::new(PolicyWrappedFactory { factory, policies })
}
