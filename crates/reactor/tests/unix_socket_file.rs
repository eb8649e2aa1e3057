//! The socket file of a path-bound Unix port: its mode, stale files left by
//! a dead server, live servers, removal when the port stops, and the lock
//! file.

mod tcp_support;
mod unix_support;

use std::cell::RefCell;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::address::UnixAddress;
use gyre_core::connector::ListeningPort;
use gyre_core::errors::CannotListen;
use gyre_core::interfaces::ReactorUnix;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use gyre_reactor::unix::UnixListenOptions;

use tcp_support::{Echo, Log, LoggingClient, Scripted, run_until};
use unix_support::ScratchDir;

const LIMIT: Duration = Duration::from_secs(10);

fn echo_factory() -> SharedFactory {
    protocol_factory(|_: &Address| Echo).into()
}

/// An echo port on `path` with the defaults (no mode, no lock file).
fn serve(reactor: &Reactor, path: &Path) -> Result<ListeningPort, Failure> {
    reactor.listen_unix(UnixAddress::Path(path.to_path_buf()), echo_factory(), 50, None)
}

/// The OS error behind a `CannotListen`.
fn cannot_listen_kind(failure: &Failure) -> io::ErrorKind {
    failure
        .downcast_ref::<CannotListen>()
        .expect("a CannotListen failure")
        .source
        .kind()
}

/// Connects with gyre to `path`, sends a ping and returns what came back.
fn ping(reactor: &Reactor, path: &Path) -> Vec<u8> {
    let log = Log::new();
    let received = Rc::new(RefCell::new(Vec::new()));
    let buffer = received.clone();
    let client = LoggingClient::new("client", &log, move || {
        Scripted::new("client", &Log::new())
            .into_buffer(&buffer)
            .on_made(|transport| transport.write(b"ping"))
            .on_data(|transport, _| transport.lose_connection())
    });
    reactor.connect_unix(UnixAddress::Path(path.to_path_buf()), client.into(), LIMIT);
    let done = log.clone();
    run_until(reactor, LIMIT, &log, move || {
        done.count_prefix("client connector lost") == 1
    });
    received.take()
}

#[test]
fn the_mode_is_applied_to_the_socket_file() {
    let dir = ScratchDir::new("unix-mode");
    let reactor = Reactor::new().unwrap();
    for (name, mode) in [("a.sock", 0o600), ("b.sock", 0o640), ("c.sock", 0o666)] {
        let path = dir.join(name);
        let _port = reactor
            .listen_unix(UnixAddress::Path(path.clone()), echo_factory(), 50, Some(mode))
            .unwrap();
        let metadata = std::fs::metadata(&path).unwrap();
        assert!(metadata.file_type().is_socket());
        assert_eq!(metadata.permissions().mode() & 0o777, mode, "{name}");
    }
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = ScratchDir::new("unix-stale");
    let path = dir.join("stale.sock");
    // A server that died without cleaning up: the file stays, nobody listens.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let reactor = Reactor::new().unwrap();
    let _port = serve(&reactor, &path).unwrap();
    assert_eq!(ping(&reactor, &path), b"ping");
}

#[test]
fn a_live_server_is_not_displaced() {
    let dir = ScratchDir::new("unix-live");
    let path = dir.join("live.sock");
    let live = UnixListener::bind(&path).unwrap();
    let reactor = Reactor::new().unwrap();
    let failure = serve(&reactor, &path).unwrap_err();
    assert_eq!(cannot_listen_kind(&failure), io::ErrorKind::AddrInUse);
    // The live server still has its file and its clients.
    let client = UnixStream::connect(&path).unwrap();
    let (_accepted, _) = live.accept().unwrap();
    drop(client);
}

#[test]
fn a_path_that_is_not_a_socket_is_left_alone() {
    let dir = ScratchDir::new("unix-file");
    let path = dir.join("data.txt");
    std::fs::write(&path, b"precious").unwrap();
    let reactor = Reactor::new().unwrap();
    let failure = serve(&reactor, &path).unwrap_err();
    assert_eq!(cannot_listen_kind(&failure), io::ErrorKind::AddrInUse);
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

#[test]
fn the_socket_file_goes_when_the_port_stops() {
    let dir = ScratchDir::new("unix-stop");
    let path = dir.join("stop.sock");
    let reactor = Reactor::new().unwrap();
    let port = serve(&reactor, &path).unwrap();
    assert!(path.exists());
    drop(port.stop_listening());
    assert!(!path.exists());
    // Stopping again is harmless.
    drop(port.stop_listening());
}

#[test]
fn a_socket_file_replaced_by_someone_else_is_not_removed() {
    let dir = ScratchDir::new("unix-replaced");
    let path = dir.join("taken.sock");
    let reactor = Reactor::new().unwrap();
    let port = serve(&reactor, &path).unwrap();
    // Another server removes our file and binds its own at the same path.
    std::fs::remove_file(&path).unwrap();
    let newcomer = UnixListener::bind(&path).unwrap();
    drop(port.stop_listening());
    assert!(path.exists(), "the newcomer's socket file must survive");
    let _client = UnixStream::connect(&path).unwrap();
    newcomer.accept().unwrap();
}

#[test]
fn the_reactor_stopping_removes_the_socket_file() {
    let dir = ScratchDir::new("unix-shutdown");
    let path = dir.join("shutdown.sock");
    let reactor = Reactor::new().unwrap();
    let _port = serve(&reactor, &path).unwrap();
    run_until(&reactor, LIMIT, &Log::new(), || true);
    assert!(!path.exists());
}

#[test]
fn the_lock_file_keeps_a_second_server_out() {
    let dir = ScratchDir::new("unix-lock");
    let path = dir.join("locked.sock");
    let lock = dir.join("locked.sock.lock");
    // A stale socket file from a crash: the lock holder may take it over.
    drop(UnixListener::bind(&path).unwrap());
    let reactor = Reactor::new().unwrap();
    let options = UnixListenOptions::default().lockfile(true).mode(0o600);
    let port = reactor
        .listen_unix_with(UnixAddress::Path(path.clone()), echo_factory(), options.clone())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        std::process::id().to_string()
    );
    let failure = reactor
        .listen_unix_with(UnixAddress::Path(path.clone()), echo_factory(), options.clone())
        .unwrap_err();
    assert_eq!(cannot_listen_kind(&failure), io::ErrorKind::AddrInUse);
    assert_eq!(ping(&reactor, &path), b"ping", "the first server still serves");
    drop(port.stop_listening());
    assert!(!path.exists() && !lock.exists());
    let again = reactor
        .listen_unix_with(UnixAddress::Path(path.clone()), echo_factory(), options)
        .unwrap();
    assert!(lock.exists());
    drop(again.stop_listening());
}

#[test]
fn an_unnamed_address_cannot_listen() {
    let reactor = Reactor::new().unwrap();
    let failure = reactor
        .listen_unix(UnixAddress::Unnamed, echo_factory(), 50, None)
        .unwrap_err();
    assert_eq!(cannot_listen_kind(&failure), io::ErrorKind::InvalidInput);
}
