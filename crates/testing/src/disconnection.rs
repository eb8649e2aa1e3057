//! [`StringTransportWithDisconnection`]: a protocol on a [`StringTransport`]
//! that is told when its connection ends (Twisted's
//! `StringTransportWithDisconnection`).
//!
//! A bare `StringTransport` only records that the protocol asked to close;
//! most scenario tests also want the protocol's `connection_lost` to run, the
//! way the reactor would run it. This harness owns the protocol, feeds it
//! data and, once each delivery has returned, delivers what the transport
//! owes it: `connection_lost` after `lose_connection` or `abort_connection`,
//! `write_connection_lost` after `lose_write_connection`. Callbacks are never
//! made from inside a transport method, so the protocol sees the same order
//! of events as under the real reactor.

use std::fmt;

use gyre_core::errors::{ConnectionAborted, ConnectionDone, ConnectionLost};
use gyre_core::transport::{ConnectionState, Transport};
use gyre_core::{Failure, Protocol};

use crate::string_transport::StringTransport;

/// Run after `connection_lost` was delivered (connectors use it to tell their factory).
pub(crate) type LostHook = Box<dyn FnOnce(&Failure)>;

/// A protocol connected to a [`StringTransport`], with disconnection delivered.
///
/// ```
/// use gyre_core::{Protocol, Transport};
/// use gyre_testing::StringTransportWithDisconnection;
///
/// /// Says goodbye and hangs up on "QUIT".
/// #[derive(Default)]
/// struct Quitter {
///     lost: bool,
/// }
///
/// impl Protocol for Quitter {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         if data == b"QUIT" {
///             transport.write(b"bye");
///             transport.lose_connection();
///         }
///     }
///     fn connection_lost(&mut self, _: &Transport, _: gyre_core::Failure) {
///         self.lost = true;
///     }
/// }
///
/// let mut conn = StringTransportWithDisconnection::new(Quitter::default());
/// conn.data_received(b"QUIT");
/// assert_eq!(conn.value(), b"bye");
/// assert!(conn.protocol().lost && !conn.is_connected());
/// ```
pub struct StringTransportWithDisconnection<P: Protocol> {
    protocol: P,
    transport: StringTransport,
    handle: Transport,
    connected: bool,
    read_closed: bool,
    write_lost_delivered: bool,
    on_lost: Option<LostHook>,
}

impl<P: Protocol> StringTransportWithDisconnection<P> {
    /// Connects `protocol` to a new [`StringTransport`] and calls its `connection_made`.
    pub fn new(protocol: P) -> Self {
        Self::with_transport(protocol, StringTransport::new())
    }

    /// Connects `protocol` to `transport` (for chosen addresses or
    /// capabilities) and calls its `connection_made`.
    pub fn with_transport(protocol: P, transport: StringTransport) -> Self {
        Self::connect(protocol, transport, None)
    }

    /// As [`with_transport`](Self::with_transport), running `on_lost` once
    /// `connection_lost` has been delivered.
    pub(crate) fn connect(protocol: P, transport: StringTransport, on_lost: Option<LostHook>) -> Self {
        let handle = transport.handle();
        let mut connection = StringTransportWithDisconnection {
            protocol,
            transport,
            handle,
            connected: true,
            read_closed: false,
            write_lost_delivered: false,
            on_lost,
        };
        connection.protocol.connection_made(&connection.handle);
        connection.settle();
        connection
    }

    /// Delivers bytes from the peer. Ignored once the connection has ended,
    /// as a reactor stops reading a closed socket. `pause_reading` is
    /// recorded but not enforced: the test decides what the peer sends.
    ///
    /// # Panics
    /// After [`peer_half_closed`](Self::peer_half_closed): a peer cannot send
    /// after its end of file, so that is a bug in the test.
    #[track_caller]
    pub fn data_received(&mut self, data: &[u8]) {
        assert!(
            !self.read_closed,
            "data_received after peer_half_closed: the peer cannot send after its end of file"
        );
        if !self.connected {
            return;
        }
        self.protocol.data_received(&self.handle, data);
        self.settle();
    }

    /// The peer closed the connection cleanly: `connection_lost(ConnectionDone)`.
    pub fn peer_closed(&mut self) {
        self.close_with(Failure::new(ConnectionDone::new()));
    }

    /// The peer shut down its write side (end of file): `read_connection_lost`,
    /// after which the protocol may go on writing (or close, which the
    /// default `read_connection_lost` does).
    pub fn peer_half_closed(&mut self) {
        if !self.connected || self.read_closed {
            return;
        }
        self.read_closed = true;
        self.protocol.read_connection_lost(&self.handle);
        self.settle();
    }

    /// Ends the connection with `reason` (a reset would be `ConnectionLost`).
    /// Does nothing if it has already ended.
    pub fn close_with(&mut self, reason: Failure) {
        if self.connected {
            self.deliver_lost(reason);
        }
    }

    /// Delivers whatever the transport owes the protocol now, for requests
    /// made outside a delivery (by the test, a connector or another
    /// connection's protocol): `write_connection_lost` after
    /// `lose_write_connection`, then `connection_lost` after
    /// `lose_connection` (`ConnectionDone`), `abort_connection`
    /// (`ConnectionAborted`) or [`StringTransport::set_closed`]
    /// (`ConnectionLost`). Returns whether anything was delivered.
    pub fn settle(&mut self) -> bool {
        let mut delivered = false;
        while self.connected {
            if self.transport.is_write_closed() && !self.write_lost_delivered && !self.transport.is_aborted()
            {
                self.write_lost_delivered = true;
                self.protocol.write_connection_lost(&self.handle);
            } else if self.transport.is_aborted() {
                self.deliver_lost(Failure::new(ConnectionAborted::new()));
            } else if self.transport.is_disconnecting() {
                self.deliver_lost(Failure::new(ConnectionDone::new()));
            } else if self.transport.state() == ConnectionState::Closed {
                self.deliver_lost(Failure::new(ConnectionLost::new()));
            } else {
                break;
            }
            delivered = true;
        }
        delivered
    }

    fn deliver_lost(&mut self, reason: Failure) {
        self.connected = false;
        self.transport.set_closed();
        self.protocol.connection_lost(&self.handle, reason.clone());
        if let Some(on_lost) = self.on_lost.take() {
            on_lost(&reason);
        }
    }

    /// The protocol, to inspect its state.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// The protocol, to call its own methods (commands of a client, say).
    /// Call [`settle`](Self::settle) afterwards if they may close the connection.
    pub fn protocol_mut(&mut self) -> &mut P {
        &mut self.protocol
    }

    /// The transport, to read what was written or to change its settings.
    pub fn transport(&self) -> &StringTransport {
        &self.transport
    }

    /// The handle the protocol receives in its callbacks.
    pub fn handle(&self) -> &Transport {
        &self.handle
    }

    /// Everything written and not yet cleared.
    pub fn value(&self) -> Vec<u8> {
        self.transport.value()
    }

    /// Whether `connection_lost` has not been delivered yet.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Gives the protocol back, ending the harness without telling the protocol anything.
    pub fn into_protocol(self) -> P {
        self.protocol
    }
}

impl<P: Protocol> fmt::Debug for StringTransportWithDisconnection<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StringTransportWithDisconnection")
            .field("transport", &self.transport)
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Logs every callback; closes, aborts or half-closes on command.
    #[derive(Default)]
    struct Logger {
        log: Rc<RefCell<Vec<String>>>,
        keep_open_on_eof: bool,
    }

    impl Protocol for Logger {
        fn connection_made(&mut self, _: &Transport) {
            self.log.borrow_mut().push("made".into());
        }
        fn data_received(&mut self, transport: &Transport, data: &[u8]) {
            self.log
                .borrow_mut()
                .push(format!("data {}", data.escape_ascii()));
            match data {
                b"close" => transport.lose_connection(),
                b"abort" => transport.abort_connection(),
                b"shutdown" => transport.lose_write_connection(),
                _ => transport.write(data),
            }
        }
        fn connection_lost(&mut self, _: &Transport, reason: Failure) {
            self.log.borrow_mut().push(format!("lost {reason}"));
        }
        fn read_connection_lost(&mut self, transport: &Transport) {
            self.log.borrow_mut().push("eof".into());
            if !self.keep_open_on_eof {
                transport.lose_connection();
            }
        }
        fn write_connection_lost(&mut self, _: &Transport) {
            self.log.borrow_mut().push("write closed".into());
        }
    }

    fn harness(
        keep_open_on_eof: bool,
    ) -> (StringTransportWithDisconnection<Logger>, Rc<RefCell<Vec<String>>>) {
        let log = Rc::new(RefCell::new(Vec::new()));
        let protocol = Logger {
            log: log.clone(),
            keep_open_on_eof,
        };
        (StringTransportWithDisconnection::new(protocol), log)
    }

    #[test]
    fn lose_connection_delivers_connection_done_once_after_the_callback() {
        let (mut conn, log) = harness(false);
        conn.data_received(b"close");
        conn.data_received(b"ignored after close");
        conn.peer_closed();
        assert_eq!(
            *log.borrow(),
            ["made", "data close", "lost connection was closed cleanly"]
        );
        assert!(!conn.is_connected());
        assert!(conn.handle().is_closed());
    }

    #[test]
    fn abort_delivers_connection_aborted() {
        let (mut conn, log) = harness(false);
        conn.data_received(b"abort");
        assert_eq!(
            log.borrow().last().unwrap(),
            "lost connection was aborted locally"
        );
    }

    #[test]
    fn peer_close_delivers_connection_done() {
        let (mut conn, log) = harness(false);
        conn.data_received(b"hi");
        conn.peer_closed();
        assert_eq!(conn.value(), b"hi");
        assert_eq!(
            *log.borrow(),
            ["made", "data hi", "lost connection was closed cleanly"]
        );
    }

    #[test]
    fn half_close_by_the_peer_lets_the_protocol_keep_writing() {
        let (mut conn, log) = harness(true);
        conn.peer_half_closed();
        assert!(conn.is_connected());
        conn.handle().write(b"still here");
        assert_eq!(conn.value(), b"still here");
        assert_eq!(*log.borrow(), ["made", "eof"]);
    }

    #[test]
    fn half_close_with_the_default_answer_closes() {
        let (mut conn, log) = harness(false);
        conn.peer_half_closed();
        assert_eq!(
            *log.borrow(),
            ["made", "eof", "lost connection was closed cleanly"]
        );
    }

    #[test]
    #[should_panic(expected = "the peer cannot send after its end of file")]
    fn data_after_the_peers_eof_is_a_test_bug() {
        let (mut conn, _log) = harness(true);
        conn.peer_half_closed();
        conn.data_received(b"late");
    }

    #[test]
    fn our_write_shutdown_delivers_write_connection_lost() {
        let (mut conn, log) = harness(false);
        conn.data_received(b"shutdown");
        assert!(conn.is_connected());
        assert_eq!(*log.borrow(), ["made", "data shutdown", "write closed"]);
    }

    #[test]
    fn requests_from_outside_a_delivery_are_delivered_by_settle() {
        let (mut conn, log) = harness(false);
        conn.handle().clone().lose_connection();
        assert!(conn.is_connected(), "never delivered from inside the transport");
        assert!(conn.settle());
        assert!(!conn.settle());
        assert_eq!(log.borrow().last().unwrap(), "lost connection was closed cleanly");

        let (mut reset, log) = harness(false);
        reset.transport().set_closed();
        reset.settle();
        assert_eq!(
            log.borrow().last().unwrap(),
            "lost connection to the other side was lost in a non-clean fashion"
        );
    }

    #[test]
    fn closing_in_connection_made_is_delivered_right_after_it() {
        struct Refuser;
        impl Protocol for Refuser {
            fn connection_made(&mut self, transport: &Transport) {
                transport.write(b"busy");
                transport.lose_connection();
            }
            fn data_received(&mut self, _: &Transport, _: &[u8]) {}
        }
        let conn = StringTransportWithDisconnection::new(Refuser);
        assert!(!conn.is_connected());
        assert_eq!(conn.value(), b"busy");
    }

    #[test]
    fn the_lost_hook_runs_once_with_the_reason() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let hook_seen = seen.clone();
        let hook: LostHook =
            Box::new(move |reason: &Failure| hook_seen.borrow_mut().push(reason.to_string()));
        let mut conn =
            StringTransportWithDisconnection::connect(Logger::default(), StringTransport::new(), Some(hook));
        conn.close_with(Failure::new(ConnectionLost::new()));
        conn.peer_closed();
        assert_eq!(
            *seen.borrow(),
            ["connection to the other side was lost in a non-clean fashion"]
        );
    }
}
