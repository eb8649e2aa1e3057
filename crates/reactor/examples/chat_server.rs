//! A line-based chat server: every line a client sends goes to every other
//! connected client.
//!
//! ```text
//! cargo run -p gyre-reactor --example chat_server -- --listen 127.0.0.1:8001
//! ```
//!
//! Arguments:
//! - `--listen ADDR`: the address to listen on (default `127.0.0.1:8001`);
//!   port 0 picks a free port. IPv6 works too: `--listen [::1]:8001`.
//!
//! The first line on standard output is `listening on ADDR`, with the port
//! actually bound. Connect two terminals with `nc 127.0.0.1 8001` (or
//! `socat - TCP:127.0.0.1:8001`) and type: each complete line (ending in
//! `\n`) is sent unchanged to the others, never back to its sender. Joins
//! and departures are logged on standard error.
//!
//! It shows the pattern of keeping other connections' transports: the room
//! holds a clone of each client's `Transport` and writes to them from
//! another client's `data_received`. A transport whose connection ended in
//! the same turn is closed and drops the write; nothing panics.
//!
//! Peer input never grows memory without bound: a line longer than
//! `MAX_LINE` ends its sender's connection, and a client that does not read
//! while others talk is cut off once `MAX_BACKLOG` bytes wait for it.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;

use gyre_core::prelude::*;
use gyre_reactor::{ListenOptions, Reactor};

mod support;

/// The longest line accepted, terminator included.
const MAX_LINE: usize = 16 * 1024;
/// Bytes allowed to wait in a client's write buffer before it is dropped.
const MAX_BACKLOG: usize = 1024 * 1024;

/// Everyone connected, by id.
#[derive(Default)]
struct Room {
    members: Vec<(u64, Transport)>,
}

impl Room {
    /// Sends `line` to every member but `from`, cutting off members that
    /// stopped reading.
    fn broadcast(&self, from: u64, line: &[u8]) {
        for (id, transport) in &self.members {
            if *id == from || transport.is_closed() {
                continue;
            }
            transport.write(line);
            if transport.buffered_len() > MAX_BACKLOG {
                eprintln!("client {id} stopped reading; disconnecting it");
                transport.abort_connection();
            }
        }
    }
}

/// One client: splits its input into lines and hands them to the room.
struct Chatter {
    id: u64,
    room: Rc<RefCell<Room>>,
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
}

impl Protocol for Chatter {
    fn connection_made(&mut self, transport: &Transport) {
        eprintln!("client {} joined from {}", self.id, transport.peer());
        self.room.borrow_mut().members.push((self.id, transport.clone()));
    }

    fn data_received(&mut self, transport: &Transport, mut data: &[u8]) {
        while let Some(end) = data.iter().position(|&b| b == b'\n') {
            let (line, rest) = data.split_at(end + 1);
            data = rest;
            if self.partial.is_empty() {
                self.room.borrow().broadcast(self.id, line);
            } else {
                self.partial.extend_from_slice(line);
                let whole = std::mem::take(&mut self.partial);
                self.room.borrow().broadcast(self.id, &whole);
            }
        }
        if self.partial.len() + data.len() > MAX_LINE {
            transport.write(b"line too long\n");
            transport.lose_connection();
            self.partial = Vec::new();
            return;
        }
        self.partial.extend_from_slice(data);
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        eprintln!("client {} left: {reason}", self.id);
        self.room.borrow_mut().members.retain(|(id, _)| *id != self.id);
    }
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 8001));
    let mut args = support::Args::new();
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "--listen" => listen = args.parsed("--listen")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(listen)
}

fn main() -> ExitCode {
    let listen = match support::or_usage("chat_server", "chat_server [--listen ADDR]", parse_args()) {
        Ok(listen) => listen,
        Err(code) => return code,
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let room = Rc::new(RefCell::new(Room::default()));
    let mut next_id = 0;
    let factory = protocol_factory(move |_peer| {
        next_id += 1;
        Chatter {
            id: next_id,
            room: room.clone(),
            partial: Vec::new(),
        }
    });
    // The port stays open while `_port` lives.
    let _port = match support::announce_tcp(
        "chat_server",
        reactor.listen_tcp_with(listen, factory, ListenOptions::default().backlog(1024)),
    ) {
        Ok(port) => port,
        Err(code) => return code,
    };
    support::exit_code("chat_server", reactor.run())
}
