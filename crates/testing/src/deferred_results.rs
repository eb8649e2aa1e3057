//! Reading a [`Deferred`]'s result in a test (Trial's `successResultOf`,
//! `failureResultOf` and `assertNoResult`).
//!
//! With a manual clock and in-memory transports nothing waits on real I/O,
//! so a Deferred under test has either fired by the time the test looks or
//! it never will. These helpers take the result out synchronously and fail
//! the test with a clear message when it is not what was expected, instead
//! of leaving it to a callback that might silently never run.

use std::any::type_name;
use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::{Deferred, Failure};

/// Takes the result out of `d`, or `None` when it has none yet.
fn take_result<T: 'static>(d: Deferred<T>) -> Option<Result<T, Failure>> {
    let slot: Rc<RefCell<Option<Result<T, Failure>>>> = Rc::new(RefCell::new(None));
    let filled = slot.clone();
    let _tail = d.then(move |result: Result<T, Failure>| {
        *filled.borrow_mut() = Some(result);
    });
    slot.borrow_mut().take()
}

/// The value `d` succeeded with.
///
/// # Panics
/// When `d` has no result yet, or failed (printing the failure, with its
/// backtrace when one was captured).
///
/// ```
/// use gyre_core::deferred::succeed;
/// use gyre_testing::success_result_of;
///
/// assert_eq!(success_result_of(succeed(42)), 42);
/// ```
#[track_caller]
pub fn success_result_of<T: 'static>(d: Deferred<T>) -> T {
    match take_result(d) {
        Some(Ok(value)) => value,
        Some(Err(failure)) => panic!(
            "success_result_of: expected the Deferred<{}> to have succeeded, but it failed with: \
             {failure:#}\n{failure:?}",
            type_name::<T>()
        ),
        None => panic!(
            "success_result_of: expected the Deferred<{}> to have succeeded, but it has no result yet",
            type_name::<T>()
        ),
    }
}

/// The failure `d` failed with. Taking it marks it as handled, so it is not
/// reported as unhandled when the Deferred goes away.
///
/// # Panics
/// When `d` has no result yet, or succeeded.
///
/// ```
/// use gyre_core::Failure;
/// use gyre_core::deferred::fail;
/// use gyre_testing::failure_result_of;
///
/// let failure = failure_result_of(fail::<u8>(Failure::msg("refused")));
/// assert_eq!(failure.to_string(), "refused");
/// ```
#[track_caller]
pub fn failure_result_of<T: 'static>(d: Deferred<T>) -> Failure {
    match take_result(d) {
        Some(Err(failure)) => failure,
        Some(Ok(_)) => panic!(
            "failure_result_of: expected the Deferred<{}> to have failed, but it succeeded",
            type_name::<T>()
        ),
        None => panic!(
            "failure_result_of: expected the Deferred<{}> to have failed, but it has no result yet",
            type_name::<T>()
        ),
    }
}

/// Checks that `d` has no result yet (it is still waiting).
///
/// # Panics
/// When `d` has a result.
///
/// ```
/// use gyre_core::Deferred;
/// use gyre_testing::{assert_no_result, success_result_of};
///
/// let (d, resolver) = Deferred::<&str>::new();
/// assert_no_result(&d);
/// resolver.callback("done");
/// assert_eq!(success_result_of(d), "done");
/// ```
#[track_caller]
pub fn assert_no_result<T: 'static>(d: &Deferred<T>) {
    assert!(
        !d.has_result(),
        "assert_no_result: expected the Deferred<{}> to have no result yet, but it has one",
        type_name::<T>()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::panic_message;
    use gyre_core::deferred::{fail, succeed};
    use gyre_core::errors::{ConnectionRefused, TimedOut};

    #[test]
    fn success_result_of_takes_the_value_of_a_fired_deferred() {
        let (d, resolver) = Deferred::<Vec<u8>>::new();
        resolver.callback(b"payload".to_vec());
        assert_eq!(success_result_of(d), b"payload");
    }

    #[test]
    fn success_result_of_a_failure_prints_it() {
        let message = panic_message(|| {
            success_result_of(fail::<u32>(
                Failure::new(ConnectionRefused::new()).context("dialing"),
            ));
        });
        assert!(
            message.contains(
                "Deferred<u32> to have succeeded, but it failed with: dialing: connection was refused"
            ),
            "{message}"
        );
    }

    #[test]
    fn success_result_of_a_pending_deferred_says_so() {
        let (d, _resolver) = Deferred::<u32>::new();
        let message = panic_message(|| {
            success_result_of(d);
        });
        assert!(message.contains("has no result yet"), "{message}");
    }

    #[test]
    fn failure_result_of_takes_the_failure_and_matches_by_type() {
        let (d, resolver) = Deferred::<()>::new();
        resolver.errback(Failure::new(TimedOut::new()));
        assert!(failure_result_of(d).is::<TimedOut>());
    }

    #[test]
    fn failure_result_of_a_success_or_a_pending_deferred_panics() {
        let message = panic_message(|| {
            failure_result_of(succeed("fine"));
        });
        assert!(message.contains("to have failed, but it succeeded"), "{message}");
        let (pending, _resolver) = Deferred::<u8>::new();
        let message = panic_message(|| {
            failure_result_of(pending);
        });
        assert!(
            message.contains("to have failed, but it has no result yet"),
            "{message}"
        );
    }

    #[test]
    fn results_after_a_chain_of_callbacks_are_seen() {
        let (d, resolver) = Deferred::<u32>::new();
        let doubled = d.then(|result: Result<u32, Failure>| result.map(|n| n * 2));
        assert_no_result(&doubled);
        resolver.callback(21);
        assert_eq!(success_result_of(doubled), 42);
    }

    #[test]
    fn assert_no_result_panics_once_there_is_one() {
        let message = panic_message(|| assert_no_result(&succeed(1u8)));
        assert!(
            message.contains("Deferred<u8> to have no result yet, but it has one"),
            "{message}"
        );
    }

    #[test]
    fn a_taken_failure_is_not_reported_as_unhandled() {
        let ((), reports) = crate::capture_unhandled(|| {
            let failure = failure_result_of(fail::<()>(Failure::msg("expected in this test")));
            assert_eq!(failure.to_string(), "expected in this test");
        });
        assert!(reports.is_empty(), "{reports:?}");
    }
}
