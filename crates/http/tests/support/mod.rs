//! Shared helpers of the gyre-http integration tests.
#![allow(dead_code)]

pub mod transcript;
