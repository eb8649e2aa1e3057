//! Shared helpers of the gyre-http integration tests.
#![allow(dead_code)]

pub mod hello;
pub mod peers;
pub mod transcript;
