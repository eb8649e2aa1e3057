//! Canned answers to capability questions, shared by the in-memory transports.
//!
//! A test that exercises certificate-based login, say, has no TLS session to
//! ask; it tells the fake transport what the TLS layer would have answered
//! and the protocol under test asks as it would in production.

use std::any::TypeId;
use std::cell::RefCell;

use gyre_core::capability::{Capability, CapabilityRequest};

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
