//! `AsyncStream` edge cases: a `read_exact` cancelled while it waits must
//! not leave the stream buffering without bound, and two tasks reading the
//! same stream at once must both be woken.

mod bounded;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::time::Duration;

use bounded::Leave;
use gyre_core::Failure;
use gyre_core::errors::TimedOut;
use gyre_reactor::Reactor;
use gyre_reactor::async_io;

const LIMIT: Duration = Duration::from_secs(20);

fn block_on<T: 'static>(
    reactor: &Reactor,
    future: impl std::future::Future<Output = Result<T, Failure>> + 'static,
) -> Result<T, Failure> {
    bounded::within(reactor, LIMIT, Leave::Crash, || reactor.block_on(future))
}

/// A blocking server on its own thread: for each byte it reads, it sends
/// back `replies[i]` bytes; it ends when the client closes.
fn scripted_server(replies: Vec<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut byte = [0u8; 1];
        for reply in replies {
            if socket.read(&mut byte).unwrap_or(0) == 0 {
                return;
            }
            if socket.write_all(&reply).is_err() {
                return;
            }
        }
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest);
    });
    address
}

#[test]
fn a_cancelled_read_exact_puts_the_buffer_limit_back() {
    const BULK: usize = 2 * 1024 * 1024;
    const BUFFER_LIMIT: usize = 4096;
    let address = scripted_server(vec![vec![0xCD; BULK]]);
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    let first = block_on(&reactor, async move {
        let stream = async_io::connect_tcp(&r, address).await?;
        stream.set_buffer_limit(BUFFER_LIMIT);
        // Nothing comes until we ask: the wait is cancelled by the timeout.
        let cancelled = async_io::timeout(&r, Duration::from_millis(5), stream.read_exact(BULK)).await;
        assert!(cancelled.unwrap_err().is::<TimedOut>());
        stream.write(b"!").await?;
        // Give the bulk time to arrive: with the cancelled read_exact's
        // threshold left behind, all of it would be buffered by now.
        async_io::sleep(&r, Duration::from_millis(300)).await?;
        let first = stream.read().await?.len();
        // The rest still arrives in full.
        let mut total = first;
        while total < BULK {
            let data = stream.read().await?;
            assert!(!data.is_empty(), "the stream ended early");
            total += data.len();
        }
        Ok(first)
    })
    .unwrap();
    // Reading pauses once more than the limit is unread: at most one more
    // socket read (64 KiB) arrives after that.
    assert!(
        first <= BUFFER_LIMIT + 64 * 1024,
        "{first} bytes were buffered after the read_exact was cancelled"
    );
    reactor.close();
}

#[test]
fn two_tasks_reading_at_once_are_both_woken() {
    // "1" → "a", then "2" → "b": two separate arrivals.
    let address = scripted_server(vec![b"a".to_vec(), b"b".to_vec()]);
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    let got = block_on(&reactor, async move {
        let stream = Rc::new(async_io::connect_tcp(&r, address).await?);
        let finished = Rc::new(Cell::new(0));
        let mut readers = Vec::new();
        for _ in 0..2 {
            let (stream, finished) = (stream.clone(), finished.clone());
            readers.push(r.spawn(async move {
                let data = stream.read().await?;
                finished.set(finished.get() + 1);
                Ok(data)
            }));
        }
        // Both readers are waiting before anything is sent.
        async_io::sleep(&r, Duration::from_millis(5)).await?;
        stream.write(b"1").await?;
        while finished.get() == 0 {
            async_io::sleep(&r, Duration::from_millis(1)).await?;
        }
        stream.write(b"2").await?;
        let mut got = Vec::new();
        for reader in readers {
            got.push(async_io::timeout(&r, Duration::from_secs(5), reader).await?);
        }
        got.sort();
        Ok(got)
    })
    .unwrap();
    assert_eq!(got, [b"a".to_vec(), b"b".to_vec()]);
    reactor.close();
}
