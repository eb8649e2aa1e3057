//! What the in-memory stream transports ([`StringTransport`](crate::StringTransport)
//! and [`PairEnd`](crate::PairEnd)) share: [`BackendCore`], the state and
//! behaviour of a [`TransportBackend`] that does not depend on what happens
//! to written bytes, and [`CapabilityStore`], the canned answers to
//! capability questions.
//!
//! A test that exercises certificate-based login, say, has no TLS session to
//! ask; it tells the fake transport what the TLS layer would have answered
//! and the protocol under test asks as it would in production.
//!
//! Each backend keeps what differs (its buffer, its close semantics, its
//! kind) and implements those [`TransportBackend`] methods itself; the rest
//! it takes from [`delegate_to_backend_core!`].
//!
//! [`TransportBackend`]: gyre_core::transport::TransportBackend

use std::any::TypeId;
use std::cell::{Cell, RefCell};

use gyre_core::Failure;
use gyre_core::address::Address;
use gyre_core::capability::{Capability, CapabilityRequest};
use gyre_core::producer::{FlowControl, Producer};
use gyre_core::transport::ConnectionState;

type Answer = Box<dyn Fn(&mut CapabilityRequest<'_>)>;

/// One canned answer per capability type; a newer answer replaces an older one.
#[derive(Default)]
pub(crate) struct CapabilityStore {
    answers: RefCell<Vec<(TypeId, Answer)>>,
}

impl CapabilityStore {
    /// Answers requests for `C` with a clone of `value` from now on.
    pub(crate) fn provide<C: Capability>(&self, value: C::Value)
    where
        C::Value: Clone,
    {
        let answer: Answer = Box::new(move |request: &mut CapabilityRequest<'_>| {
            request.provide::<C>(|| value.clone());
        });
        let mut answers = self.answers.borrow_mut();
        answers.retain(|(id, _)| *id != TypeId::of::<C>());
        answers.push((TypeId::of::<C>(), answer));
    }

    /// Answers `request` if a value was provided for what it asks.
    pub(crate) fn answer(&self, request: &mut CapabilityRequest<'_>) {
        for (_, answer) in self.answers.borrow().iter() {
            answer(request);
        }
    }
}

/// The part of an in-memory transport that does not depend on its buffer:
/// its addresses, where the connection is, whether its protocol paused
/// reading, the [`FlowControl`] of its producer and the capabilities a test
/// provided.
pub(crate) struct BackendCore {
    pub(crate) host: Address,
    pub(crate) peer: Address,
    pub(crate) connection: Cell<ConnectionState>,
    pub(crate) reading_paused: Cell<bool>,
    pub(crate) flow: FlowControl,
    pub(crate) capabilities: CapabilityStore,
}

impl BackendCore {
    /// An open connection between `host` and `peer`, reading, with no
    /// producer and no capabilities.
    pub(crate) fn new(host: Address, peer: Address) -> Self {
        BackendCore {
            host,
            peer,
            connection: Cell::new(ConnectionState::Open),
            reading_paused: Cell::new(false),
            flow: FlowControl::new(),
            capabilities: CapabilityStore::default(),
        }
    }

    /// Whether the connection is closed (writes are dropped).
    pub(crate) fn is_closed(&self) -> bool {
        self.connection.get() == ConnectionState::Closed
    }

    /// The connection ended: the state becomes `Closed` and the producer is
    /// told to stop.
    pub(crate) fn end(&self) {
        self.connection.set(ConnectionState::Closed);
        self.flow.stop();
    }

    /// Registers `producer` against `buffered` bytes (asked for only when
    /// the connection is not closed). Registering on a closed transport
    /// stops the producer at once, as a socket transport does, so producers
    /// never wait on a dead consumer.
    pub(crate) fn register_producer(
        &self,
        producer: Producer,
        buffered: impl FnOnce() -> usize,
    ) -> Result<(), Failure> {
        if self.is_closed() {
            producer.stop_producing();
            return Ok(());
        }
        self.flow.register(producer, buffered())
    }
}

/// Writes, inside an `impl TransportBackend for …` block, the methods a
/// backend answers from its [`BackendCore`] field `$core`: `peer`, `host`,
/// `pause_reading`, `resume_reading`, `register_producer` (against the
/// backend's own `buffered_len`), `unregister_producer`, `set_water_marks`,
/// `state` and `capability`. The backend writes the others: `write`, the
/// three ways to close, `buffered_len` and `kind`.
macro_rules! delegate_to_backend_core {
    ($core:ident) => {
        fn peer(&self) -> ::gyre_core::address::Address {
            self.$core.peer.clone()
        }
        fn host(&self) -> ::gyre_core::address::Address {
            self.$core.host.clone()
        }
        fn pause_reading(&self) {
            self.$core.reading_paused.set(true);
        }
        fn resume_reading(&self) {
            self.$core.reading_paused.set(false);
        }
        fn register_producer(
            &self,
            producer: ::gyre_core::producer::Producer,
        ) -> ::std::result::Result<(), ::gyre_core::Failure> {
            self.$core.register_producer(producer, || {
                ::gyre_core::transport::TransportBackend::buffered_len(self)
            })
        }
        fn unregister_producer(&self) {
            self.$core.flow.unregister();
        }
        fn set_water_marks(&self, marks: ::gyre_core::producer::WaterMarks) {
            self.$core.flow.set_water_marks(marks);
        }
        fn state(&self) -> ::gyre_core::transport::ConnectionState {
            self.$core.connection.get()
        }
        fn capability(&self, request: &mut ::gyre_core::capability::CapabilityRequest<'_>) {
            self.$core.capabilities.answer(request);
        }
    };
}

pub(crate) use delegate_to_backend_core;

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_core::capability::{PeerCertificates, ProcessId};

    #[test]
    fn answers_only_what_was_provided_and_the_newest_value_wins() {
        let store = CapabilityStore::default();
        store.provide::<ProcessId>(1);
        store.provide::<ProcessId>(2);
        assert_eq!(CapabilityRequest::ask::<ProcessId>(|r| store.answer(r)), Some(2));
        assert_eq!(
            CapabilityRequest::ask::<PeerCertificates>(|r| store.answer(r)),
            None
        );
    }
}
