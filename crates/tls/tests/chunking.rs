//! The TLS server fed the client's byte stream of a whole session (hello,
//! finished, data, close_notify) at every chunk size: records split
//! anywhere must give the same session.

mod support;

use gyre_core::errors::ConnectionDone;
use gyre_core::{Failure, Protocol, Transport};
use gyre_testing::{chunk_sizes, connect_pair};
use gyre_tls::{TlsClientConfig, TlsProtocol, TlsServerConfig};
use support::{Ca, Recorder, lost, trusting};

/// Hands what it receives to `inner` in pieces of `size` bytes, and
/// records how many bytes it saw.
struct Chunked<P> {
    inner: P,
    size: usize,
    seen: std::rc::Rc<std::cell::Cell<usize>>,
}

impl<P: Protocol> Protocol for Chunked<P> {
    fn connection_made(&mut self, transport: &Transport) {
        self.inner.connection_made(transport);
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.seen.set(self.seen.get() + data.len());
        for piece in data.chunks(self.size) {
            self.inner.data_received(transport, piece);
        }
    }
    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        self.inner.connection_lost(transport, reason);
    }
    fn read_connection_lost(&mut self, transport: &Transport) {
        self.inner.read_connection_lost(transport);
    }
}

fn session(server: &TlsServerConfig, client: &TlsClientConfig, size: usize) -> usize {
    let (echo, server_seen) = Recorder::echo();
    let (mut hello, client_seen) = Recorder::new(&b"0123456789abcdef".repeat(64));
    hello.close_after = Some(1024);
    let seen = std::rc::Rc::default();
    let mut pair = connect_pair(
        Chunked {
            inner: TlsProtocol::server(server, echo),
            size,
            seen: std::rc::Rc::clone(&seen),
        },
        TlsProtocol::client(client, "localhost", hello).unwrap(),
    );
    pair.pump();
    assert_eq!(server_seen.borrow().data.len(), 1024, "chunk size {size}");
    assert_eq!(
        client_seen.borrow().data,
        server_seen.borrow().data,
        "chunk size {size}"
    );
    assert!(
        lost(&server_seen).is::<ConnectionDone>(),
        "chunk size {size}: {}",
        lost(&server_seen)
    );
    assert!(lost(&client_seen).is::<ConnectionDone>(), "chunk size {size}");
    seen.get()
}

#[test]
fn server_survives_every_chunk_size() {
    let ca = Ca::new("chunk CA");
    let (server, _) = support::localhost_server(&ca);
    let client = trusting(&ca);
    let total = session(&server, &client, usize::MAX);
    assert!(total > 1024, "the whole session is {total} bytes");
    for size in chunk_sizes(total) {
        session(&server, &client, size);
    }
}
