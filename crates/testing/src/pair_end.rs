//! [`PairEnd`]: one end of the in-memory connection behind
//! [`connect_pair`](crate::connect_pair).
//!
//! Each end buffers what its protocol writes until the
//! [`Pump`](crate::Pump) carries it across, and records close requests for
//! the pump to act on. Like every gyre transport it never calls its protocol:
//! all callbacks come from the pump.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use gyre_core::address::Address;
use gyre_core::capability::Capability;
use gyre_core::transport::{ConnectionState, Transport, TransportBackend};

use crate::backend_core::{BackendCore, delegate_to_backend_core};

/// How the protocol on an end asked to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseRequest {
    /// Still open.
    None,
    /// `lose_connection`: flush, then close.
    Lose,
    /// `abort_connection`: drop buffered bytes, close now.
    Abort,
}

/// Where the write side of an end is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteSide {
    /// Writing.
    Open,
    /// `lose_write_connection` was called; buffered bytes still go out.
    ShutdownRequested,
    /// The buffered bytes went out and the peer was told end of file.
    Shut,
}

/// One end of a connected pair: the transport its protocol writes to.
/// Clones share the end.
#[derive(Clone)]
pub struct PairEnd {
    pub(crate) shared: Rc<EndShared>,
}

pub(crate) struct EndShared {
    /// Written by this end's protocol and not yet delivered to the other end.
    pub(crate) outgoing: RefCell<Vec<u8>>,
    pub(crate) close: Cell<CloseRequest>,
    pub(crate) write_side: Cell<WriteSide>,
    /// Addresses, connection state, reading, producer and capabilities.
    pub(crate) core: BackendCore,
}

impl PairEnd {
    pub(crate) fn new(host: Address, peer: Address) -> Self {
        PairEnd {
            shared: Rc::new(EndShared {
                outgoing: RefCell::default(),
                close: Cell::new(CloseRequest::None),
                write_side: Cell::new(WriteSide::Open),
                core: BackendCore::new(host, peer),
            }),
        }
    }

    /// A handle to this end, as its protocol receives it.
    pub fn handle(&self) -> Transport {
        Transport::new(self.shared.clone())
    }

    /// Bytes this end has written that the pump has not delivered yet
    /// (held back while the other end has paused reading).
    pub fn pending(&self) -> usize {
        self.shared.outgoing.borrow().len()
    }

    /// Whether this end's protocol paused reading.
    pub fn is_reading_paused(&self) -> bool {
        self.shared.core.reading_paused.get()
    }

    /// Whether this end's push producer is paused by a full buffer.
    pub fn is_producer_paused(&self) -> bool {
        self.shared.core.flow.is_paused()
    }

    /// Makes this end answer capability `C` with clones of `value`, so a test
    /// can fake what a TLS layer would answer without running TLS.
    pub fn provide_capability<C: Capability>(&self, value: C::Value)
    where
        C::Value: Clone,
    {
        self.shared.core.capabilities.provide::<C>(value);
    }
}

impl EndShared {
    /// Removes the bytes waiting to go to the other end.
    pub(crate) fn take_outgoing(&self) -> Vec<u8> {
        std::mem::take(&mut *self.outgoing.borrow_mut())
    }

    /// The connection ended for this end: writes are dropped from now on
    /// and the producer is told to stop (before `connection_lost`, as a
    /// socket transport does).
    pub(crate) fn end(&self) {
        self.outgoing.borrow_mut().clear();
        self.core.end();
    }

    fn accepts_writes(&self) -> bool {
        !self.core.is_closed()
            && self.close.get() != CloseRequest::Abort
            && self.write_side.get() == WriteSide::Open
    }
}

impl TransportBackend for EndShared {
    fn write(&self, data: &[u8]) {
        if !self.accepts_writes() {
            return;
        }
        let buffered = {
            let mut outgoing = self.outgoing.borrow_mut();
            outgoing.extend_from_slice(data);
            outgoing.len()
        };
        self.core.flow.after_write(buffered);
    }

    fn lose_connection(&self) {
        if self.close.get() == CloseRequest::None && self.core.connection.get() == ConnectionState::Open {
            self.close.set(CloseRequest::Lose);
            self.core.connection.set(ConnectionState::Closing);
        }
    }

    /// Drops what is buffered and closes this end at once; the pump tells
    /// both protocols on its next step.
    fn abort_connection(&self) {
        if self.core.is_closed() {
            return;
        }
        self.close.set(CloseRequest::Abort);
        self.core.connection.set(ConnectionState::Closed);
        self.outgoing.borrow_mut().clear();
    }

    fn lose_write_connection(&self) {
        if self.write_side.get() == WriteSide::Open && self.core.connection.get() == ConnectionState::Open {
            self.write_side.set(WriteSide::ShutdownRequested);
        }
    }

    fn buffered_len(&self) -> usize {
        self.outgoing.borrow().len()
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    delegate_to_backend_core!(core);
}

impl fmt::Debug for PairEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairEnd")
            .field("host", &self.shared.core.host)
            .field("peer", &self.shared.core.peer)
            .field("pending", &self.pending())
            .field("state", &self.shared.core.connection.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_core::capability::NegotiatedAlpn;

    fn end() -> PairEnd {
        PairEnd::new(
            crate::string_transport::default_host(),
            crate::string_transport::default_peer(),
        )
    }

    #[test]
    fn abort_drops_buffered_bytes_and_later_writes() {
        let end = end();
        let transport = end.handle();
        transport.write(b"queued");
        assert_eq!(end.pending(), 6);
        transport.abort_connection();
        transport.write(b"late");
        assert_eq!(end.pending(), 0);
        assert!(transport.is_closed());
    }

    #[test]
    fn lose_connection_keeps_buffered_bytes_and_write_shutdown_refuses_new_ones() {
        let closing = end();
        closing.handle().write(b"last words");
        closing.handle().lose_connection();
        assert_eq!(closing.handle().state(), ConnectionState::Closing);
        assert_eq!(closing.pending(), 10);

        let half = end();
        half.handle().write(b"before");
        half.handle().lose_write_connection();
        half.handle().write(b"after");
        assert_eq!(half.shared.take_outgoing(), b"before");
    }

    #[test]
    fn answers_provided_capabilities_and_reports_its_kind() {
        let end = end();
        end.provide_capability::<NegotiatedAlpn>(Some(b"h2".to_vec()));
        assert_eq!(
            end.handle().capability::<NegotiatedAlpn>().unwrap(),
            Some(b"h2".to_vec())
        );
        assert_eq!(end.handle().kind(), "memory");
    }
}
