//! Optional transport capabilities, asked for by type.
//!
//! Some transports can answer questions others cannot: a TLS connection knows
//! its peer's certificate chain, a Unix socket can pass file descriptors, a
//! process transport has a pid. Rather than a growing list of methods that
//! most transports answer with "no", a protocol asks for a [`Capability`] by
//! type and gets either its value or a typed
//! [`NotSupportedByTransport`](crate::errors::NotSupportedByTransport) error:
//!
//! ```
//! # use gyre_testing::StringTransport;
//! use gyre_core::capability::PeerCertificates;
//!
//! let transport = StringTransport::new();
//! let err = transport.handle().capability::<PeerCertificates>().unwrap_err();
//! assert_eq!(err.capability, "TLS peer certificate chain");
//! ```
//!
//! Crates add their own capabilities by implementing [`Capability`] on a
//! marker type; transports answer in
//! [`TransportBackend::capability`](crate::transport::TransportBackend::capability).

use std::any::{Any, TypeId};
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::rc::Rc;

use crate::failure::Failure;

/// A question a transport may be able to answer; the marker type names it and
/// `Value` is the answer's type.
pub trait Capability: 'static {
    /// The type of the answer.
    type Value: 'static;
    /// A human-readable name for error messages.
    const NAME: &'static str;
}

/// One capability question, handed to a transport backend to answer.
pub struct CapabilityRequest<'a> {
    wanted: TypeId,
    slot: &'a mut dyn Any,
}

impl CapabilityRequest<'_> {
    /// Answers the request if it asks for `C`; `value` is only called then.
    /// Chain several `provide` calls; the first that matches wins.
    pub fn provide<C: Capability>(&mut self, value: impl FnOnce() -> C::Value) -> &mut Self {
        if self.wanted == TypeId::of::<C>()
            && let Some(slot) = self.slot.downcast_mut::<Option<C::Value>>()
            && slot.is_none()
        {
            *slot = Some(value());
        }
        self
    }

    /// Whether this request asks for `C`.
    pub fn is<C: Capability>(&self) -> bool {
        self.wanted == TypeId::of::<C>()
    }

    /// Runs `ask` with a request for `C` and returns the answer, if any.
    pub fn ask<C: Capability>(ask: impl FnOnce(&mut CapabilityRequest<'_>)) -> Option<C::Value> {
        let mut slot: Option<C::Value> = None;
        let mut request = CapabilityRequest {
            wanted: TypeId::of::<C>(),
            slot: &mut slot,
        };
        ask(&mut request);
        slot
    }
}

/// The TLS peer's certificate chain, DER-encoded, leaf first.
pub struct PeerCertificates;
impl Capability for PeerCertificates {
    type Value = Vec<Vec<u8>>;
    const NAME: &'static str = "TLS peer certificate chain";
}

/// The ALPN protocol negotiated by TLS (`None` when none was agreed).
pub struct NegotiatedAlpn;
impl Capability for NegotiatedAlpn {
    type Value = Option<Vec<u8>>;
    const NAME: &'static str = "negotiated ALPN protocol";
}

/// The server name the TLS client asked for (SNI).
pub struct ServerName;
impl Capability for ServerName {
    type Value = Option<String>;
    const NAME: &'static str = "TLS server name indication";
}

/// The process id of a child process transport.
pub struct ProcessId;
impl Capability for ProcessId {
    type Value = u32;
    const NAME: &'static str = "process id";
}

/// The credentials of the process on the other end of a Unix socket
/// (`SO_PEERCRED`).
pub struct PeerCredentials;
impl Capability for PeerCredentials {
    type Value = UnixCredentials;
    const NAME: &'static str = "Unix peer credentials";
}

/// User, group and process id of a Unix socket peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixCredentials {
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
    /// Process id, where the platform reports it.
    pub pid: Option<u32>,
}

/// Passing open file descriptors over a Unix socket (`SCM_RIGHTS`).
#[cfg(unix)]
pub struct UnixFdPassing;
#[cfg(unix)]
impl Capability for UnixFdPassing {
    type Value = FdSender;
    const NAME: &'static str = "Unix file descriptor passing";
}

/// Sends file descriptors along with the data stream of a Unix socket.
/// Received descriptors arrive through
/// [`Protocol::file_descriptors_received`](crate::protocol::Protocol::file_descriptors_received).
#[cfg(unix)]
pub trait SendFileDescriptors {
    /// Queues `fds` to go out with the next byte written (the kernel needs at
    /// least one byte of data to carry them). They are closed here once sent.
    fn send_file_descriptors(&self, fds: Vec<OwnedFd>) -> Result<(), Failure>;
}

/// A handle for [`SendFileDescriptors`], the value of [`UnixFdPassing`].
#[cfg(unix)]
#[derive(Clone)]
pub struct FdSender(pub Rc<dyn SendFileDescriptors>);

#[cfg(unix)]
impl FdSender {
    /// Queues `fds` to go out with the next byte written.
    pub fn send(&self, fds: Vec<OwnedFd>) -> Result<(), Failure> {
        self.0.send_file_descriptors(fds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Other;
    impl Capability for Other {
        type Value = Vec<Vec<u8>>;
        const NAME: &'static str = "other";
    }

    #[test]
    fn answers_only_the_capability_asked_for_even_with_equal_value_types() {
        let answer = |req: &mut CapabilityRequest<'_>| {
            req.provide::<PeerCertificates>(|| vec![b"leaf".to_vec()])
                .provide::<ProcessId>(|| 7);
        };
        assert_eq!(
            CapabilityRequest::ask::<PeerCertificates>(answer),
            Some(vec![b"leaf".to_vec()])
        );
        assert_eq!(CapabilityRequest::ask::<ProcessId>(answer), Some(7));
        assert_eq!(CapabilityRequest::ask::<Other>(answer), None);
    }
}
