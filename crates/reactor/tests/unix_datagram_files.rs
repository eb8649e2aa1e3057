//! The socket file of a Unix datagram socket: it never has more
//! permissions than the requested mode, not even right after `bind`
//! (datagram sockets have no `listen` to hold senders off until the mode is
//! set); and the address peers see is the path asked for.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gyre_core::address::{Address, UnixAddress};
use gyre_core::datagram::{DatagramProtocol, DatagramTransport};
use gyre_reactor::Reactor;
use gyre_reactor::datagram::UnixDatagramOptions;

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("gyre-udf-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Ignore;

impl DatagramProtocol for Ignore {
    fn datagram_received(&mut self, _transport: &DatagramTransport, _data: &[u8], _from: &Address) {}
}

#[test]
fn the_socket_file_never_has_more_than_the_requested_mode() {
    let dir = TempDir::new("mode");
    let path = dir.0.join("server.sock");
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    // Watches the path while the socket is bound and closed again and
    // again, and reports the first permissions wider than 0o600.
    let watcher = {
        let (path, stop, seen) = (path.clone(), stop.clone(), seen.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(metadata) = std::fs::symlink_metadata(&path) {
                    seen.fetch_add(1, Ordering::Relaxed);
                    let mode = metadata.permissions().mode() & 0o7777;
                    if mode & !0o600 != 0 {
                        return Some(mode);
                    }
                }
            }
            None
        })
    };
    let reactor = Reactor::new().unwrap();
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(2) && !watcher.is_finished() {
        let port = reactor
            .listen_unix_datagram_with(
                UnixAddress::Path(path.clone()),
                Box::new(Ignore),
                UnixDatagramOptions::default().mode(0o600),
            )
            .unwrap();
        drop(port.stop_listening());
        assert!(!path.exists(), "the file goes when the socket closes");
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let wider = watcher.join().unwrap();
    if let Some(mode) = wider {
        panic!("the socket file had mode {mode:o} before it got 600 (after {rounds} rounds)");
    }
    assert!(
        seen.load(Ordering::Relaxed) > 0,
        "the watcher saw the file at least once"
    );
}

#[test]
fn a_socket_file_with_a_mode_is_reached_at_the_path_asked_for() {
    let dir = TempDir::new("address");
    let path = dir.0.join("server.sock");
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_unix_datagram_with(
            UnixAddress::Path(path.clone()),
            Box::new(Ignore),
            UnixDatagramOptions::default().mode(0o660),
        )
        .unwrap();
    assert_eq!(port.host(), Address::Unix(UnixAddress::Path(path.clone())));
    let mode = std::fs::symlink_metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o660, "exactly the mode asked for, whatever the umask");
    // A peer answering the sender must reach it at the path it asked for.
    let client_path = dir.0.join("client.sock");
    let client = reactor
        .listen_unix_datagram_with(
            UnixAddress::Path(client_path.clone()),
            Box::new(Ignore),
            UnixDatagramOptions::default().mode(0o600),
        )
        .unwrap();
    let peer = UnixDatagram::bind(dir.0.join("peer.sock")).unwrap();
    client
        .write_to(
            b"hello",
            &Address::Unix(UnixAddress::Path(dir.0.join("peer.sock"))),
        )
        .unwrap();
    let mut buffer = [0; 16];
    let (len, from) = peer.recv_from(&mut buffer).unwrap();
    assert_eq!(&buffer[..len], b"hello");
    assert_eq!(from.as_pathname(), Some(client_path.as_path()));
    drop(port.stop_listening());
    drop(client.stop_listening());
}
