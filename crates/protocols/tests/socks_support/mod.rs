//! Shared by the SOCKS and port-forwarding tests: a SOCKS server on the
//! memory reactor, message builders, and (in `programs`) the real peers.
#![allow(dead_code)] // each test file uses a different part

pub mod programs;

use std::net::SocketAddr;
use std::rc::Rc;

use gyre_core::interfaces::ReactorTcp;
use gyre_core::{Address, SharedFactory};
use gyre_endpoints::StaticResolver;
use gyre_protocols::socks::SocksServerFactory;
use gyre_protocols::socks::wire::{Command, TargetAddr, v5};
use gyre_testing::{MemoryConnection, MemoryReactor};

/// The address the memory server listens on.
pub const SERVER: &str = "127.0.0.1:1080";
/// The address test clients connect from.
pub const CLIENT: &str = "127.0.0.1:40001";

pub fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// The names the memory server's resolver knows.
pub fn resolver() -> StaticResolver {
    StaticResolver::new()
        .with("db.internal", &["10.0.0.5".parse().unwrap()])
        .with("v6.internal", &["2001:db8::5".parse().unwrap()])
}

/// A SOCKS server listening on [`SERVER`] on a memory reactor, set up by `edit`.
pub fn server(
    edit: impl FnOnce(SocksServerFactory<MemoryReactor>) -> SocksServerFactory<MemoryReactor>,
) -> MemoryReactor {
    let reactor = MemoryReactor::new();
    let factory = edit(SocksServerFactory::new(reactor.clone(), Rc::new(resolver())));
    reactor
        .listen_tcp(addr(SERVER), SharedFactory::new(factory), 50)
        .unwrap();
    reactor
}

/// A client connection from [`CLIENT`].
pub fn connect(reactor: &MemoryReactor) -> MemoryConnection {
    connect_from(reactor, CLIENT)
}

pub fn connect_from(reactor: &MemoryReactor, from: &str) -> MemoryConnection {
    reactor.tcp_servers()[0]
        .port
        .accept(Address::tcp(addr(from)))
        .expect("the factory builds a protocol")
}

/// A SOCKS5 request.
pub fn request5(command: Command, target: &TargetAddr) -> Vec<u8> {
    let mut bytes = Vec::new();
    v5::encode_request(command, target, &mut bytes);
    bytes
}

pub fn ip(text: &str) -> TargetAddr {
    TargetAddr::Ip(addr(text))
}

pub fn name(host: &str, port: u16) -> TargetAddr {
    TargetAddr::domain(host, port).unwrap()
}

/// A SOCKS5 reply as sent by the server.
pub fn reply5(code: u8, bound: SocketAddr) -> Vec<u8> {
    let mut bytes = Vec::new();
    let reply = v5::Reply {
        code: gyre_protocols::socks::wire::ReplyCode::from_u8(code),
        bound: TargetAddr::Ip(bound),
    };
    v5::encode_reply(&reply, &mut bytes);
    bytes
}

/// A SOCKS5 refusal (bound address 0.0.0.0:0).
pub fn refusal5(code: u8) -> Vec<u8> {
    reply5(code, addr("0.0.0.0:0"))
}

/// The SOCKS4 refusal.
pub const REFUSAL4: [u8; 8] = [0, 91, 0, 0, 0, 0, 0, 0];
