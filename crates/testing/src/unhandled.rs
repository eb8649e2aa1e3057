//! [`capture_unhandled`]: collects the errors gyre's Deferreds report
//! instead of raising.
//!
//! A Deferred dropped while holding a failure cannot raise anywhere: nobody
//! is waiting on it. gyre logs it instead, as an `ERROR` event on the
//! `gyre::deferred` tracing target, and does the same when a resolver fires
//! twice. Trial fails a test that leaves such errors behind; this helper lets
//! a Rust test assert on them (that there are none, or that a given one was
//! reported).
//!
//! The subscriber is installed for the current thread only and only while
//! the closure runs, so parallel tests do not see each other's reports and
//! no global logging setup is touched.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The tracing target under which gyre's Deferreds report errors.
pub const DEFERRED_TARGET: &str = "gyre::deferred";

/// Runs `f` and returns its result with every error gyre's Deferreds
/// reported while it ran: for each `ERROR` event whose target is
/// `gyre::deferred` or below it (`gyre::deferred::list`), its `failure`
/// field if it has one, otherwise its message.
///
/// ```
/// let (answer, reports) = gyre_testing::capture_unhandled(|| {
///     tracing::error!(target: "gyre::deferred", failure = %"disk full", "unhandled error in Deferred");
///     tracing::error!(target: "elsewhere", "not a Deferred report");
///     42
/// });
/// assert_eq!(answer, 42);
/// assert_eq!(reports, ["disk full"]);
/// ```
pub fn capture_unhandled<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(ReportCollector {
        reports: reports.clone(),
    });
    let result = tracing::subscriber::with_default(subscriber, f);
    let reports = std::mem::take(&mut *reports.lock().unwrap_or_else(PoisonError::into_inner));
    (result, reports)
}

/// The layer that keeps Deferred error reports.
struct ReportCollector {
    reports: Arc<Mutex<Vec<String>>>,
}

impl<S: Subscriber> Layer<S> for ReportCollector {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() != Level::ERROR || !is_deferred_target(metadata.target()) {
            return;
        }
        let mut fields = ReportFields::default();
        event.record(&mut fields);
        let report = fields.failure.or(fields.message).unwrap_or_default();
        self.reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(report);
    }
}

/// `gyre::deferred` itself or a target below it (`gyre::deferred::list`),
/// but not a mere look-alike such as `gyre::deferredness`.
fn is_deferred_target(target: &str) -> bool {
    target
        .strip_prefix(DEFERRED_TARGET)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// The two fields of a report that matter.
#[derive(Default)]
struct ReportFields {
    failure: Option<String>,
    message: Option<String>,
}

impl ReportFields {
    fn slot(&mut self, field: &Field) -> Option<&mut Option<String>> {
        match field.name() {
            "failure" => Some(&mut self.failure),
            "message" => Some(&mut self.message),
            _ => None,
        }
    }
}

impl Visit for ReportFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(slot) = self.slot(field) {
            *slot = Some(value.to_owned());
        }
    }

    /// `failure = %failure` arrives here as a value whose `Debug` prints its
    /// `Display`, and the message as `format_args!` output.
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if let Some(slot) = self.slot(field) {
            *slot = Some(format!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_core::Failure;
    use gyre_core::deferred::{Deferred, fail};

    #[test]
    fn keeps_only_deferred_errors_preferring_the_failure_field() {
        let ((), reports) = capture_unhandled(|| {
            tracing::error!(target: "gyre::deferred", failure = %"boom", "unhandled error in Deferred");
            tracing::error!(target: "gyre::deferred::list", "Deferred fired twice: second result dropped");
            tracing::warn!(target: "gyre::deferred", "a warning is not a report");
            tracing::error!(target: "gyre::reactor", "another subsystem");
            tracing::error!(target: "gyre::deferredness", failure = %"lookalike", "not below the target");
        });
        assert_eq!(reports, ["boom", "Deferred fired twice: second result dropped"]);
    }

    #[test]
    fn string_fields_are_read_too() {
        let ((), reports) = capture_unhandled(|| {
            tracing::error!(target: "gyre::deferred", failure = "plain str");
        });
        assert_eq!(reports, ["plain str"]);
    }

    #[test]
    fn collection_is_scoped_to_the_closure() {
        let (_, first) = capture_unhandled(|| {
            tracing::error!(target: "gyre::deferred", "inside");
        });
        tracing::error!(target: "gyre::deferred", "outside, not collected");
        let (_, second) = capture_unhandled(|| ());
        assert_eq!(first, ["inside"]);
        assert!(second.is_empty());
    }

    #[test]
    fn a_dropped_failing_deferred_is_reported_with_its_failure() {
        let ((), reports) = capture_unhandled(|| {
            drop(fail::<u32>(Failure::msg("nobody listened")));
        });
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].contains("nobody listened"), "{reports:?}");
    }

    #[test]
    fn firing_a_resolver_twice_is_reported() {
        let ((), reports) = capture_unhandled(|| {
            let (d, resolver) = Deferred::<u8>::new();
            resolver.callback(1);
            resolver.callback(2);
            assert_eq!(crate::success_result_of(d), 1);
        });
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].starts_with("Deferred fired twice"), "{reports:?}");
    }
}
