//! How TCP connections end, over real sockets: peers that close mid-write
//! or cleanly, resets, half-closes in both directions, and transports used
//! after their connection ended. In every path `connection_lost` is called
//! exactly once, with `ConnectionDone`, `ConnectionLost` or
//! `ConnectionAborted` as appropriate.

mod tcp_support;

use std::cell::RefCell;
use std::io::{ErrorKind, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use gyre_core::prelude::*;
use gyre_core::producer::{Producer, PushProducer, WaterMarks};
use gyre_core::transport::ConnectionState;
use gyre_reactor::{ConnectOptions, ListenOptions, Reactor};
use tcp_support::{Log, LoggingClient, Scripted, ipv4, ipv6, pattern, run_until};

/// Listens on `family` with server protocols built by `server`.
fn serve(reactor: &Reactor, family: SocketAddr, server: impl Fn() -> Scripted + 'static) -> SocketAddr {
    let port = reactor
        .listen_tcp_with(
            family,
            protocol_factory(move |_| server()),
            ListenOptions::default(),
        )
        .unwrap();
    port.host().socket_addr().unwrap()
}

/// A plain-socket peer running `script` in a thread, with a time limit on
/// every read and write.
fn peer_thread<T: Send + 'static>(
    server: SocketAddr,
    script: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::spawn(move || {
        let stream = TcpStream::connect(server).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        script(stream)
    })
}

/// Runs until the server's connection has ended.
fn run_until_server_lost(reactor: &Reactor, log: &Log) {
    let done = log.clone();
    run_until(reactor, Duration::from_secs(20), log, move || {
        done.count_prefix("server lost") > 0
    });
}

/// Connects `client` to `server` and runs until both ends are done: the
/// server's connection ended and the client's factory stopped.
fn connect_and_run(reactor: &Reactor, log: &Log, server: SocketAddr, client: LoggingClient) {
    let _connector = reactor.connect_tcp_with(server, client, ConnectOptions::default());
    let done = log.clone();
    run_until(reactor, Duration::from_secs(20), log, move || {
        done.count_prefix("server lost") > 0 && done.has("client factory stopped")
    });
}

#[test]
fn a_peer_that_resets_mid_write_is_lost_once() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server = serve(&reactor, ipv4(), {
        let log = log.clone();
        move || {
            Scripted::new("server", &log).on_made(|t| {
                t.write(&pattern(8 * 1024 * 1024));
                t.lose_connection();
            })
        }
    });
    // Reads a little, then closes with unread data: the kernel resets.
    let peer = peer_thread(server, |mut stream| {
        let mut buf = vec![0; 100_000];
        stream.read_exact(&mut buf).unwrap();
        buf == pattern(100_000)
    });
    run_until_server_lost(&reactor, &log);
    assert!(peer.join().unwrap(), "the peer read the start of the data intact");
    assert_eq!(log.events(), ["server made", "server lost: lost"]);
}

#[test]
fn a_peer_that_half_closes_gets_a_reply_and_a_clean_close() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server = serve(&reactor, ipv6(), {
        let log = log.clone();
        move || {
            let received = Rc::new(RefCell::new(Vec::new()));
            let seen = received.clone();
            Scripted::new("server", &log)
                .into_buffer(&received)
                .on_read_lost(move |t| {
                    // The peer sent everything; reply, then close.
                    let reply = format!("you said {}", String::from_utf8_lossy(&seen.borrow()));
                    t.write(reply.as_bytes());
                    t.lose_connection();
                })
        }
    });
    let peer = peer_thread(server, |mut stream| {
        stream.write_all(b"bye").unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    });
    run_until_server_lost(&reactor, &log);
    assert_eq!(peer.join().unwrap(), "you said bye");
    assert_eq!(
        log.events(),
        ["server made", "server read lost", "server lost: done"]
    );
}

#[test]
fn our_half_close_lets_the_peer_keep_sending() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server_received = Rc::new(RefCell::new(Vec::new()));
    let server = serve(&reactor, ipv4(), {
        let (log, received) = (log.clone(), server_received.clone());
        move || {
            Scripted::new("server", &log).into_buffer(&received).on_made(|t| {
                t.write(b"bye");
                t.lose_write_connection();
                // Writes after the half-close are dropped, not sent.
                t.write(b" and more");
                assert_eq!(t.state(), ConnectionState::Open, "reading goes on");
            })
        }
    });
    let client_received = Rc::new(RefCell::new(Vec::new()));
    let client = LoggingClient::new("client", &log, {
        let (log, received) = (log.clone(), client_received.clone());
        move || {
            Scripted::new("client", &log)
                .into_buffer(&received)
                .on_read_lost(|t| {
                    // End of file from the server; this side can still send.
                    t.write(b"still here");
                    t.lose_connection();
                })
        }
    });
    connect_and_run(&reactor, &log, server, client);
    assert_eq!(&*client_received.borrow(), b"bye");
    assert_eq!(&*server_received.borrow(), b"still here");
    let events = log.events();
    let at = |e: &str| {
        events
            .iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("no {e:?} in {events:?}"))
    };
    assert!(at("server write lost") < at("server lost: done"), "{events:?}");
    assert!(at("client read lost") < at("client lost: done"), "{events:?}");
    assert_eq!(log.count_prefix("server lost"), 1);
    assert_eq!(log.count_prefix("client lost"), 1);
    assert!(
        !log.has("server read lost"),
        "both sides closed: the connection ends without it: {events:?}"
    );
}

#[test]
fn the_peers_half_close_reaches_a_protocol_that_keeps_writing() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server = serve(&reactor, ipv6(), {
        let log = log.clone();
        move || {
            let received = Rc::new(RefCell::new(Vec::new()));
            let seen = received.clone();
            Scripted::new("server", &log)
                .into_buffer(&received)
                .on_read_lost(move |t| {
                    // Keep the connection and write a few times more.
                    t.write(b"got eof after ");
                    t.write(&seen.borrow());
                    t.write_vectored(&[IoSlice::new(b", "), IoSlice::new(b"goodbye")]);
                    t.lose_connection();
                })
        }
    });
    let received = Rc::new(RefCell::new(Vec::new()));
    let client = LoggingClient::new("client", &log, {
        let (log, received) = (log.clone(), received.clone());
        move || {
            Scripted::new("client", &log).into_buffer(&received).on_made(|t| {
                t.write(b"hello");
                t.lose_write_connection();
            })
        }
    });
    connect_and_run(&reactor, &log, server, client);
    assert_eq!(&*received.borrow(), b"got eof after hello, goodbye");
    assert_eq!(log.count("server read lost"), 1);
    assert_eq!(log.count("client write lost"), 1);
    assert_eq!(log.count("server lost: done"), 1);
    assert_eq!(log.count("client lost: done"), 1, "{log:?}");
    assert!(
        !log.has("client read lost"),
        "its write side was already shut: {log:?}"
    );
}

#[test]
fn abort_resets_the_connection() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server = serve(&reactor, ipv4(), {
        let log = log.clone();
        move || {
            Scripted::new("server", &log).on_data(|t, _| {
                t.write(&pattern(1024 * 1024));
                t.abort_connection();
                assert!(t.is_closed());
                assert_eq!(t.buffered_len(), 0, "buffered data is dropped");
            })
        }
    });
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || Scripted::new("client", &log).on_made(|t| t.write(b"go"))
    });
    connect_and_run(&reactor, &log, server, client);
    assert_eq!(log.count_prefix("server lost"), 1);
    assert_eq!(log.count("server lost: aborted"), 1, "{log:?}");
    assert_eq!(log.count_prefix("client lost"), 1);
    assert_eq!(
        log.count("client lost: lost"),
        1,
        "the peer sees a reset: {log:?}"
    );
}

#[test]
fn a_plain_socket_peer_sees_the_reset_of_an_abort() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server = serve(&reactor, ipv6(), {
        let log = log.clone();
        move || Scripted::new("server", &log).on_data(|t, _| t.abort_connection())
    });
    let peer = peer_thread(server, |mut stream| {
        stream.write_all(b"go").unwrap();
        let mut buf = [0; 16];
        stream.read(&mut buf).map_err(|e| e.kind())
    });
    run_until_server_lost(&reactor, &log);
    assert_eq!(peer.join().unwrap(), Err(ErrorKind::ConnectionReset));
    assert_eq!(log.events(), ["server made", "server lost: aborted"]);
}

/// Counts what a producer is told.
#[derive(Default)]
struct Recorder(RefCell<Vec<&'static str>>);

impl PushProducer for Recorder {
    fn pause_producing(&self) {
        self.0.borrow_mut().push("pause");
    }
    fn resume_producing(&self) {
        self.0.borrow_mut().push("resume");
    }
    fn stop_producing(&self) {
        self.0.borrow_mut().push("stop");
    }
}

#[test]
fn a_transport_kept_after_the_close_reports_it_and_drops_everything() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let kept: Rc<RefCell<Option<Transport>>> = Rc::default();
    let server = serve(&reactor, ipv4(), {
        let (log, kept) = (log.clone(), kept.clone());
        move || {
            let (kept, later) = (kept.clone(), kept.clone());
            Scripted::new("server", &log)
                .on_made(move |t| *kept.borrow_mut() = Some(t.clone()))
                .on_lost(move |_, _| {
                    let t = later.borrow().clone().unwrap();
                    assert!(t.is_closed(), "closed already inside connection_lost");
                })
        }
    });
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || Scripted::new("client", &log).on_made(|t| t.lose_connection())
    });
    connect_and_run(&reactor, &log, server, client);
    let transport = kept.borrow().clone().unwrap();
    assert!(transport.is_closed());
    assert_eq!(transport.state(), ConnectionState::Closed);
    transport.write(b"into the void");
    transport.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]);
    assert_eq!(transport.buffered_len(), 0);
    transport.pause_reading();
    transport.resume_reading();
    transport.set_water_marks(WaterMarks::new(10, 5));
    transport.lose_write_connection();
    transport.lose_connection();
    transport.abort_connection();
    let producer = Rc::new(Recorder::default());
    transport
        .register_producer(Producer::Push(producer.clone()))
        .unwrap();
    assert_eq!(
        *producer.0.borrow(),
        ["stop"],
        "a producer registered on a closed transport is stopped"
    );
    transport.unregister_producer();
    assert_eq!(transport.peer().socket_addr().unwrap().ip(), server.ip());
    assert_eq!(transport.host().socket_addr().unwrap(), server);
    // Running the reactor again delivers nothing more.
    run_until(&reactor, Duration::from_secs(5), &log, || true);
    assert_eq!(log.count("server lost: done"), 1, "{log:?}");
    assert_eq!(log.count("client lost: done"), 1, "{log:?}");
}

#[test]
fn writing_to_a_transport_that_another_callback_closed_is_dropped() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    // The server keeps every connection's transport, like a chat room.
    let room: Rc<RefCell<Vec<Transport>>> = Rc::default();
    let server = serve(&reactor, ipv4(), {
        let (log, room, reactor) = (log.clone(), room.clone(), reactor.clone());
        move || {
            let (joined, room, reactor) = (room.clone(), room.clone(), reactor.clone());
            Scripted::new("server", &log)
                .on_made(move |t| joined.borrow_mut().push(t.clone()))
                .on_data(move |t, data| {
                    if data != b"kick the other" {
                        return;
                    }
                    let others: Vec<Transport> =
                        room.borrow().iter().filter(|o| !o.ptr_eq(t)).cloned().collect();
                    for other in others {
                        other.abort_connection();
                        // Same callback, after the close: dropped.
                        other.write(b"too late");
                        other.lose_connection();
                        // A later callback: dropped as well.
                        drop(reactor.call_later(Duration::from_millis(10), move || {
                            other.write(b"much too late");
                            other.abort_connection();
                        }));
                    }
                    t.write(b"done");
                })
        }
    });
    let other_received = Rc::new(RefCell::new(Vec::new()));
    let other = LoggingClient::new("other", &log, {
        let (log, received) = (log.clone(), other_received.clone());
        move || Scripted::new("other", &log).into_buffer(&received)
    });
    let _other = reactor.connect_tcp_with(server, other, ConnectOptions::default());
    // The kicker connects once the other one is in the room.
    let kicker = LoggingClient::new("kicker", &log, {
        let log = log.clone();
        move || {
            Scripted::new("kicker", &log)
                .on_made(|t| t.write(b"kick the other"))
                .on_data(|t, data| {
                    assert_eq!(data, b"done");
                    t.lose_connection();
                })
        }
    });
    let kicker_connector: Rc<RefCell<Option<gyre_core::connector::Connector>>> = Rc::default();
    let (waiting, r, slot) = (room.clone(), reactor.clone(), kicker_connector.clone());
    let kicker = Rc::new(RefCell::new(Some(kicker)));
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(20), &log, move || {
        if waiting.borrow().len() == 1
            && let Some(kicker) = kicker.borrow_mut().take()
        {
            *slot.borrow_mut() = Some(r.connect_tcp_with(server, kicker, ConnectOptions::default()));
        }
        done.count_prefix("server lost") == 2
            && done.has("other factory stopped")
            && done.has("kicker factory stopped")
            && room.borrow().iter().all(Transport::is_closed)
    });
    assert!(
        other_received.borrow().is_empty(),
        "nothing reached the kicked client"
    );
    assert_eq!(log.count("server lost: aborted"), 1, "{log:?}");
    assert_eq!(log.count("server lost: done"), 1, "{log:?}");
    assert_eq!(log.count("other lost: lost"), 1, "{log:?}");
    assert_eq!(log.count("kicker lost: done"), 1, "{log:?}");
}

#[test]
fn every_way_to_close_at_once_still_ends_once_with_the_first_reason() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let server = serve(&reactor, ipv4(), {
        let log = log.clone();
        move || {
            Scripted::new("server", &log).on_data(|t, _| {
                t.write(b"x");
                t.lose_connection();
                assert_eq!(t.state(), ConnectionState::Closing);
                t.abort_connection();
                assert_eq!(t.state(), ConnectionState::Closed);
                t.lose_write_connection();
                t.lose_connection();
                t.abort_connection();
            })
        }
    });
    let client = LoggingClient::new("client", &log, {
        let log = log.clone();
        move || Scripted::new("client", &log).on_made(|t| t.write(b"go"))
    });
    connect_and_run(&reactor, &log, server, client);
    assert_eq!(log.count_prefix("server lost"), 1, "{log:?}");
    assert_eq!(log.count("server lost: aborted"), 1, "{log:?}");
    assert_eq!(log.count_prefix("client lost"), 1, "{log:?}");
    assert_eq!(
        log.count("client lost: lost"),
        1,
        "the abort won over the close: {log:?}"
    );
}
