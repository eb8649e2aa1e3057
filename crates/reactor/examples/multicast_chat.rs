//! A chat over IP multicast: every line typed is sent to a multicast group,
//! and every message sent to the group is printed. There is no server; run
//! it several times (on one host or several) with the same group.
//!
//! ```text
//! cargo run -p gyre-reactor --example multicast_chat -- \
//!     --group 239.255.42.99:4242 --interface 192.0.2.7 --name alice
//! cargo run -p gyre-reactor --example multicast_chat -- \
//!     --group [ff12::4242]:4242 --interface fd00::7 --name bob
//! ```
//!
//! Arguments:
//! - `--group ADDR:PORT`: the multicast group and port (required). IPv4
//!   groups are 224.0.0.0/4 (use 239.0.0.0/8 for private use), IPv6 groups
//!   ff00::/8.
//! - `--interface IP`: the address of the interface to join on and send
//!   from (default: the unspecified address, the kernel's choice).
//! - `--listen ADDR`: the local address to bind (default: the unspecified
//!   address of the group's family, with the group's port). Several chats
//!   on one host share the port (`SO_REUSEADDR`), and each gets every message.
//! - `--name NAME`: shown before your messages (default `anonymous`).
//! - `--ttl N`: how many routers a message may cross (default 1: the local
//!   network only).
//! - `--no-loopback`: do not deliver your messages to chats on this host.
//!
//! The first line on standard output is `joined GROUP on INTERFACE as NAME`,
//! once the group is joined. Each message arrives as `NAME: text`; your own
//! (looped back) messages are not shown. End of input leaves the group and
//! exits. Try it with a Python peer:
//!
//! ```text
//! python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
//!             s.sendto(b"py: hi", ("239.255.42.99", 4242))'
//! ```
//!
//! Multicast needs an interface with the MULTICAST flag and a route for
//! the group; a loopback interface usually has neither (`ip link set lo
//! multicast on` and `ip route add 224.0.0.0/4 dev lo` add them).

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::rc::Rc;

use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use gyre_reactor::datagram::UdpOptions;

mod support;

/// The longest line accepted from standard input (a message must fit one datagram).
const MAX_LINE: usize = 8 * 1024;

/// Prints the messages that arrive from the group on standard output.
struct Listener {
    name: String,
    stdout: Rc<RefCell<Option<Transport>>>,
}

impl DatagramProtocol for Listener {
    fn datagram_received(&mut self, _transport: &DatagramTransport, data: &[u8], _from: &Address) {
        if data
            .strip_prefix(self.name.as_bytes())
            .is_some_and(|rest| rest.starts_with(b": "))
        {
            return; // our own message, looped back
        }
        if let Some(stdout) = self.stdout.borrow().as_ref() {
            stdout.write(data);
            stdout.write(b"\n");
        }
    }
}

/// Sends each line of standard input to the group.
struct Input {
    reactor: Reactor,
    chat: DatagramTransport,
    group: Address,
    membership: (IpAddr, IpAddr),
    name: String,
    partial: Vec<u8>,
}

impl Protocol for Input {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.partial.extend_from_slice(data);
        while let Some(end) = self.partial.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..end]);
            let message = format!("{}: {}", self.name, text.trim_end_matches('\r'));
            if let Err(failure) = self.chat.write_to(message.as_bytes(), &self.group) {
                transport.write(format!("(not sent: {failure})\n").as_bytes());
            }
        }
        if self.partial.len() > MAX_LINE {
            transport.write(b"(line too long, dropped)\n");
            self.partial.clear();
        }
    }

    /// End of input: leave the group and exit once stdout is flushed.
    fn read_connection_lost(&mut self, transport: &Transport) {
        let (group, interface) = self.membership;
        let _ = self.chat.leave_group(group, interface);
        drop(self.chat.stop_listening());
        transport.lose_connection();
    }

    fn connection_lost(&mut self, _transport: &Transport, _reason: Failure) {
        let _ = self.reactor.stop();
    }
}

struct Options {
    group: SocketAddr,
    interface: Option<IpAddr>,
    listen: Option<SocketAddr>,
    name: String,
    ttl: u32,
    loopback: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut group = None;
    let mut options = Options {
        group: SocketAddr::from(([0, 0, 0, 0], 0)),
        interface: None,
        listen: None,
        name: "anonymous".into(),
        ttl: 1,
        loopback: true,
    };
    let mut args = support::Args::new();
    while let Some(arg) = args.next_flag()? {
        match arg.as_str() {
            "--group" => group = Some(args.parsed("--group")?),
            "--interface" => options.interface = Some(args.parsed("--interface")?),
            "--listen" => options.listen = Some(args.parsed("--listen")?),
            "--name" => options.name = args.value("--name")?,
            "--ttl" => options.ttl = args.parsed("--ttl")?,
            "--no-loopback" => options.loopback = false,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    options.group = group.ok_or("--group is required")?;
    if !options.group.ip().is_multicast() {
        return Err(format!("{} is not a multicast address", options.group.ip()));
    }
    Ok(options)
}

fn chat(reactor: &Reactor, options: Options) -> Result<(), Failure> {
    let unspecified: IpAddr = match options.group {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let interface = options.interface.unwrap_or(unspecified);
    let listen = options
        .listen
        .unwrap_or(SocketAddr::new(unspecified, options.group.port()));
    let stdout = Rc::new(RefCell::new(None));
    let listener = Listener {
        name: options.name.clone(),
        stdout: stdout.clone(),
    };
    let udp = UdpOptions::default().reuse_address(true);
    let chat = reactor.listen_udp_with(listen, Box::new(listener), udp)?;
    chat.join_group(options.group.ip(), interface)?;
    if !interface.is_unspecified() {
        chat.set_multicast_interface(interface)?;
    }
    chat.set_multicast_ttl(options.ttl)?;
    chat.set_multicast_loopback(options.loopback)?;
    let input = Input {
        reactor: reactor.clone(),
        chat,
        group: Address::udp(options.group),
        membership: (options.group.ip(), interface),
        name: options.name.clone(),
        partial: Vec::new(),
    };
    let terminal = reactor.standard_io(Box::new(input))?;
    terminal.write(format!("joined {} on {interface} as {}\n", options.group, options.name).as_bytes());
    *stdout.borrow_mut() = Some(terminal);
    reactor.run().map_err(Failure::new)
}

fn main() -> ExitCode {
    let options = match support::or_usage(
        "multicast_chat",
        "multicast_chat --group ADDR:PORT [--interface IP] [--listen ADDR] [--name NAME] \
                 [--ttl N] [--no-loopback]",
        parse_args(),
    ) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let reactor = Reactor::new().expect("creating the reactor");
    match chat(&reactor, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("multicast_chat: {failure}");
            ExitCode::FAILURE
        }
    }
}
