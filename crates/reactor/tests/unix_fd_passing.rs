//! File descriptors over Unix sockets, both ways: a pipe end sent by one
//! side is read or written by the other.

mod tcp_support;
mod unix_support;

use std::cell::RefCell;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::capability::UnixFdPassing;
use gyre_core::errors::TransportClosed;
use gyre_core::interfaces::ReactorUnix;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use rustix::io::FdFlags;

use tcp_support::{Log, run_until};
use unix_support::abstract_name;

const LIMIT: Duration = Duration::from_secs(10);

type OnMade = Box<dyn FnMut(&Transport)>;
type OnFds = Box<dyn FnMut(&Transport, Vec<OwnedFd>)>;

/// A protocol that runs closures on connect and on received descriptors,
/// and logs `NAME fds N`, `NAME data BYTES` and `NAME lost`.
struct FdPeer {
    name: &'static str,
    log: Log,
    made: OnMade,
    fds: OnFds,
}

impl FdPeer {
    fn new(name: &'static str, log: &Log, made: impl FnMut(&Transport) + 'static) -> Self {
        FdPeer {
            name,
            log: log.clone(),
            made: Box::new(made),
            fds: Box::new(|_, _| {}),
        }
    }

    fn on_fds(mut self, f: impl FnMut(&Transport, Vec<OwnedFd>) + 'static) -> Self {
        self.fds = Box::new(f);
        self
    }
}

impl Protocol for FdPeer {
    fn connection_made(&mut self, transport: &Transport) {
        (self.made)(transport);
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        self.log
            .push(format!("{} data {}", self.name, String::from_utf8_lossy(data)));
    }

    fn file_descriptors_received(&mut self, transport: &Transport, fds: Vec<OwnedFd>) {
        self.log.push(format!("{} fds {}", self.name, fds.len()));
        for fd in &fds {
            let flags = rustix::io::fcntl_getfd(fd).unwrap();
            assert!(
                flags.contains(FdFlags::CLOEXEC),
                "received descriptors are close-on-exec"
            );
        }
        (self.fds)(transport, fds);
    }

    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {
        self.log.push(format!("{} lost", self.name));
    }
}

/// Serves `server` and connects `client` over a fresh abstract name; runs
/// until `done` holds.
fn run_pair(
    log: &Log,
    server: impl Fn() -> FdPeer + 'static,
    mut client: impl FnMut() -> FdPeer + 'static,
    done: impl Fn() -> bool + 'static,
) {
    let reactor = Reactor::new().unwrap();
    let address = abstract_name("fds");
    let _port = reactor.listen_unix(
        address.clone(),
        protocol_factory(move |_: &Address| server()).into(),
        50,
        None,
    );
    reactor.connect_unix(
        address,
        protocol_factory(move |_: &Address| client()).into(),
        LIMIT,
    );
    run_until(&reactor, LIMIT, log, done);
}

#[test]
fn the_server_sends_a_pipe_and_the_client_reads_it() {
    let log = Log::new();
    let contents = Rc::new(RefCell::new(String::new()));
    let server_log = log.clone();
    let server = move || {
        FdPeer::new("server", &server_log, |transport| {
            let (reader, writer) = rustix::pipe::pipe().unwrap();
            File::from(writer).write_all(b"through the pipe").unwrap(); // and closed
            let sender = transport.capability::<UnixFdPassing>().unwrap();
            sender.send(vec![reader]).unwrap();
            transport.write(b"!"); // descriptors travel with data
        })
    };
    let client_log = log.clone();
    let seen = contents.clone();
    let client = move || {
        let seen = seen.clone();
        FdPeer::new("client", &client_log, |_| {}).on_fds(move |transport, fds| {
            for fd in fds {
                File::from(fd).read_to_string(&mut seen.borrow_mut()).unwrap();
            }
            transport.lose_connection();
        })
    };
    let done = log.clone();
    run_pair(&log, server, client, move || done.has("client lost"));
    assert_eq!(*contents.borrow(), "through the pipe");
    let events = log.events();
    let fds_at = events
        .iter()
        .position(|e| e == "client fds 1")
        .expect("descriptors arrived");
    let data_at = events
        .iter()
        .position(|e| e == "client data !")
        .expect("the byte arrived");
    assert!(
        fds_at < data_at,
        "descriptors come before the bytes they rode with: {events:?}"
    );
}

#[test]
fn the_client_sends_a_pipe_and_the_server_writes_into_it() {
    let log = Log::new();
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    let writer = Rc::new(RefCell::new(Some(writer)));
    let server_log = log.clone();
    let server = move || {
        FdPeer::new("server", &server_log, |_| {}).on_fds(|transport, fds| {
            for fd in fds {
                File::from(fd).write_all(b"written by the server").unwrap();
            }
            transport.write(b"done");
        })
    };
    let client_log = log.clone();
    let client = move || {
        let writer = writer.clone();
        FdPeer::new("client", &client_log, move |transport| {
            let sender = transport.capability::<UnixFdPassing>().unwrap();
            sender.send(vec![writer.borrow_mut().take().unwrap()]).unwrap();
            transport.write(b"here is a pipe");
        })
    };
    let done = log.clone();
    run_pair(&log, server, client, move || done.has("client data done"));
    assert!(log.has("server fds 1"), "{log:?}");
    // Every copy of the write end is closed now (ours was sent and closed,
    // the server's was dropped), so reading ends.
    let mut contents = String::new();
    File::from(reader).read_to_string(&mut contents).unwrap();
    assert_eq!(contents, "written by the server");
}

#[test]
fn more_descriptors_than_one_message_holds_go_in_batches() {
    let log = Log::new();
    let total = Rc::new(RefCell::new(0usize));
    let server_log = log.clone();
    let server = move || {
        FdPeer::new("server", &server_log, |transport| {
            let fds: Vec<OwnedFd> = (0..300).map(|_| rustix::pipe::pipe().unwrap().0).collect();
            transport
                .capability::<UnixFdPassing>()
                .unwrap()
                .send(fds)
                .unwrap();
            transport.write(b"xyz");
        })
    };
    let client_log = log.clone();
    let count = total.clone();
    let client = move || {
        let count = count.clone();
        FdPeer::new("client", &client_log, |_| {}).on_fds(move |_, fds| *count.borrow_mut() += fds.len())
    };
    let seen = total.clone();
    let done = log.clone();
    run_pair(&log, server, client, move || {
        *seen.borrow() == 300
            && done
                .events()
                .iter()
                .filter(|e| e.starts_with("client data"))
                .count()
                >= 1
    });
    assert!(log.has("client fds 253"), "{log:?}");
    assert!(log.has("client fds 47"), "{log:?}");
}

#[test]
fn a_sender_kept_after_the_close_reports_it() {
    let reactor = Reactor::new().unwrap();
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let kept = Rc::new(RefCell::new(None));
    let keep = kept.clone();
    let log = Log::new();
    let transport = reactor
        .adopt_connection(
            OwnedFd::from(ours),
            Box::new(FdPeer::new("ours", &log, move |transport| {
                *keep.borrow_mut() = Some(transport.capability::<UnixFdPassing>().unwrap());
            })),
        )
        .unwrap();
    transport.abort_connection();
    let done = log.clone();
    run_until(&reactor, LIMIT, &log, move || done.has("ours lost"));
    let sender = kept.borrow_mut().take().unwrap();
    let (reader, _writer) = rustix::pipe::pipe().unwrap();
    let failure = sender.send(vec![reader]).unwrap_err();
    assert!(failure.is::<TransportClosed>());
    drop(theirs);
}
