//! [`SharedPorts`]: TCP ports that several reactors listen on together
//! with `SO_REUSEPORT`, one reactor per worker thread (`gyre --workers N`).
//!
//! Every worker parses the same descriptions, so each asks for the same
//! address; the kernel then spreads incoming connections among the
//! sockets. Port 0 needs care: each bind would pick its own free port, so
//! the first worker to listen on a requested address records the port it
//! got and the others bind that one. The record is keyed by the address
//! as written (`0.0.0.0:0` and `127.0.0.1:0` are different requests).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use gyre_core::Failure;
use gyre_core::connector::ListeningPort;

/// The ports bound so far by the workers of one program. Clones share the
/// record; give one to each worker's
/// [`EndpointRegistry::shared_ports`](crate::EndpointRegistry::shared_ports).
#[derive(Clone, Debug, Default)]
pub struct SharedPorts {
    bound: Arc<Mutex<HashMap<SocketAddr, SocketAddr>>>,
}

impl SharedPorts {
    /// An empty record.
    pub fn new() -> Self {
        SharedPorts::default()
    }

    /// Listens on `requested` (or, when a worker already listened on it
    /// with port 0, on the port that worker got) with `listen`, and records
    /// the bound address. The lock is held across the bind so that two
    /// workers never both pick a fresh port for the same request.
    pub fn listen(
        &self,
        requested: SocketAddr,
        listen: impl FnOnce(SocketAddr) -> Result<ListeningPort, Failure>,
    ) -> Result<ListeningPort, Failure> {
        let mut bound = self.bound.lock().unwrap_or_else(PoisonError::into_inner);
        let address = bound.get(&requested).copied().unwrap_or(requested);
        let port = listen(address)?;
        if let Some(address) = port.host().socket_addr() {
            bound.entry(requested).or_insert(address);
        }
        Ok(port)
    }
}
