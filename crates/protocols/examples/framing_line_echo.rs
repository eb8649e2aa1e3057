//! A line-based echo and chat server built on `LineReceiver`, listening on
//! any server endpoint description:
//!
//! ```text
//! cargo run -p gyre-protocols --example framing_line_echo                      # tcp:0, a free port
//! cargo run -p gyre-protocols --example framing_line_echo -- --listen tcp:7000:interface=127.0.0.1
//! cargo run -p gyre-protocols --example framing_line_echo -- --listen unix:/tmp/chat.sock
//! ```
//!
//! It prints `listening on ADDRESS` (the port it got, for `tcp:0`). Try it
//! with netcat, in two terminals to chat:
//!
//! ```text
//! $ nc 127.0.0.1 PORT              (or: nc -U /tmp/chat.sock)
//! * welcome, you are 127.0.0.1:50312; /nick NAME, /who, /quit
//! hello
//! echo: hello                      (you see your line echoed; everyone else sees "<127.0.0.1:50312> hello")
//! /nick alice
//! * you are now alice
//! /quit
//! * bye
//! ```
//!
//! Lines end with `\n` (a `\r` before it is dropped, so telnet works too) and
//! may be up to 1,024 bytes: a longer one gets an error and the connection
//! is closed. Ctrl-C stops the server.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::{Address, Failure, SharedFactory, Transport, protocol_factory};
use gyre_endpoints::EndpointRegistry;
use gyre_endpoints::listen_and_run;
use gyre_protocols::framing::{LineContext, LineDecoder, LineHandler, LineReceiver, LineTooLong};
use gyre_reactor::Reactor;

/// The longest line a client may send.
const MAX_LINE: usize = 1024;

/// Everyone connected: each client's transport and name.
#[derive(Default)]
struct Room {
    members: Vec<(Transport, String)>,
}

impl Room {
    /// Sends `line` to every member but `from`.
    fn relay(&self, from: &Transport, line: &[u8]) {
        for (member, _) in &self.members {
            if !member.ptr_eq(from) {
                member.write_all([line, b"\n"]);
            }
        }
    }

    fn name_of(&self, transport: &Transport) -> String {
        let member = self.members.iter().find(|(member, _)| member.ptr_eq(transport));
        member.map_or_else(|| transport.peer().to_string(), |(_, name)| name.clone())
    }
}

/// One client's connection.
struct Chat {
    room: Rc<RefCell<Room>>,
}

impl LineHandler for Chat {
    fn connection_made(&mut self, cx: &mut LineContext<'_>) {
        let name = match cx.transport().peer().socket_addr() {
            Some(addr) => addr.to_string(),
            None => "someone".to_owned(),
        };
        let welcome = format!("* welcome, you are {name}; /nick NAME, /who, /quit");
        cx.send_line(welcome.as_bytes());
        let mut room = self.room.borrow_mut();
        room.relay(cx.transport(), format!("* {name} joined").as_bytes());
        room.members.push((cx.transport().clone(), name));
    }

    fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let me = cx.transport().clone();
        let mut room = self.room.borrow_mut();
        match line {
            b"/quit" => {
                cx.send_line(b"* bye");
                cx.lose_connection();
            }
            b"/who" => {
                let names: Vec<String> = room.members.iter().map(|(_, name)| name.clone()).collect();
                cx.send_line(format!("* here: {}", names.join(", ")).as_bytes());
            }
            _ if line.starts_with(b"/nick ") => {
                let new = String::from_utf8_lossy(&line[6..]).trim().to_owned();
                let old = room.name_of(&me);
                if let Some(entry) = room.members.iter_mut().find(|(member, _)| member.ptr_eq(&me)) {
                    entry.1 = new.clone();
                }
                cx.send_line(format!("* you are now {new}").as_bytes());
                room.relay(&me, format!("* {old} is now {new}").as_bytes());
            }
            _ => {
                cx.write(b"echo: ");
                cx.send_line(line);
                let mut said = format!("<{}> ", room.name_of(&me)).into_bytes();
                said.extend_from_slice(line);
                room.relay(&me, &said);
            }
        }
    }

    fn line_length_exceeded(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        cx.send_line(format!("* error: line too long (the limit is {MAX_LINE} bytes)").as_bytes());
        cx.close_with(LineTooLong::new(MAX_LINE, line.len()));
    }

    fn connection_lost(&mut self, transport: &Transport, reason: Failure) {
        let mut room = self.room.borrow_mut();
        let name = room.name_of(transport);
        room.members.retain(|(member, _)| !member.ptr_eq(transport));
        room.relay(transport, format!("* {name} left").as_bytes());
        eprintln!("{name} left: {reason}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let description = match args.as_slice() {
        [] => "tcp:0".to_owned(),
        [flag, description] if flag == "--listen" => description.clone(),
        _ => return Err("usage: framing_line_echo [--listen <server endpoint description>]".into()),
    };
    let reactor = Reactor::new()?;
    let endpoint = EndpointRegistry::default()
        .server_from_string(&reactor, &description)
        .map_err(|error| error.to_string())?;
    let room = Rc::new(RefCell::new(Room::default()));
    let factory = SharedFactory::new(protocol_factory(move |_| {
        let decoder = LineDecoder::new().with_delimiter(b"\n").with_max_length(MAX_LINE);
        LineReceiver::with_decoder(decoder, Chat { room: room.clone() })
    }));
    let announce = |address: &Address| println!("listening on {address}");
    listen_and_run(&reactor, &*endpoint, factory, announce).map_err(|f| f.to_string())?;
    Ok(())
}
