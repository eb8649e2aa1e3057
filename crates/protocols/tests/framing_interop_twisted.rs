//! The framers against Python Twisted's own receivers
//! (`twisted.protocols.basic`) over TCP on 127.0.0.1, in both directions:
//! a Twisted `LineReceiver`, `NetstringReceiver`, `Int32StringReceiver`,
//! `Int16StringReceiver` and `Int8StringReceiver` talk to a gyre echo server,
//! and a gyre client talks to a Twisted echo server. Each exchange carries
//! 2,002 frames, one of them empty and one at the receiving limit (16,384
//! bytes for lines, 99,999 for netstrings and 32-bit prefixes, 65,535 and
//! 255 for 16- and 8-bit prefixes); the line exchange adds a
//! 100,000-byte raw body announced by a header line (raw mode both ways), and
//! the framings that can express it check that a frame one byte over the
//! limit closes the connection with the typed error.
//!
//! The peer is `tests/framing_support/twisted_peer.py`, run with the Python
//! of `.venv-peers` (installed by `bash tools/test.sh`).

mod framing_support;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use framing_support::{Fnv, Kind, Peer, blob, payloads, run_with_deadline};
use gyre_core::errors::ConnectionDone;
use gyre_core::{Failure, SharedClientFactory, SharedFactory, Transport, protocol_factory};
use gyre_protocols::framing::{
    IntStringReceiver, LengthLimitExceeded, LineContext, LineHandler, LineReceiver, LineTooLong,
    NetstringError, NetstringErrorKind, NetstringReceiver, Prefix, StringContext, StringHandler,
};
use gyre_reactor::{ConnectOptions, ListenOptions, Reactor};

/// What one side saw: the frames of each connection and how each ended.
#[derive(Default)]
struct Log {
    frames: Vec<Vec<Vec<u8>>>,
    reasons: Vec<Failure>,
}

/// The gyre side of an exchange, for either role and any framing.
struct Side {
    kind: Kind,
    log: Rc<RefCell<Log>>,
    reactor: Reactor,
    /// Stop the reactor once this many connections ended.
    connections: usize,
    /// Client role: what to send, and when all echoes are in, whether to
    /// ask for an over-long frame (else close).
    client: Option<ClientPlan>,
    /// A raw body in progress (line framing): bytes left, checksum, length.
    blob: Option<(u64, Fnv, u64)>,
}

struct ClientPlan {
    expect: usize,
    oversize: bool,
}

impl Side {
    fn new(
        kind: Kind,
        log: &Rc<RefCell<Log>>,
        reactor: &Reactor,
        connections: usize,
        client: Option<ClientPlan>,
    ) -> Side {
        log.borrow_mut().frames.push(Vec::new());
        Side {
            kind,
            log: log.clone(),
            reactor: reactor.clone(),
            connections,
            client,
            blob: None,
        }
    }

    /// Records a frame; returns what to answer: echo it (server), or
    /// nothing / close / ask for an over-long frame (client).
    fn frame(&mut self, frame: &[u8]) -> Answer {
        let mut log = self.log.borrow_mut();
        let frames = log.frames.last_mut().unwrap();
        frames.push(frame.to_vec());
        match &self.client {
            None => Answer::Echo,
            Some(plan) if frames.len() < plan.expect => Answer::Nothing,
            Some(plan) if frames.len() == plan.expect && plan.oversize => Answer::AskOversize,
            Some(_) => Answer::Close,
        }
    }

    fn lost(&mut self, reason: Failure) {
        let mut log = self.log.borrow_mut();
        log.reasons.push(reason);
        if log.reasons.len() == self.connections {
            let _ = self.reactor.stop();
        }
    }
}

enum Answer {
    Echo,
    Nothing,
    Close,
    AskOversize,
}

impl LineHandler for Side {
    fn connection_made(&mut self, cx: &mut LineContext<'_>) {
        if self.client.is_none() {
            return;
        }
        let blob = blob();
        cx.send_line(format!("BLOB {}", blob.len()).as_bytes());
        cx.write(&blob);
        cx.send_line(b"after blob");
        for payload in payloads(Kind::Line) {
            cx.send_line(&payload);
        }
    }

    fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        if self.client.is_none()
            && let Some(len) = line.strip_prefix(b"BLOB ")
        {
            let len: u64 = std::str::from_utf8(len).unwrap().parse().unwrap();
            self.blob = Some((len, Fnv::default(), len));
            return cx.set_raw_mode_for(len);
        }
        match self.frame(line) {
            Answer::Echo => cx.send_line(line),
            Answer::Nothing => {}
            Answer::Close => cx.lose_connection(),
            Answer::AskOversize => cx.send_line(b"OVERSIZE"),
        }
    }

    fn raw_data_received(&mut self, cx: &mut LineContext<'_>, data: &[u8]) {
        let (left, fnv, len) = self.blob.as_mut().expect("raw data only after BLOB");
        fnv.update(data);
        *left -= data.len() as u64;
        if *left == 0 {
            cx.send_line(format!("BLOB {len} {}", fnv.0).as_bytes());
            self.blob = None;
        }
    }

    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.lost(reason);
    }
}

impl StringHandler for Side {
    fn connection_made(&mut self, cx: &mut StringContext<'_>) {
        if self.client.is_some() {
            for payload in payloads(self.kind) {
                cx.send_string(&payload).unwrap();
            }
        }
    }

    fn string_received(&mut self, cx: &mut StringContext<'_>, string: &[u8]) {
        match self.frame(string) {
            Answer::Echo => cx.send_string(string).unwrap(),
            Answer::Nothing => {}
            Answer::Close => cx.lose_connection(),
            Answer::AskOversize => cx.send_string(b"OVERSIZE").unwrap(),
        }
    }

    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.lost(reason);
    }
}

/// Builds a gyre protocol of `kind` around `side`.
fn receiver(kind: Kind, side: Side) -> Box<dyn gyre_core::Protocol> {
    match kind {
        Kind::Line => Box::new(LineReceiver::new(side)),
        Kind::Netstring => Box::new(NetstringReceiver::new(side)),
        Kind::Int(prefix) => Box::new(IntStringReceiver::new(prefix, side)),
    }
}

/// Checks that `reason` is the typed error for a frame over the limit.
fn assert_over_limit(kind: Kind, reason: &Failure) {
    let typed = match kind {
        Kind::Line => reason
            .downcast_ref::<LineTooLong>()
            .is_some_and(|e| e.limit == 16_384),
        Kind::Netstring => reason
            .downcast_ref::<NetstringError>()
            .is_some_and(|e| e.kind == NetstringErrorKind::TooLong { limit: 99_999 }),
        Kind::Int(_) => reason
            .downcast_ref::<LengthLimitExceeded>()
            .is_some_and(|e| e.length == 100_000),
    };
    assert!(typed, "{kind:?}: the connection ended with {reason}");
}

fn twisted_client_against_gyre_server(kind: Kind) {
    let reactor = Reactor::new().unwrap();
    let log = Rc::new(RefCell::new(Log::default()));
    let connections = if kind.can_exceed() { 2 } else { 1 };
    let (factory_log, factory_reactor) = (log.clone(), reactor.clone());
    let factory = SharedFactory::new(protocol_factory(move |_| {
        receiver(
            kind,
            Side::new(kind, &factory_log, &factory_reactor, connections, None),
        )
    }));
    let address: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let port = reactor
        .listen_tcp_with(address, factory, ListenOptions::default())
        .unwrap();
    let port_number = port.host().port().unwrap().to_string();
    let peer = Peer::twisted(&["client", kind.name(), &port_number]);
    run_with_deadline(&reactor);
    let (status, output) = peer.finish();
    assert!(
        status.success() && output.starts_with("OK"),
        "Twisted client: {output}"
    );

    let log = log.borrow();
    let mut expected = payloads(kind);
    if kind == Kind::Line {
        expected.insert(0, b"after blob".to_vec()); // the BLOB line itself is not a frame here
    }
    assert_eq!(log.frames[0].len(), expected.len());
    assert!(log.frames[0] == expected, "{kind:?}: the frames differ");
    assert!(log.reasons[0].is::<ConnectionDone>(), "{}", log.reasons[0]);
    if kind.can_exceed() {
        assert!(log.frames[1].is_empty(), "nothing after the over-long frame");
        assert_over_limit(kind, &log.reasons[1]);
    }
}

fn gyre_client_against_twisted_server(kind: Kind) {
    let peer = Peer::twisted(&["server", kind.name()]);
    let line = peer.line();
    let port: u16 = line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .expect("PORT n");
    let reactor = Reactor::new().unwrap();
    let log = Rc::new(RefCell::new(Log::default()));
    let mut expected = payloads(kind);
    if kind == Kind::Line {
        let blob = blob();
        let mut fnv = Fnv::default();
        fnv.update(&blob);
        expected.insert(0, format!("BLOB {} {}", blob.len(), fnv.0).into_bytes());
        expected.insert(1, b"after blob".to_vec());
    }
    let plan = ClientPlan {
        expect: expected.len(),
        oversize: kind.can_exceed(),
    };
    let mut side = Some(Side::new(kind, &log, &reactor, 1, Some(plan)));
    let factory = SharedClientFactory::new(protocol_factory(move |_| {
        receiver(kind, side.take().expect("one connection"))
    }));
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let _connector = reactor.connect_tcp_with(address, factory, ConnectOptions::default());
    run_with_deadline(&reactor);

    let log = log.borrow();
    assert_eq!(log.frames[0].len(), expected.len(), "{kind:?}: {}", peer.stderr());
    assert!(log.frames[0] == expected, "{kind:?}: the frames differ");
    let reason = &log.reasons[0];
    if kind.can_exceed() {
        assert_over_limit(kind, reason);
    } else {
        assert!(reason.is::<ConnectionDone>(), "{reason}");
    }
    drop(peer);
}

#[test]
fn twisted_line_receiver_client_against_gyre_line_server() {
    twisted_client_against_gyre_server(Kind::Line);
}

#[test]
fn twisted_netstring_client_against_gyre_netstring_server() {
    twisted_client_against_gyre_server(Kind::Netstring);
}

#[test]
fn twisted_int32_client_against_gyre_int32_server() {
    twisted_client_against_gyre_server(Kind::Int(Prefix::U32));
}

#[test]
fn twisted_int16_client_against_gyre_int16_server() {
    twisted_client_against_gyre_server(Kind::Int(Prefix::U16));
}

#[test]
fn twisted_int8_client_against_gyre_int8_server() {
    twisted_client_against_gyre_server(Kind::Int(Prefix::U8));
}

#[test]
fn gyre_line_client_against_twisted_line_server() {
    gyre_client_against_twisted_server(Kind::Line);
}

#[test]
fn gyre_netstring_client_against_twisted_netstring_server() {
    gyre_client_against_twisted_server(Kind::Netstring);
}

#[test]
fn gyre_int32_client_against_twisted_int32_server() {
    gyre_client_against_twisted_server(Kind::Int(Prefix::U32));
}

#[test]
fn gyre_int16_client_against_twisted_int16_server() {
    gyre_client_against_twisted_server(Kind::Int(Prefix::U16));
}

#[test]
fn gyre_int8_client_against_twisted_int8_server() {
    gyre_client_against_twisted_server(Kind::Int(Prefix::U8));
}
