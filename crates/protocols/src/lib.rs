//! # gyre-protocols: the protocol toolkit
//!
//! (crate overview being written)

pub mod amp;
pub mod framing;
pub mod inetd;
pub mod policies;
pub mod portforward;
pub mod proxy_protocol;
pub mod socks;

pub use amp::{Amp, AmpBox, AmpFactory, AmpProtocol, Responders};
