//! Clients and servers written entirely with `async`/`await`: sleep,
//! timeout, connect-and-await, reading lines, writing with back-pressure,
//! half-close, and closing — over real TCP on 127.0.0.1.

mod bounded;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bounded::Leave;
use gyre_core::deferred::gather;
use gyre_core::errors::{Cancelled, ConnectionDone, ConnectionRefused, TimedOut};
use gyre_core::prelude::*;
use gyre_reactor::async_io::{self, AsyncStream, LineTooLong};
use gyre_reactor::{ListenOptions, Reactor};

const LIMIT: Duration = Duration::from_secs(20);

/// `block_on` with a guard that crashes the loop (failing the test) after [`LIMIT`].
fn block_on<T: 'static>(
    reactor: &Reactor,
    future: impl std::future::Future<Output = Result<T, Failure>> + 'static,
) -> Result<T, Failure> {
    bounded::within(reactor, LIMIT, Leave::Crash, || reactor.block_on(future))
}

fn localhost() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// An async line-echo server; returns its address.
fn echo_server(reactor: &Reactor) -> std::net::SocketAddr {
    let port = async_io::listen_tcp(reactor, localhost(), |stream| async move {
        while let Some(line) = stream.read_line().await? {
            stream.write(&[&line[..], b"\n"].concat()).await?;
        }
        Ok(())
    })
    .unwrap();
    port.host().socket_addr().unwrap()
}

#[test]
fn sleep_waits_on_the_reactor_clock_and_timeout_gives_up() {
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    let (slept, fast, slow) = block_on(&reactor, async move {
        let started = Instant::now();
        async_io::sleep(&r, Duration::from_millis(20)).await?;
        let slept = started.elapsed();
        let fast = async_io::timeout(&r, Duration::from_secs(5), async { Ok(7) }).await?;
        let slow = async_io::timeout(
            &r,
            Duration::from_millis(10),
            async_io::sleep(&r, Duration::from_secs(60)),
        )
        .await;
        Ok((slept, fast, slow))
    })
    .unwrap();
    assert!(slept >= Duration::from_millis(20));
    assert_eq!(fast, 7);
    assert!(slow.unwrap_err().is::<TimedOut>());
    assert_eq!(
        reactor.next_deadline(),
        None,
        "the abandoned 60 s sleep cancelled its timer"
    );
}

#[test]
fn twenty_async_clients_talk_to_an_async_server_at_once() {
    let reactor = Reactor::new().unwrap();
    let address = echo_server(&reactor);
    let clients: Vec<Deferred<usize>> = (0..20)
        .map(|client| {
            let r = reactor.clone();
            reactor.spawn(async move {
                let stream = async_io::connect_tcp(&r, address).await?;
                for n in 0..50 {
                    let sent = format!("client {client} line {n}");
                    stream.write(format!("{sent}\r\n").as_bytes()).await?;
                    let echoed = stream.read_line().await?.expect("an echo");
                    assert_eq!(echoed, sent.as_bytes(), "\\r\\n is stripped like \\n");
                }
                stream.close().await?;
                Ok(50)
            })
        })
        .collect();
    let r = reactor.clone();
    let echoed = block_on(&reactor, async move {
        let counts = gather(clients).await?;
        drop(r);
        Ok(counts.iter().sum::<usize>())
    });
    assert_eq!(echoed.unwrap(), 1000);
}

#[test]
fn connecting_to_a_closed_port_fails_with_connection_refused() {
    let reactor = Reactor::new().unwrap();
    let closed = std::net::TcpListener::bind(localhost())
        .unwrap()
        .local_addr()
        .unwrap();
    let r = reactor.clone();
    let failure = block_on(&reactor, async move {
        async_io::connect_tcp(&r, closed).await.map(drop)
    })
    .unwrap_err();
    assert!(failure.is::<ConnectionRefused>(), "{failure}");
}

#[test]
fn cancelling_a_connect_stops_the_attempt() {
    let reactor = Reactor::new().unwrap();
    let address = echo_server(&reactor);
    assert_eq!(reactor.source_count(), 1, "the listening port");
    let connecting = async_io::connect_tcp(&reactor, address);
    assert_eq!(reactor.source_count(), 2, "the port and the connecting socket");
    connecting.cancel();
    assert_eq!(reactor.source_count(), 1, "the attempt's socket is gone at once");
    let cancelled = block_on(&reactor, async move {
        Ok(connecting.await.unwrap_err().is::<Cancelled>())
    });
    assert!(cancelled.unwrap());
}

#[test]
fn lines_end_at_newlines_at_the_end_of_stream_and_at_the_length_limit() {
    let reactor = Reactor::new().unwrap();
    // A server that sends fixed bytes, then closes its write side.
    let port = async_io::listen_tcp(&reactor, localhost(), |stream| async move {
        stream.write(b"one\r\ntwo\n\nlast without newline").await?;
        stream.shutdown_write();
        // Wait for the client to finish (its close ends our read).
        while !stream.read().await?.is_empty() {}
        Ok(())
    })
    .unwrap();
    let address = port.host().socket_addr().unwrap();
    let long_port = async_io::listen_tcp(&reactor, localhost(), |stream| async move {
        stream.write(&vec![b'x'; 5000]).await?;
        stream.write(b"\n").await?;
        while !stream.read().await?.is_empty() {}
        Ok(())
    })
    .unwrap();
    let long_address = long_port.host().socket_addr().unwrap();
    let r = reactor.clone();
    let (lines, too_long) = block_on(&reactor, async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        let mut lines = Vec::new();
        while let Some(line) = stream.read_line().await? {
            lines.push(String::from_utf8(line).unwrap());
        }
        assert_eq!(stream.read_line().await?, None, "the end stays the end");
        stream.close().await?;
        let long = async_io::connect_tcp(&r, long_address).await?;
        long.set_buffer_limit(1000);
        let too_long = long.read_line().await.unwrap_err();
        Ok((lines, too_long))
    })
    .unwrap();
    assert_eq!(lines, ["one", "two", "", "last without newline"]);
    assert_eq!(too_long.downcast_ref::<LineTooLong>().unwrap().limit, 1000);
}

/// A server protocol that does not read for a while (reading paused), then
/// reads everything: the writer must wait, not buffer without bound.
struct SlowReader {
    received: Rc<Cell<usize>>,
    reactor: Reactor,
}

impl Protocol for SlowReader {
    fn connection_made(&mut self, transport: &Transport) {
        transport.pause_reading();
        let t = transport.clone();
        self.reactor
            .call_later(Duration::from_millis(200), move || t.resume_reading());
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        self.received.set(self.received.get() + data.len());
    }
}

#[test]
fn write_waits_for_a_slow_reader_instead_of_buffering_everything() {
    // More than loopback's socket buffers can absorb while the reader waits.
    const TOTAL: usize = 32 * 1024 * 1024;
    const CHUNK: usize = 16 * 1024;
    let reactor = Reactor::new().unwrap();
    let received = Rc::new(Cell::new(0));
    let (rec, r) = (received.clone(), reactor.clone());
    let port = reactor
        .listen_tcp_with(
            localhost(),
            protocol_factory(move |_| SlowReader {
                received: rec.clone(),
                reactor: r.clone(),
            }),
            ListenOptions::default(),
        )
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    let r = reactor.clone();
    let (most_buffered, took) = block_on(&reactor, async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        let started = Instant::now();
        let transport = stream.transport().unwrap();
        let chunk = vec![7u8; CHUNK];
        let mut most = 0;
        for _ in 0..TOTAL / CHUNK {
            stream.write(&chunk).await?;
            most = most.max(transport.buffered_len());
        }
        let took = started.elapsed();
        stream.close().await?;
        Ok((most, took))
    })
    .unwrap();
    assert!(
        took >= Duration::from_millis(150),
        "the writer waited for the paused reader ({took:?})"
    );
    // The default high-water mark is 64 KiB: the writer waits above it.
    assert!(
        most_buffered <= 64 * 1024 + CHUNK,
        "{most_buffered} bytes were buffered at most"
    );
    let r = reactor.clone();
    let rec = received.clone();
    block_on(&reactor, async move {
        while rec.get() < TOTAL {
            async_io::sleep(&r, Duration::from_millis(5)).await?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(received.get(), TOTAL);
}

/// Sends `total` bytes as fast as the socket takes them, then closes.
struct Firehose(usize);

impl Protocol for Firehose {
    fn connection_made(&mut self, transport: &Transport) {
        let block = vec![0xAB; 256 * 1024];
        for _ in 0..self.0 / block.len() {
            transport.write(&block);
        }
        transport.lose_connection();
    }

    fn data_received(&mut self, _transport: &Transport, _data: &[u8]) {}
}

#[test]
fn a_slow_async_reader_holds_a_bounded_buffer_and_gets_every_byte() {
    const TOTAL: usize = 4 * 1024 * 1024;
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_tcp_with(
            localhost(),
            protocol_factory(|_| Firehose(TOTAL)),
            ListenOptions::default(),
        )
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    let r = reactor.clone();
    let (total, largest) = block_on(&reactor, async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        stream.set_buffer_limit(32 * 1024);
        let (mut total, mut largest) = (0, 0);
        loop {
            async_io::sleep(&r, Duration::from_millis(1)).await?;
            let data = stream.read().await?;
            if data.is_empty() {
                break;
            }
            assert!(data.iter().all(|&b| b == 0xAB));
            total += data.len();
            largest = largest.max(data.len());
        }
        Ok((total, largest))
    })
    .unwrap();
    assert_eq!(total, TOTAL);
    // Reading pauses once more than the limit is unread: at most one more
    // socket read (64 KiB) arrives after that.
    assert!(
        largest <= 32 * 1024 + 64 * 1024,
        "a read returned {largest} bytes"
    );
}

#[test]
fn read_exact_can_wait_for_more_than_the_buffer_limit() {
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_tcp_with(
            localhost(),
            protocol_factory(|_| Firehose(1024 * 1024)),
            ListenOptions::default(),
        )
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    let r = reactor.clone();
    let (first, rest, after_end) = block_on(&reactor, async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        stream.set_buffer_limit(4096);
        let first = stream.read_exact(600 * 1024).await?.len();
        let rest = stream.read_exact(1024 * 1024 - 600 * 1024).await?.len();
        let after_end = stream.read_exact(1).await.unwrap_err();
        Ok((first, rest, after_end))
    })
    .unwrap();
    assert_eq!((first, rest), (600 * 1024, 424 * 1024));
    assert!(after_end.is::<ConnectionDone>());
}

#[test]
fn half_close_lets_the_server_answer_after_the_end_of_the_request() {
    let reactor = Reactor::new().unwrap();
    let port = async_io::listen_tcp(&reactor, localhost(), |stream| async move {
        let mut request = Vec::new();
        loop {
            let data = stream.read().await?;
            if data.is_empty() {
                break;
            }
            request.extend_from_slice(&data);
        }
        stream
            .write(format!("got {} bytes\n", request.len()).as_bytes())
            .await?;
        stream.close().await
    })
    .unwrap();
    let address = port.host().socket_addr().unwrap();
    let r = reactor.clone();
    let reply = block_on(&reactor, async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        stream.write(&[1u8; 10_000]).await?;
        stream.shutdown_write();
        let reply = stream.read_line().await?;
        assert_eq!(stream.read_line().await?, None);
        Ok(reply)
    });
    assert_eq!(reply.unwrap(), Some(b"got 10000 bytes".to_vec()));
}

#[test]
fn dropping_a_stream_closes_its_connection_cleanly() {
    let reactor = Reactor::new().unwrap();
    /// What the server read before the end, or the error it got instead.
    type Ended = Rc<RefCell<Option<Result<Vec<u8>, String>>>>;
    let ended: Ended = Rc::default();
    let e = ended.clone();
    let port = async_io::listen_tcp(&reactor, localhost(), move |stream: AsyncStream| {
        let e = e.clone();
        async move {
            let first = stream.read().await?;
            let end = stream.read().await.map_err(|f| f.to_string());
            *e.borrow_mut() = Some(end.map(|rest| [first, rest].concat()));
            Ok(())
        }
    })
    .unwrap();
    let address = port.host().socket_addr().unwrap();
    let r = reactor.clone();
    let e = ended.clone();
    block_on(&reactor, async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        stream.write(b"bye").await?;
        drop(stream);
        while e.borrow().is_none() {
            async_io::sleep(&r, Duration::from_millis(2)).await?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(
        ended.take(),
        Some(Ok(b"bye".to_vec())),
        "data, then a clean end of stream"
    );
}

#[test]
fn a_failing_handler_is_logged_and_its_connection_closed_while_the_server_goes_on() {
    let reactor = Reactor::new().unwrap();
    let port = async_io::listen_tcp(&reactor, localhost(), |stream| async move {
        let line = stream.read_line().await?.unwrap_or_default();
        if line == b"fail" {
            return Err(Failure::msg("the handler gave up"));
        }
        stream.write(b"ok\n").await
    })
    .unwrap();
    let address = port.host().socket_addr().unwrap();
    let r = reactor.clone();
    let (first, second) = block_on(&reactor, async move {
        let failing = async_io::connect_tcp(&r, address).await?;
        failing.write(b"fail\n").await?;
        let first = failing.read_line().await?;
        let fine = async_io::connect_tcp(&r, address).await?;
        fine.write(b"hello\n").await?;
        let second = fine.read_line().await?;
        Ok((first, second))
    })
    .unwrap();
    assert_eq!(first, None, "the failed handler's connection was closed");
    assert_eq!(second, Some(b"ok".to_vec()));
}
