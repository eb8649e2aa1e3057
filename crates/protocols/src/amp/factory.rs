//! Serving and connecting: [`AmpFactory`] builds an [`AmpProtocol`] per
//! incoming connection; [`connect_amp`] connects one through a client
//! endpoint and hands back its [`Amp`] handle.

use std::rc::Rc;

use gyre_core::deferred::Deferred;
use gyre_core::{Address, Factory, Protocol};
use gyre_endpoints::{ClientEndpoint, connect_protocol};

use super::config::AmpConfig;
use super::connection::{Amp, AmpProtocol};
use super::responders::Responders;

/// Runs with each new connection.
type SharedHook = Rc<dyn Fn(&Amp)>;

/// A server factory: every connection answers with a clone of the same
/// [`Responders`] and may call its client back.
///
/// ```
/// use gyre_core::{Address, Factory};
/// use gyre_protocols::amp::{AmpFactory, Responders};
///
/// let mut factory = AmpFactory::new(Responders::new())
///     .on_connection(|amp| println!("client connected: {amp:?}"));
/// let peer = Address::tcp("127.0.0.1:4000".parse().unwrap());
/// assert!(factory.build_protocol(&peer).is_some());
/// ```
pub struct AmpFactory {
    responders: Responders,
    config: AmpConfig,
    on_connection: Option<SharedHook>,
}

impl AmpFactory {
    /// Connections answer with `responders` and the default limits.
    pub fn new(responders: Responders) -> Self {
        AmpFactory {
            responders,
            config: AmpConfig::default(),
            on_connection: None,
        }
    }

    /// Uses `config` for every connection.
    pub fn with_config(mut self, config: AmpConfig) -> Self {
        self.config = config;
        self
    }

    /// Runs `f` with each new connection once it is made.
    pub fn on_connection(mut self, f: impl Fn(&Amp) + 'static) -> Self {
        self.on_connection = Some(Rc::new(f));
        self
    }
}

impl Factory for AmpFactory {
    fn build_protocol(&mut self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let mut protocol = AmpProtocol::with_config(self.responders.clone(), self.config.clone());
        if let Some(hook) = self.on_connection.clone() {
            protocol = protocol.on_connection_made(move |amp| hook(amp));
        }
        Some(Box::new(protocol))
    }
}

/// Connects `protocol` through `endpoint`; the Deferred fires with the
/// connection's [`Amp`] handle once it is up.
pub fn connect_amp(endpoint: &dyn ClientEndpoint, protocol: AmpProtocol) -> Deferred<Amp> {
    let amp = protocol.amp();
    connect_protocol(endpoint, protocol).map(move |_| amp)
}
