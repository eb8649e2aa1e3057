//! Releasing reactors: file descriptors are not leaked when reactors are
//! dropped, including reactors whose callbacks hold clones of themselves
//! (reference cycles through timers, triggers, tasks, factories), which
//! `Reactor::close` breaks.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

use gyre_core::prelude::*;
use gyre_reactor::{ConnectOptions, ListenOptions, Phase, Reactor, SystemEvent, async_io};

/// Descriptor counts are process-wide: the tests of this file take turns.
static FD_COUNTING: Mutex<()> = Mutex::new(());

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

const LIMIT: Duration = Duration::from_secs(20);

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// Holds its reactor (a cycle while the connection is open) and fires
/// `connected` once up.
struct Holder {
    _reactor: Reactor,
    connected: Option<Resolver<()>>,
}

impl Protocol for Holder {
    fn connection_made(&mut self, _transport: &Transport) {
        if let Some(connected) = self.connected.take() {
            connected.callback(());
        }
    }

    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

/// One reactor with every kind of self-reference a program makes: returns
/// once a TCP connection to its own port is up, with both ends open.
fn busy_reactor_with_cycles() -> Reactor {
    let reactor = Reactor::new().unwrap();
    // A pending timer holding a clone.
    let r = reactor.clone();
    reactor.call_later(Duration::from_secs(3600), move || drop(r.stop()));
    // A trigger holding a clone.
    let r = reactor.clone();
    reactor.add_trigger(Phase::After, SystemEvent::Shutdown, move || {
        assert!(!r.is_closed())
    });
    // A task asleep, holding a clone.
    let r = reactor.clone();
    drop(reactor.spawn(async move { async_io::sleep(&r, Duration::from_secs(3600)).await }));
    // A listening port whose factory holds a clone, and a connection to it
    // whose protocols hold clones.
    let r = reactor.clone();
    let port = reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            protocol_factory(move |_| Holder {
                _reactor: r.clone(),
                connected: None,
            }),
            ListenOptions::default(),
        )
        .unwrap();
    let (connected, resolver) = Deferred::new();
    let resolver = Rc::new(Cell::new(Some(resolver)));
    let r = reactor.clone();
    reactor.connect_tcp_with(
        port.host().socket_addr().unwrap(),
        protocol_factory(move |_| Holder {
            _reactor: r.clone(),
            connected: resolver.take(),
        }),
        ConnectOptions::default().timeout(Duration::from_secs(5)),
    );
    // A thread-pool job whose callback holds a clone.
    let r = reactor.clone();
    reactor
        .defer_to_thread(|| Ok::<_, std::io::Error>(()))
        .add_callback(move |()| {
            assert!(!r.is_closed());
            Ok(())
        });
    let guard = reactor.call_later(LIMIT, || panic!("the connection did not come up"));
    // `crash`, not `stop`: leave the loop with everything still open.
    let r = reactor.clone();
    drop(connected.map(move |()| r.crash()));
    reactor.run().unwrap();
    guard.cancel();
    reactor
}

#[test]
fn two_hundred_reactors_with_self_references_leak_no_descriptor_once_closed() {
    let _turn = FD_COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let before = open_fds();
    for _ in 0..200 {
        let reactor = busy_reactor_with_cycles();
        assert_eq!(
            reactor.source_count(),
            3,
            "the port and both ends are open when close runs"
        );
        reactor.close();
        assert_eq!(reactor.source_count(), 0);
        drop(reactor);
    }
    assert_eq!(
        open_fds(),
        before,
        "every epoll, eventfd and socket descriptor was released"
    );
}

#[test]
fn reactors_without_self_references_are_released_by_dropping_them() {
    let _turn = FD_COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let before = open_fds();
    for _ in 0..200 {
        let reactor = Reactor::new().unwrap();
        let port = reactor
            .listen_tcp_with(
                "127.0.0.1:0".parse().unwrap(),
                protocol_factory(|_| Echo),
                ListenOptions::default(),
            )
            .unwrap();
        let stream = async_io::connect_tcp(&reactor, port.host().socket_addr().unwrap());
        let fired = Rc::new(Cell::new(false));
        let flag = fired.clone();
        reactor.call_later(Duration::from_secs(3600), move || flag.set(true));
        let stream = reactor.run_until(stream).unwrap();
        drop((stream, port));
        drop(reactor);
        assert!(!fired.get());
    }
    assert_eq!(open_fds(), before);
}

#[test]
fn closing_a_running_reactor_stops_it_gracefully_then_releases_it() {
    let _turn = FD_COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let before = open_fds();
    let reactor = Reactor::new().unwrap();
    let lost = Rc::new(Cell::new(false));
    let port = reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            protocol_factory(|_| Echo),
            ListenOptions::default(),
        )
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    let (r, l) = (reactor.clone(), lost.clone());
    let client = reactor.spawn(async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        // Close the reactor from inside one of its tasks.
        r.close();
        assert!(!r.is_closed(), "a running reactor closes when run returns");
        let ended = stream.read().await;
        l.set(ended.is_err());
        Ok(())
    });
    let guard = reactor.call_later(LIMIT, || panic!("close did not stop the reactor"));
    reactor.run().unwrap();
    drop(guard);
    assert!(reactor.is_closed());
    assert!(
        lost.get(),
        "the stream heard that the connection was closed at shutdown"
    );
    assert!(client.is_fired());
    drop((client, port, reactor));
    assert_eq!(open_fds(), before);
}

/// Counts drops, to see callbacks released.
struct DropCount(Rc<Cell<u32>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn a_closed_reactor_refuses_work_and_drops_callbacks_at_once() {
    let _turn = FD_COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let reactor = Reactor::new().unwrap();
    let dropped = Rc::new(Cell::new(0));
    let token = DropCount(dropped.clone());
    reactor.call_later(Duration::from_secs(1), move || drop(token));
    reactor.close();
    assert_eq!(dropped.get(), 1, "a pending timer's callback is dropped by close");
    reactor.close();

    let token = DropCount(dropped.clone());
    let late = reactor.call_later(Duration::ZERO, move || drop(token));
    assert_eq!(dropped.get(), 2, "a timer added after close is dropped at once");
    assert!(late.cancelled());
    assert!(reactor.run().is_err());
    assert!(
        reactor
            .listen_tcp_with(
                "127.0.0.1:0".parse().unwrap(),
                protocol_factory(|_| Echo),
                ListenOptions::default()
            )
            .is_err()
    );
    let job = reactor.defer_to_thread(|| Ok::<_, std::io::Error>(1));
    let refused = Rc::new(Cell::new(false));
    let r = refused.clone();
    drop(job.then(move |result| r.set(result.unwrap_err().is::<gyre_core::errors::Cancelled>())));
    assert!(refused.get(), "a job for a closed reactor fails at once");
    assert_eq!(reactor.thread_pool_stats().workers, 0, "and starts no thread");
}
