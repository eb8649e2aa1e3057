//! The practical limit for a user-space event loop: a bare mio echo loop.
//! Read and write interest registered once (edge-triggered), one read
//! buffer shared by all connections, a short read ends the drain (the next
//! arrival raises a new edge), and output is kept per connection only when
//! the kernel did not take all of it.

use std::io::{ErrorKind, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);

struct Connection {
    stream: TcpStream,
    pending: Vec<u8>,
}

fn main() -> std::io::Result<()> {
    let args = gyre_bench_peers::args();
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(args.listen)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    gyre_bench_peers::announce(listener.local_addr()?);
    let mut connections: Vec<Option<Connection>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    loop {
        poll.poll(&mut events, None)?;
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let _ = stream.set_nodelay(true);
                            let index = free.pop().unwrap_or_else(|| {
                                connections.push(None);
                                connections.len() - 1
                            });
                            poll.registry().register(
                                &mut stream,
                                Token(index),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            connections[index] = Some(Connection {
                                stream,
                                pending: Vec::new(),
                            });
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
                continue;
            }
            let index = event.token().0;
            let Some(connection) = connections.get_mut(index).and_then(Option::as_mut) else {
                continue;
            };
            let mut open = true;
            if event.is_writable() && !connection.pending.is_empty() {
                open = flush(connection);
            }
            if open && (event.is_readable() || event.is_read_closed()) {
                open = echo(connection, &mut buffer);
            }
            if !open {
                let mut closed = connections[index].take().unwrap();
                let _ = poll.registry().deregister(&mut closed.stream);
                free.push(index);
            }
        }
    }
}

/// Reads until a short read or WouldBlock, writing each chunk straight
/// back; false when the connection is finished.
fn echo(connection: &mut Connection, buffer: &mut [u8]) -> bool {
    loop {
        match connection.stream.read(buffer) {
            Ok(0) => return false,
            Ok(n) => {
                if connection.pending.is_empty() {
                    match connection.stream.write(&buffer[..n]) {
                        Ok(written) => connection.pending.extend_from_slice(&buffer[written..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            connection.pending.extend_from_slice(&buffer[..n])
                        }
                        Err(_) => return false,
                    }
                } else {
                    connection.pending.extend_from_slice(&buffer[..n]);
                }
                if n < buffer.len() {
                    return true;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

/// Writes what the kernel refused before; false when the connection broke.
fn flush(connection: &mut Connection) -> bool {
    while !connection.pending.is_empty() {
        match connection.stream.write(&connection.pending) {
            Ok(n) => {
                connection.pending.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    connection.pending = Vec::new();
    true
}
