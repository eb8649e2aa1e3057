//! [`Outcome`]: what a Deferred callback may return.

use super::Deferred;
use super::chain::Step;
use crate::failure::Failure;

/// What a callback may return: a result for the next callback, or a
/// Deferred to wait on first.
///
/// * `Result<U, Failure>`: a value, or a failure that switches the chain to
///   its errback path. `?` converts any error into a `Failure`.
/// * `Deferred<U>`: the chain pauses until that Deferred fires, then goes on
///   with its result.
/// * `()`: a unit value, for callbacks run only for their effect.
pub trait Outcome: 'static {
    /// The type of the value the next callback receives.
    type Value: 'static;

    /// Converts into the chain's internal continuation.
    #[doc(hidden)]
    fn into_continuation(self) -> Continuation;
}

/// The chain's internal form of an [`Outcome`]; opaque.
#[doc(hidden)]
pub struct Continuation(pub(crate) Step);

impl<U: 'static> Outcome for Result<U, Failure> {
    type Value = U;

    fn into_continuation(self) -> Continuation {
        Continuation(Step::Ready(
            self.map(|value| Box::new(value) as Box<dyn std::any::Any>),
        ))
    }
}

impl<U: 'static> Outcome for Deferred<U> {
    type Value = U;

    fn into_continuation(self) -> Continuation {
        Continuation(Step::Wait(self.into_chain()))
    }
}

impl Outcome for () {
    type Value = ();

    fn into_continuation(self) -> Continuation {
        Continuation(Step::Ready(Ok(Box::new(()))))
    }
}
