//! # gyre-http (work in progress)

pub mod body;
pub mod error;
pub mod wire;

pub use error::{ErrorKind, HttpError, SendError};
pub use wire::{HeaderMap, Method, RequestHead, RequestTarget, ResponseHead, StatusCode, TargetForm, Version};
pub mod proto;
pub mod server;
