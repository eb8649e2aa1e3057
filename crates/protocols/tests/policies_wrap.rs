//! The wrapping mechanism itself: nesting order, what a policy can change
//! (addresses, reasons, writes), and factory wrapping (admit, refuse,
//! divert, start/stop).

mod policies_support;

use std::cell::{Cell, RefCell};
use std::io::IoSlice;
use std::rc::Rc;

use gyre_core::errors::{ConnectionDone, TimedOut};
use gyre_core::{Address, Factory, Failure, Protocol, SharedFactory, Transport};
use gyre_protocols::policies::{Admission, Link, Policy, Wrapped, policy_fn, wrap_factory};
use gyre_testing::{StringTransportWithDisconnection, connect_pair};
use policies_support::{Recorder, echo_factory, lost, tcp};

type Log = Rc<RefCell<Vec<String>>>;

/// Logs every hook it sees under its name and passes everything through.
struct Tag {
    name: &'static str,
    log: Log,
}

impl Tag {
    fn push(&self, event: &str) {
        self.log.borrow_mut().push(format!("{}:{event}", self.name));
    }
}

impl Policy for Tag {
    fn connection_made(&self, _link: Link<'_>) {
        self.push("made");
    }
    fn data_received(&self, _link: Link<'_>, data: &[u8]) {
        self.push(&format!("read {}", String::from_utf8_lossy(data)));
    }
    fn connection_lost(&self, _link: Link<'_>, reason: Failure) -> Failure {
        self.push("lost");
        reason
    }
    fn write(&self, below: &Transport, bufs: &[IoSlice<'_>]) {
        let text: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        self.push(&format!("write {}", String::from_utf8_lossy(&text)));
        below.write_vectored(bufs);
    }
    fn lose_connection(&self, below: &Transport) {
        self.push("close");
        below.lose_connection();
    }
}

#[test]
fn nested_policies_see_events_outside_in_and_calls_inside_out() {
    let log = Log::default();
    let (recorder, seen) = Recorder::echo();
    let inner = Wrapped::new(
        Tag {
            name: "inner",
            log: log.clone(),
        },
        recorder,
    );
    let outer = Wrapped::new(
        Tag {
            name: "outer",
            log: log.clone(),
        },
        inner,
    );
    let mut conn = StringTransportWithDisconnection::new(outer);
    conn.data_received(b"hi");
    conn.protocol()
        .inner()
        .inner()
        .seen
        .borrow()
        .transport
        .clone()
        .unwrap()
        .lose_connection();
    conn.settle();
    assert_eq!(
        *log.borrow(),
        [
            "outer:made",
            "inner:made",
            "outer:read hi",
            "inner:read hi",
            "inner:write hi",
            "outer:write hi",
            "inner:close",
            "outer:close",
            "outer:lost",
            "inner:lost",
        ]
    );
    assert_eq!(conn.value(), b"hi");
    assert_eq!(lost(&seen), "done");
}

/// Reports a different peer and turns a clean close into a timeout.
struct Disguise;

impl Policy for Disguise {
    fn peer(&self, _below: &Transport) -> Address {
        tcp("203.0.113.7:4242")
    }
    fn connection_lost(&self, _link: Link<'_>, _reason: Failure) -> Failure {
        Failure::new(TimedOut::new())
    }
}

#[test]
fn a_policy_changes_what_the_wrapped_protocol_sees() {
    let (recorder, seen) = Recorder::new();
    let mut conn = StringTransportWithDisconnection::new(Wrapped::new(Disguise, recorder));
    assert_eq!(seen.borrow().peer, Some(tcp("203.0.113.7:4242")));
    let transport = seen.borrow().transport.clone().unwrap();
    assert_eq!(transport.kind(), "string", "unchanged hooks pass through");
    assert_eq!(transport.host(), conn.handle().host());
    conn.peer_closed();
    assert_eq!(lost(&seen), "timed out");
    assert!(transport.is_closed(), "the wrapped transport reports the close");
}

#[test]
fn wrapped_protocols_talk_over_the_in_memory_pair() {
    let log = Log::default();
    let (server, server_seen) = Recorder::echo();
    let (mut client, client_seen) = Recorder::new();
    client.greeting = b"ping".to_vec();
    let server = Wrapped::new(
        Tag {
            name: "s",
            log: log.clone(),
        },
        server,
    );
    let client = Wrapped::new(
        Tag {
            name: "c",
            log: log.clone(),
        },
        client,
    );
    let mut pair = connect_pair(server, client);
    pair.pump();
    assert_eq!(server_seen.borrow().data, b"ping");
    assert_eq!(client_seen.borrow().data, b"ping");
    pair.client_transport().lose_connection();
    pair.pump();
    assert!(!pair.is_connected());
    assert!(server_seen.borrow().lost.as_ref().unwrap().is::<ConnectionDone>());
}

/// Counts start and stop calls; refuses peers on port 1.
struct Counting {
    started: Rc<Cell<i32>>,
    inner: SharedFactory,
}

impl Factory for Counting {
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        if peer.port() == Some(1) {
            return None;
        }
        self.inner.build_protocol(peer)
    }
    fn start_factory(&mut self) {
        self.started.set(self.started.get() + 1);
    }
    fn stop_factory(&mut self) {
        self.started.set(self.started.get() - 1);
    }
}

/// Counts how many of its policies are alive.
struct Alive(Rc<Cell<i32>>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl Policy for Alive {}

#[test]
fn factories_admit_refuse_divert_and_pass_start_and_stop_through() {
    let started = Rc::new(Cell::new(0));
    let alive = Rc::new(Cell::new(0));
    let (echo, built) = echo_factory();
    let inner = SharedFactory::new(Counting {
        started: started.clone(),
        inner: echo,
    });
    let counter = alive.clone();
    let factory = wrap_factory(
        inner,
        policy_fn(move |peer: &Address| match peer.port() {
            Some(2) => Admission::Refuse,
            Some(3) => Admission::Divert(Box::new(Recorder::new().0)),
            _ => {
                counter.set(counter.get() + 1);
                Admission::Admit(Alive(counter.clone()))
            }
        }),
    );
    factory.do_start();
    assert_eq!(started.get(), 1, "start reaches the wrapped factory");
    assert!(factory.build_protocol(&tcp("127.0.0.1:2")).is_none(), "refused");
    assert!(factory.build_protocol(&tcp("127.0.0.1:3")).is_some(), "diverted");
    assert_eq!(built.borrow().len(), 0, "neither reached the wrapped factory");
    assert!(
        factory.build_protocol(&tcp("127.0.0.1:1")).is_none(),
        "the wrapped factory refused"
    );
    assert_eq!(alive.get(), 0, "and the policy made for it was dropped");
    let admitted = factory.build_protocol(&tcp("127.0.0.1:4")).unwrap();
    assert_eq!((alive.get(), built.borrow().len()), (1, 1));
    drop(admitted);
    assert_eq!(alive.get(), 0);
    factory.do_stop();
    assert_eq!(started.get(), 0, "stop reaches the wrapped factory");
}
