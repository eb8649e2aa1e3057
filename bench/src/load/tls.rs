//! TLS 1.3 workloads with a rustls client (ring provider, resumption off
//! so every handshake is a full one): handshakes per second, and bulk
//! transfer through a TLS echo server.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use super::proc::CpuMeter;
use super::{Report, connect_std, would_block};

/// A client configuration trusting one CA, for one server name.
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl TlsClient {
    /// Trusts the CA certificates in `ca_pem` and expects the server to
    /// present a certificate for `name`; TLS 1.3 only.
    pub fn new(ca_pem: &str, name: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca_pem)? {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.resumption = Resumption::disabled();
        Ok(TlsClient {
            config: Arc::new(config),
            name: ServerName::try_from(name.to_owned())?,
        })
    }

    fn connection(&self) -> std::io::Result<ClientConnection> {
        ClientConnection::new(self.config.clone(), self.name.clone()).map_err(std::io::Error::other)
    }
}

/// Full handshakes for `duration` from `threads` threads, each followed by
/// a one-byte echo so the server has finished its side too.
pub fn tls_handshakes(
    client: &TlsClient,
    addr: SocketAddr,
    threads: usize,
    duration: Duration,
    pid: Option<u32>,
) -> std::io::Result<Report> {
    let done = Arc::new(AtomicU64::new(0));
    let meter = CpuMeter::start(pid)?;
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (client, done) = (client.clone(), done.clone());
            std::thread::spawn(move || -> std::io::Result<()> {
                while Instant::now() < deadline {
                    handshake_once(&client, addr)?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| std::io::Error::other("handshake thread panicked"))??;
    }
    let mut report = Report::default();
    report.push("ops", done.load(Ordering::Relaxed) as f64);
    report.push("seconds", started.elapsed().as_secs_f64());
    if let Some(cpu) = meter.elapsed()? {
        report.push("server_cpu_s", cpu);
    }
    Ok(report)
}

fn handshake_once(client: &TlsClient, addr: SocketAddr) -> std::io::Result<()> {
    let socket = connect_std(addr)?;
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = rustls::StreamOwned::new(client.connection()?, socket);
    tls.write_all(b"h")?;
    let mut byte = [0u8; 1];
    tls.read_exact(&mut byte)?;
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    Ok(())
}

/// Streams `bytes` of plaintext through a TLS echo server on one
/// connection, writing and reading at once.
pub fn tls_bulk(
    client: &TlsClient,
    addr: SocketAddr,
    bytes: u64,
    pid: Option<u32>,
) -> std::io::Result<Report> {
    let mut poll = Poll::new()?;
    let mut stream = TcpStream::from_std(connect_std(addr)?);
    poll.registry()
        .register(&mut stream, Token(0), Interest::READABLE | Interest::WRITABLE)?;
    let mut tls = client.connection()?;
    let chunk = vec![b't'; 64 * 1024];
    let mut buffer = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(16);
    let meter = CpuMeter::start(pid)?;
    let started = Instant::now();
    let (mut sent, mut received) = (0u64, 0u64);
    while received < bytes {
        // Queue plaintext and push records until the socket refuses or
        // nothing moves; poll only when neither direction made progress
        // (edge-triggered: a refusal guarantees a later event).
        let mut progress = false;
        loop {
            let mut moved = false;
            if sent < bytes {
                let n = chunk.len().min((bytes - sent) as usize);
                let queued = tls.writer().write(&chunk[..n])?;
                sent += queued as u64;
                moved |= queued > 0;
            }
            let mut blocked = false;
            while tls.wants_write() {
                match tls.write_tls(&mut stream) {
                    Ok(_) => moved = true,
                    Err(e) if would_block(&e) => {
                        blocked = true;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            progress |= moved;
            if blocked || !moved {
                break;
            }
        }
        loop {
            match tls.read_tls(&mut stream) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(_) => {
                    progress = true;
                    tls.process_new_packets().map_err(std::io::Error::other)?;
                    loop {
                        match tls.reader().read(&mut buffer) {
                            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                            Ok(n) => received += n as u64,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
        }
        if received < bytes && !progress {
            poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        }
    }
    let mut report = Report::default();
    report.push("bytes", bytes as f64);
    report.push("seconds", started.elapsed().as_secs_f64());
    if let Some(cpu) = meter.elapsed()? {
        report.push("server_cpu_s", cpu);
    }
    Ok(report)
}
