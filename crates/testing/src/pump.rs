//! [`connect_pair`] and [`Pump`]: a client and a server protocol connected
//! in memory (Twisted's `iosim.connect` and `IOPump`).
//!
//! Each protocol gets its own in-memory transport ([`PairEnd`]). Writes are
//! buffered on the writer's end; [`Pump::pump`] carries them across and
//! delivers the connection events, step by step, until nothing moves. So a
//! test sees the two protocols talk exactly as far as it pumps, and every
//! callback happens from the pump, never from inside a transport call.
//!
//! What the pump delivers, in each step:
//! 1. bytes buffered by the server to the client, then bytes buffered by the
//!    client to the server, unless the receiver paused reading or asked to
//!    close (the bytes then wait on the writer's end, where they count
//!    towards its producer's high-water mark);
//! 2. at most one connection event:
//!    * `abort_connection` on either end: its buffered bytes are dropped, it
//!      gets `connection_lost(ConnectionAborted)` and the other end
//!      `connection_lost(ConnectionLost)`;
//!    * `lose_connection` once the closer's bytes were delivered: both get
//!      `connection_lost(ConnectionDone)`, the closer first;
//!    * `lose_write_connection` once the writer's bytes were delivered and
//!      the reader is not paused: the writer gets `write_connection_lost`
//!      and the reader `read_connection_lost`; when both ends have shut
//!      their write sides, both get `connection_lost(ConnectionDone)`.
//!
//! # TLS and other wrappers
//! The pump moves bytes between the *outermost* protocols and is generic
//! over them. A TLS wrapper is itself a [`Protocol`] around an application
//! protocol, so a TLS test connects two wrappers,
//! `connect_pair(TlsServer::new(config, app), TlsClient::new(config, app))`,
//! and the handshake, records and close-notify all cross the pump as bytes.
//! Tests that only need what TLS would *answer* (a peer certificate, ALPN)
//! can skip TLS and use [`PairEnd::provide_capability`] instead.

use std::fmt;

use gyre_core::address::Address;
use gyre_core::errors::{ConnectionAborted, ConnectionDone, ConnectionLost};
use gyre_core::transport::Transport;
use gyre_core::{Failure, Protocol};

use crate::pair_end::{CloseRequest, PairEnd, WriteSide};
use crate::string_transport::{default_host, default_peer};

/// How many steps one [`Pump::pump`] may take before it concludes the two
/// protocols will talk forever.
pub const MAX_PUMP_STEPS: usize = 100_000;

/// A connected server and client, and the pump between them.
///
/// ```
/// use gyre_core::{Protocol, Transport};
/// use gyre_testing::connect_pair;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         transport.write(data);
///     }
/// }
///
/// #[derive(Default)]
/// struct Client {
///     received: Vec<u8>,
/// }
/// impl Protocol for Client {
///     fn connection_made(&mut self, transport: &Transport) {
///         transport.write(b"ping");
///     }
///     fn data_received(&mut self, _: &Transport, data: &[u8]) {
///         self.received.extend_from_slice(data);
///     }
/// }
///
/// let mut pair = gyre_testing::connect_pair(Echo, Client::default());
/// assert!(pair.pump());
/// assert_eq!(pair.client().received, b"ping");
/// ```
pub struct Pump<S: Protocol, C: Protocol> {
    server: Side<S>,
    client: Side<C>,
}

struct Side<P> {
    protocol: P,
    end: PairEnd,
    handle: Transport,
    lost: bool,
}

impl<P: Protocol> Side<P> {
    fn new(protocol: P, end: PairEnd) -> Self {
        let handle = end.handle();
        Side {
            protocol,
            end,
            handle,
            lost: false,
        }
    }

    fn lose(&mut self, reason: Failure) {
        self.protocol.connection_lost(&self.handle, reason);
    }
}

/// Which end started a close.
#[derive(Clone, Copy)]
enum Closer {
    Server,
    Client,
}

/// Connects `server` and `client` in memory, the server at
/// [`default_host`](crate::string_transport::default_host) and the client at
/// [`default_peer`](crate::string_transport::default_peer), and calls
/// `connection_made` on both, server first. Nothing is delivered until the
/// first [`Pump::pump`].
pub fn connect_pair<S: Protocol, C: Protocol>(server: S, client: C) -> Pump<S, C> {
    connect_pair_with_addresses(server, client, default_host(), default_peer())
}

/// [`connect_pair`] with chosen addresses: the server's transport reports
/// `server_address` as its host and `client_address` as its peer, and the
/// client's the other way round.
pub fn connect_pair_with_addresses<S: Protocol, C: Protocol>(
    server: S,
    client: C,
    server_address: Address,
    client_address: Address,
) -> Pump<S, C> {
    let server_end = PairEnd::new(server_address.clone(), client_address.clone());
    let client_end = PairEnd::new(client_address, server_address);
    let mut pump = Pump {
        server: Side::new(server, server_end),
        client: Side::new(client, client_end),
    };
    pump.server.protocol.connection_made(&pump.server.handle);
    pump.client.protocol.connection_made(&pump.client.handle);
    pump
}

/// Delivers what `from` has buffered to `to`; whether any bytes moved.
fn transfer<A: Protocol, B: Protocol>(from: &Side<A>, to: &mut Side<B>) -> bool {
    let receiver = &to.end.shared;
    let receiver_waits = receiver.core.reading_paused.get() || receiver.close.get() != CloseRequest::None;
    if from.lost || to.lost || receiver_waits {
        return false;
    }
    let data = from.end.shared.take_outgoing();
    if data.is_empty() {
        return false;
    }
    to.protocol.data_received(&to.handle, &data);
    let left = from.end.pending();
    from.end.shared.core.flow.after_flush(left);
    true
}

impl<S: Protocol, C: Protocol> Pump<S, C> {
    /// Takes one step: bytes each way, then at most one connection event.
    /// Returns whether anything moved.
    pub fn pump_once(&mut self) -> bool {
        let to_client = transfer(&self.server, &mut self.client);
        let to_server = transfer(&self.client, &mut self.server);
        let event = self.close_step();
        to_client || to_server || event
    }

    /// Steps until nothing moves: every byte the protocols write in answer
    /// to each other is delivered, unless a receiver paused. Returns whether
    /// anything moved at all.
    ///
    /// # Panics
    /// After [`MAX_PUMP_STEPS`] steps that all moved something: the
    /// protocols answer each other forever.
    #[track_caller]
    pub fn pump(&mut self) -> bool {
        for step in 0..MAX_PUMP_STEPS {
            if !self.pump_once() {
                return step > 0;
            }
        }
        panic!(
            "Pump::pump took {MAX_PUMP_STEPS} steps and the protocols are still talking; \
             they probably answer every message with another one"
        );
    }

    /// Pumps until nothing moves and returns the pump, for chaining:
    /// `pair.flush().client()`.
    #[track_caller]
    pub fn flush(&mut self) -> &mut Self {
        self.pump();
        self
    }

    fn close_step(&mut self) -> bool {
        if self.server.lost {
            return false;
        }
        let server = self.server.end.shared.clone();
        let client = self.client.end.shared.clone();
        if server.close.get() == CloseRequest::Abort {
            self.end_connection(Closer::Server, aborted(), lost());
        } else if client.close.get() == CloseRequest::Abort {
            self.end_connection(Closer::Client, aborted(), lost());
        } else if server.close.get() == CloseRequest::Lose && self.server.end.pending() == 0 {
            self.end_connection(Closer::Server, done(), done());
        } else if client.close.get() == CloseRequest::Lose && self.client.end.pending() == 0 {
            self.end_connection(Closer::Client, done(), done());
        } else if server.write_side.get() == WriteSide::ShutdownRequested
            && self.server.end.pending() == 0
            && !client.core.reading_paused.get()
        {
            server.write_side.set(WriteSide::Shut);
            self.server.protocol.write_connection_lost(&self.server.handle);
            self.client.protocol.read_connection_lost(&self.client.handle);
        } else if client.write_side.get() == WriteSide::ShutdownRequested
            && self.client.end.pending() == 0
            && !server.core.reading_paused.get()
        {
            client.write_side.set(WriteSide::Shut);
            self.client.protocol.write_connection_lost(&self.client.handle);
            self.server.protocol.read_connection_lost(&self.server.handle);
        } else if server.write_side.get() == WriteSide::Shut && client.write_side.get() == WriteSide::Shut {
            self.end_connection(Closer::Server, done(), done());
        } else {
            return false;
        }
        true
    }

    /// Ends both sides (writes dropped, producers stopped), then tells the
    /// closer and then its peer.
    fn end_connection(&mut self, closer: Closer, closer_reason: Failure, peer_reason: Failure) {
        self.server.lost = true;
        self.client.lost = true;
        self.server.end.shared.end();
        self.client.end.shared.end();
        match closer {
            Closer::Server => {
                self.server.lose(closer_reason);
                self.client.lose(peer_reason);
            }
            Closer::Client => {
                self.client.lose(closer_reason);
                self.server.lose(peer_reason);
            }
        }
    }

    /// The server protocol.
    pub fn server(&mut self) -> &mut S {
        &mut self.server.protocol
    }

    /// The client protocol.
    pub fn client(&mut self) -> &mut C {
        &mut self.client.protocol
    }

    /// The handle the server protocol writes to.
    pub fn server_transport(&self) -> Transport {
        self.server.handle.clone()
    }

    /// The handle the client protocol writes to.
    pub fn client_transport(&self) -> Transport {
        self.client.handle.clone()
    }

    /// The server's end, to see what is pending or provide capabilities.
    pub fn server_end(&self) -> &PairEnd {
        &self.server.end
    }

    /// The client's end, to see what is pending or provide capabilities.
    pub fn client_end(&self) -> &PairEnd {
        &self.client.end
    }

    /// Whether `connection_lost` has not been delivered yet.
    pub fn is_connected(&self) -> bool {
        !self.server.lost
    }

    /// Gives back both protocols, server first.
    pub fn into_protocols(self) -> (S, C) {
        (self.server.protocol, self.client.protocol)
    }
}

fn done() -> Failure {
    Failure::new(ConnectionDone::new())
}

fn aborted() -> Failure {
    Failure::new(ConnectionAborted::new())
}

fn lost() -> Failure {
    Failure::new(ConnectionLost::new())
}

#[cfg(test)]
#[path = "pump_tests.rs"]
mod tests;

impl<S: Protocol, C: Protocol> fmt::Debug for Pump<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pump")
            .field("server", &self.server.end)
            .field("client", &self.client.end)
            .field("connected", &self.is_connected())
            .finish()
    }
}
