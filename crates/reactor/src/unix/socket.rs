//! [`UnixSocket`]: a connected Unix stream socket as a [`StreamSocket`],
//! with file descriptors riding along with the bytes.
//!
//! Reads use `recvmsg` with room for a full `SCM_RIGHTS` message, so a read
//! costs the same one system call as a plain `recv` and descriptors that
//! arrive are handed to the protocol (`Protocol::file_descriptors_received`)
//! before the bytes they came with. Writes use plain `send` unless
//! descriptors are queued; then the queued descriptors go out with the next
//! `sendmsg`, attached to its first byte. The kernel carries descriptors only
//! with data, so at least one byte must be written after queueing them.
//!
//! The kernel ends a read after a message that carried descriptors even
//! when more bytes are queued, so after such a read the connection reads
//! again instead of taking the short read as "drained". (It would also
//! split reads between different writing processes if `SO_PASSCRED` were
//! set, which gyre never sets.)

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use gyre_core::Failure;
use gyre_core::capability::{CapabilityRequest, FdSender, SendFileDescriptors, UnixFdPassing};
use gyre_core::errors::TransportClosed;
use mio::{Interest, Registry, Token};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

use crate::stream::{ReceivedExtras, StreamSocket};

/// The most descriptors one message carries (Linux's `SCM_MAX_FD`); more
/// queued descriptors go out in batches, one byte each, then the rest of
/// the data with the last batch.
const MAX_FDS_PER_MESSAGE: usize = 253;
const CONTROL_SPACE: usize = rustix::cmsg_space!(ScmRights(MAX_FDS_PER_MESSAGE));

/// A connected Unix stream socket.
pub(crate) struct UnixSocket {
    stream: mio::net::UnixStream,
    outgoing: Rc<FdQueue>,
}

/// Descriptors waiting for the next write; shared with the [`FdSender`]s
/// handed out by the capability, which outlive the socket.
#[derive(Default)]
struct FdQueue {
    fds: RefCell<VecDeque<OwnedFd>>,
    closed: Cell<bool>,
}

impl SendFileDescriptors for FdQueue {
    fn send_file_descriptors(&self, fds: Vec<OwnedFd>) -> Result<(), Failure> {
        if self.closed.get() {
            return Err(Failure::new(TransportClosed::new()).context("sending file descriptors"));
        }
        self.fds.borrow_mut().extend(fds);
        Ok(())
    }
}

impl UnixSocket {
    pub(crate) fn new(stream: mio::net::UnixStream) -> Self {
        UnixSocket {
            stream,
            outgoing: Rc::default(),
        }
    }

    /// The underlying stream (for addresses and connect checks).
    pub(crate) fn stream(&self) -> &mio::net::UnixStream {
        &self.stream
    }

    fn send_with_fds(&self, data: &[u8], queue: &mut VecDeque<OwnedFd>) -> io::Result<usize> {
        let count = queue.len().min(MAX_FDS_PER_MESSAGE);
        // More descriptors than one message carries: this batch takes one
        // byte, so the next batch can travel with the bytes that follow.
        let data = if queue.len() > count { &data[..1] } else { data };
        let sent = {
            let borrowed: Vec<BorrowedFd<'_>> = queue.iter().take(count).map(AsFd::as_fd).collect();
            let mut space = [MaybeUninit::<u8>::uninit(); CONTROL_SPACE];
            let mut control = SendAncillaryBuffer::new(&mut space);
            if !control.push(SendAncillaryMessage::ScmRights(&borrowed)) {
                return Err(io::Error::other("file descriptors do not fit the control buffer"));
            }
            rustix::net::sendmsg(
                &self.stream,
                &[IoSlice::new(data)],
                &mut control,
                SendFlags::NOSIGNAL,
            )?
        };
        // The kernel holds its own references now: close ours.
        queue.drain(..count);
        Ok(sent)
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        self.outgoing.closed.set(true);
        self.outgoing.fds.borrow_mut().clear();
    }
}

impl mio::event::Source for UnixSocket {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        self.stream.register(registry, token, interests)
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        self.stream.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.stream.deregister(registry)
    }
}

impl StreamSocket for UnixSocket {
    fn recv(&self, buf: &mut [u8], received: &mut ReceivedExtras) -> io::Result<usize> {
        let mut space = [MaybeUninit::<u8>::uninit(); CONTROL_SPACE];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let message = rustix::net::recvmsg(
            &self.stream,
            &mut [IoSliceMut::new(buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )?;
        for ancillary in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = ancillary {
                received.fds.extend(fds);
                received.read_again = true;
            }
        }
        if message.flags.contains(ReturnFlags::CTRUNC) {
            tracing::warn!(target: "gyre::reactor", "file descriptors were dropped: too many in one message");
        }
        Ok(message.bytes)
    }

    fn send(&self, data: &[u8]) -> io::Result<usize> {
        let mut queue = self.outgoing.fds.borrow_mut();
        if queue.is_empty() {
            return Ok(rustix::net::send(&self.stream, data, SendFlags::NOSIGNAL)?);
        }
        self.send_with_fds(data, &mut queue)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.stream.take_error()
    }

    fn kind(&self) -> &'static str {
        "unix"
    }

    fn capability(&self, request: &mut CapabilityRequest<'_>) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if request.is::<gyre_core::capability::PeerCredentials>() {
            match rustix::net::sockopt::socket_peercred(&self.stream) {
                Ok(credentials) => {
                    request.provide::<gyre_core::capability::PeerCredentials>(|| {
                        gyre_core::capability::UnixCredentials {
                            uid: credentials.uid.as_raw(),
                            gid: credentials.gid.as_raw(),
                            pid: u32::try_from(credentials.pid.as_raw_nonzero().get()).ok(),
                        }
                    });
                }
                Err(error) => tracing::debug!(target: "gyre::reactor", %error, "SO_PEERCRED"),
            }
        }
        request.provide::<UnixFdPassing>(|| FdSender(self.outgoing.clone()));
    }
}
