//! Errors specific to the reactor.

gyre_core::simple_error!(
    /// `stop()` was called on a reactor that is not running (or already stopping).
    NotRunning,
    "the reactor is not running"
);
