//! Errors specific to the reactor.

use std::error::Error;
use std::fmt;

/// `stop()` was called on a reactor that is not running (or already stopping).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotRunning;

impl NotRunning {
    /// Makes the error.
    pub fn new() -> Self {
        NotRunning
    }
}

impl fmt::Display for NotRunning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the reactor is not running")
    }
}

impl Error for NotRunning {}
