//! Shared by the TLS tests: certificates made with rcgen at test time, and
//! small protocols that record what they saw.

#![allow(dead_code)]

pub mod programs;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use gyre_core::{Failure, Protocol, Transport};
use gyre_tls::{CertificateDer, PrivateKeyDer, TlsClientConfig, TlsServerConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};

/// A certificate authority made for one test.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate chain (leaf, then the CA) and its key.
#[derive(Clone)]
pub struct Issued {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_pem: String,
    pub chain_pem: String,
}

impl Issued {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        gyre_tls::pem::parse_private_key(self.key_pem.as_bytes()).unwrap()
    }

    pub fn leaf(&self) -> Vec<u8> {
        self.chain[0].to_vec()
    }

    /// Writes `STEM.pem` (chain) and `STEM.key` under `dir`.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let chain = dir.join(format!("{stem}.pem"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&chain, &self.chain_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (chain, key)
    }
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names` (host names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Issued {
        self.issue(names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate with common name `name`.
    pub fn client(&self, name: &str) -> Issued {
        self.issue(&[name], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            chain: vec![cert.der().clone(), self.der()],
            key_pem: key.serialize_pem(),
            chain_pem: format!("{}{}", cert.pem(), self.pem()),
        }
    }
}

/// A server config with one certificate for localhost (and its IPs).
pub fn localhost_server(ca: &Ca) -> (TlsServerConfig, Issued) {
    let issued = ca.server(&["localhost", "127.0.0.1", "::1"]);
    let config = TlsServerConfig::builder()
        .certificate(issued.chain.clone(), issued.key())
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
