//! Unix datagram sockets over real sockets: echo on a path and on an
//! abstract name, kernel-chosen names, connected mode and refusals, socket
//! files (stale, removed, mode), oversized datagrams, and socat as a peer.

mod udp_support;

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gyre_core::address::UnixAddress;
use gyre_core::errors::{CannotListen, ConnectionRefused, NotSupportedByTransport, TransportClosed};
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use gyre_reactor::datagram::{DatagramTooLarge, UnixDatagramOptions};
use udp_support::{
    ChildGuard, ChildGuardExt, Event, echo, new_log, payloads, recorder, require_program, run_bounded,
    stop_when,
};

const LIMIT: Duration = Duration::from_secs(10);

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("gyre-udg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn abstract_name(tag: &str) -> UnixAddress {
    UnixAddress::Abstract(format!("gyre-test-{}-{tag}", std::process::id()).into_bytes())
}

/// Runs an echo server on `server_address` and a client on `client_address`
/// that sends three datagrams; returns the client's replies and their senders.
fn echo_round_trip(server_address: UnixAddress, client_address: UnixAddress) -> (Vec<Event>, Address) {
    let reactor = Reactor::new().unwrap();
    let server_log = new_log();
    let server = reactor
        .listen_unix_datagram(server_address, echo(&server_log))
        .unwrap();
    let log = new_log();
    let client = reactor
        .listen_unix_datagram(client_address, recorder(&log, |_, _, _| {}))
        .unwrap();
    for n in 0..3 {
        client
            .write_to(format!("ping {n}").as_bytes(), &server.host())
            .unwrap();
    }
    let seen = log.clone();
    stop_when(&reactor, move || payloads(&seen).len() == 3);
    run_bounded(&reactor, LIMIT);
    let client_host = client.host();
    assert!(
        server_log
            .borrow()
            .iter()
            .any(|event| matches!(event, Event::Datagram(_, from) if *from == client_host)),
        "the server saw the client's address"
    );
    let events = log.borrow().clone();
    (events, server.host())
}

fn replies_from(events: &[Event], server: &Address) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Datagram(data, from) => {
                assert_eq!(from, server, "replies come from the server");
                Some(data.clone())
            }
            _ => None,
        })
        .collect()
}

fn pings() -> Vec<Vec<u8>> {
    (0..3).map(|n| format!("ping {n}").into_bytes()).collect()
}

#[test]
fn echo_over_socket_files() {
    let dir = TempDir::new();
    let server_path = dir.join("server.sock");
    let (events, server) = echo_round_trip(
        UnixAddress::Path(server_path.clone()),
        UnixAddress::Path(dir.join("client.sock")),
    );
    assert_eq!(server, Address::unix_path(&server_path));
    assert_eq!(replies_from(&events, &server), pings());
    assert!(
        !server_path.exists(),
        "the socket file is removed when the reactor stops"
    );
}

#[test]
fn echo_over_abstract_names_with_a_kernel_chosen_client_name() {
    let (events, server) = echo_round_trip(abstract_name("echo"), UnixAddress::Unnamed);
    assert_eq!(server, Address::Unix(abstract_name("echo")));
    assert_eq!(replies_from(&events, &server), pings());
    match &events[0] {
        Event::Started(Address::Unix(UnixAddress::Abstract(name))) => assert!(!name.is_empty()),
        other => panic!("an unnamed socket is autobound to an abstract name: {other:?}"),
    }
}

#[test]
fn a_connected_socket_writes_to_its_peer_and_strangers_cannot_send_to_it() {
    let dir = TempDir::new();
    let reactor = Reactor::new().unwrap();
    let server = reactor
        .listen_unix_datagram(abstract_name("connected"), echo(&new_log()))
        .unwrap();
    let log = new_log();
    let client = reactor
        .connect_unix_datagram(
            abstract_name("connected"),
            recorder(&log, |_, _, _| {}),
            UnixAddress::Unnamed,
        )
        .unwrap();
    assert_eq!(client.peer(), Some(server.host()));
    let unsupported = client.set_multicast_ttl(2).unwrap_err();
    assert!(unsupported.is::<NotSupportedByTransport>(), "{unsupported:?}");
    client.write(b"hello").unwrap();
    let stranger = UnixDatagram::bind(dir.join("stranger.sock")).unwrap();
    let UnixAddress::Abstract(_) = unix(&client.host()) else {
        panic!("autobound")
    };
    let refused = stranger
        .send_to_addr(b"spoofed", &std_address(&client.host()))
        .unwrap_err();
    assert_eq!(
        refused.kind(),
        io::ErrorKind::PermissionDenied,
        "the kernel keeps strangers out"
    );
    let seen = log.clone();
    stop_when(&reactor, move || payloads(&seen).len() == 1);
    run_bounded(&reactor, LIMIT);
    assert_eq!(payloads(&log), [b"hello".to_vec()]);
    assert!(format!("{client:?}").contains(r#"kind: "unix-datagram""#));
}

fn unix(address: &Address) -> UnixAddress {
    match address {
        Address::Unix(unix) => unix.clone(),
        other => panic!("not a Unix address: {other}"),
    }
}

fn std_address(address: &Address) -> std::os::unix::net::SocketAddr {
    use std::os::linux::net::SocketAddrExt;
    match unix(address) {
        UnixAddress::Abstract(name) => std::os::unix::net::SocketAddr::from_abstract_name(name).unwrap(),
        UnixAddress::Path(path) => std::os::unix::net::SocketAddr::from_pathname(path).unwrap(),
        UnixAddress::Unnamed => panic!("unnamed"),
    }
}

#[test]
fn connecting_to_nothing_is_refused() {
    let dir = TempDir::new();
    let reactor = Reactor::new().unwrap();
    for peer in [
        UnixAddress::Path(dir.join("missing.sock")),
        abstract_name("missing"),
    ] {
        let failure = reactor
            .connect_unix_datagram(
                peer.clone(),
                recorder(&new_log(), |_, _, _| {}),
                UnixAddress::Unnamed,
            )
            .unwrap_err();
        assert!(failure.is::<ConnectionRefused>(), "{peer}: {failure:?}");
    }
    let port = reactor
        .listen_unix_datagram(UnixAddress::Unnamed, echo(&new_log()))
        .unwrap();
    let failure = port
        .connect(&Address::Unix(abstract_name("missing")))
        .unwrap_err();
    assert!(failure.is::<ConnectionRefused>(), "{failure:?}");
    assert_eq!(port.peer(), None, "a failed connect fixes no peer");
    drop(port.stop_listening());
}

#[test]
fn a_connected_peer_that_went_away_is_reported_as_connection_refused() {
    let reactor = Reactor::new().unwrap();
    let server = reactor
        .listen_unix_datagram(abstract_name("gone"), echo(&new_log()))
        .unwrap();
    let log = new_log();
    let client = reactor
        .connect_unix_datagram(
            abstract_name("gone"),
            recorder(&log, |_, _, _| {}),
            UnixAddress::Unnamed,
        )
        .unwrap();
    drop(server.stop_listening());
    client.write(b"anyone there?").unwrap();
    assert!(
        !log.borrow().contains(&Event::Refused),
        "reported after the caller's turn, not inside write"
    );
    let seen = log.clone();
    stop_when(&reactor, move || seen.borrow().contains(&Event::Refused));
    run_bounded(&reactor, LIMIT);
}

#[test]
fn a_stale_socket_file_is_replaced_and_a_live_one_is_not() {
    let dir = TempDir::new();
    let path = dir.join("stale.sock");
    drop(UnixDatagram::bind(&path).unwrap());
    assert!(path.exists(), "a closed socket leaves its file behind");
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_unix_datagram(UnixAddress::Path(path.clone()), echo(&new_log()))
        .unwrap();
    let live = dir.join("live.sock");
    let _owner = UnixDatagram::bind(&live).unwrap();
    let failure = reactor
        .listen_unix_datagram(UnixAddress::Path(live.clone()), echo(&new_log()))
        .unwrap_err();
    assert!(failure.is::<CannotListen>(), "{failure:?}");
    assert!(live.exists(), "a live socket's file is left alone");
    drop(port.stop_listening());
    assert!(!path.exists(), "stop_listening removes the socket file");
}

#[test]
fn the_socket_file_gets_the_requested_mode() {
    let dir = TempDir::new();
    let path = dir.join("mode.sock");
    let reactor = Reactor::new().unwrap();
    let options = UnixDatagramOptions::default()
        .mode(0o600)
        .recv_buffer_size(1 << 16);
    let port = reactor
        .listen_unix_datagram_with(UnixAddress::Path(path.clone()), echo(&new_log()), options)
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    drop(port.stop_listening());
    assert!(
        port.write_to(b"x", &Address::unix_path(&path))
            .unwrap_err()
            .is::<TransportClosed>()
    );
}

#[test]
fn oversized_datagrams_are_refused_on_send_and_dropped_on_receive() {
    let dir = TempDir::new();
    let reactor = Reactor::new().unwrap();
    let log = new_log();
    let options = UnixDatagramOptions::default().recv_buffer_size(1 << 20);
    let receiver = reactor
        .listen_unix_datagram_with(
            UnixAddress::Path(dir.join("big.sock")),
            recorder(&log, |_, _, _| {}),
            options,
        )
        .unwrap();
    let sender = reactor
        .listen_unix_datagram(UnixAddress::Unnamed, recorder(&new_log(), |_, _, _| {}))
        .unwrap();
    let failure = sender.write_to(&vec![1; 4 << 20], &receiver.host()).unwrap_err();
    assert_eq!(
        failure
            .downcast_ref::<DatagramTooLarge>()
            .expect("DatagramTooLarge")
            .size,
        4 << 20
    );

    // Larger than the 64 KiB read buffer: dropped whole, never truncated.
    let big = UnixDatagram::unbound().unwrap();
    socket2::SockRef::from(&big)
        .set_send_buffer_size(1 << 20)
        .unwrap();
    big.send_to(&vec![2; 100_000], dir.join("big.sock")).unwrap();
    big.send_to(b"small", dir.join("big.sock")).unwrap();
    let seen = log.clone();
    stop_when(&reactor, move || !payloads(&seen).is_empty());
    run_bounded(&reactor, LIMIT);
    assert_eq!(payloads(&log), [b"small".to_vec()]);
}

#[test]
fn socat_talks_to_a_gyre_echo_socket() {
    require_program("socat", "socat");
    let dir = TempDir::new();
    let server_path = dir.join("gyre.sock");
    let reactor = Reactor::new().unwrap();
    let server_log = new_log();
    let _server = reactor
        .listen_unix_datagram(UnixAddress::Path(server_path.clone()), echo(&server_log))
        .unwrap();
    let client_path = dir.join("socat.sock");
    let mut socat = ChildGuard::spawn(
        Command::new("socat")
            .args(["-t", "1", "-"])
            .arg(format!(
                "UNIX-SENDTO:{},bind={}",
                server_path.display(),
                client_path.display()
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    {
        use std::io::Write;
        let mut stdin = socat.0.stdin.take().unwrap();
        stdin.write_all(b"hello from socat\n").unwrap();
    }
    let lines = socat.stdout_lines();
    let seen = server_log.clone();
    stop_when(&reactor, move || !payloads(&seen).is_empty());
    run_bounded(&reactor, LIMIT);
    assert_eq!(lines.next(LIMIT), "hello from socat");
    assert!(socat.wait_bounded(LIMIT).success());
    assert_eq!(
        server_log.borrow()[1],
        Event::Datagram(b"hello from socat\n".to_vec(), Address::unix_path(&client_path))
    );
}
