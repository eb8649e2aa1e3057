//! Shared by the TLS tests: certificates made with rcgen at test time, and
//! small protocols that record what they saw.

#![allow(dead_code)]

pub mod programs;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use gyre_core::{Failure, Protocol, Transport};
use gyre_tls::{PrivateKeyDer, TlsClientConfig, TlsServerConfig};

pub use gyre_testing::certs::{Issued, TestCa as Ca};

/// The private key of `issued`, parsed.
pub fn key_of(issued: &Issued) -> PrivateKeyDer<'static> {
    gyre_tls::pem::parse_private_key(issued.key_pem.as_bytes()).unwrap()
}

/// A server config with one certificate for localhost (and its IPs).
pub fn localhost_server(ca: &Ca) -> (TlsServerConfig, Issued) {
    let issued = ca.server(&["localhost", "127.0.0.1", "::1"]);
    let config = TlsServerConfig::builder()
        .certificate(issued.chain.clone(), key_of(&issued))
        .build()
        .unwrap();
    (config, issued)
}

/// A client trusting only `ca`.
pub fn trusting(ca: &Ca) -> TlsClientConfig {
    TlsClientConfig::builder()
        .ca_certificates(vec![ca.der()])
        .build()
        .unwrap()
}

/// What a protocol saw, shared with the test.
#[derive(Default)]
pub struct Seen {
    pub made: bool,
    pub data: Vec<u8>,
    pub lost: Option<Failure>,
    pub read_closed: bool,
    pub transport: Option<Transport>,
}

pub type SeenRef = Rc<RefCell<Seen>>;

/// Writes `greeting` on connection, records everything, echoes if asked,
/// and closes after `close_after` bytes when set.
pub struct Recorder {
    pub seen: SeenRef,
    pub greeting: Vec<u8>,
    pub echo: bool,
    pub close_after: Option<usize>,
}

impl Recorder {
    pub fn new(greeting: &[u8]) -> (Recorder, SeenRef) {
        let seen = SeenRef::default();
        let recorder = Recorder {
            seen: seen.clone(),
            greeting: greeting.to_vec(),
            echo: false,
            close_after: None,
        };
        (recorder, seen)
    }

    pub fn echo() -> (Recorder, SeenRef) {
        let (mut recorder, seen) = Recorder::new(b"");
        recorder.echo = true;
        (recorder, seen)
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, transport: &Transport) {
        let mut seen = self.seen.borrow_mut();
        seen.made = true;
        seen.transport = Some(transport.clone());
        if !self.greeting.is_empty() {
            transport.write(&self.greeting);
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        let total = {
            let mut seen = self.seen.borrow_mut();
            seen.data.extend_from_slice(data);
            seen.data.len()
        };
        if self.echo {
            transport.write(data);
        }
        if self.close_after.is_some_and(|n| total >= n) {
            transport.lose_connection();
        }
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.seen.borrow_mut().read_closed = true;
        transport.lose_connection();
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: Failure) {
        let mut seen = self.seen.borrow_mut();
        assert!(seen.lost.is_none(), "connection_lost twice");
        seen.lost = Some(reason);
    }
}

/// The reason a recorder was given, which must have been given.
pub fn lost(seen: &SeenRef) -> Failure {
    seen.borrow().lost.clone().expect("connection_lost was delivered")
}

/// A fresh directory for files of one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gyre-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
