//! The load generator behind `gyre-load`: echo ping-pong with a latency
//! histogram, a bulk stream, idle connections, a fixed-count HTTP/1.1
//! client (for instruction counts; throughput runs use wrk), and TLS
//! handshakes and bulk transfer.
//!
//! It is deliberately not built on gyre: a load generator sharing the code
//! under test would hide its bugs and its costs. Each workload prints
//! `key value` lines (a [`Report`]) that `bench/harness.py` reads.

mod echo;
mod histogram;
mod http;
mod proc;
mod tls;

pub use echo::{PingPong, bulk, idle, ping_pong};
pub use histogram::Histogram;
pub use http::{HttpLoad, http};
pub use proc::{CpuMeter, cpu_time, rss};
pub use tls::{TlsClient, tls_bulk, tls_handshakes};

use std::fmt;
use std::net::SocketAddr;

/// Named figures from one run, printed as `key value` lines.
#[derive(Default, Debug)]
pub struct Report {
    entries: Vec<(&'static str, f64)>,
}

impl Report {
    /// Adds one figure.
    pub fn push(&mut self, key: &'static str, value: f64) {
        self.entries.push((key, value));
    }

    /// The figure called `key`, if present.
    pub fn value(&self, key: &str) -> Option<f64> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in &self.entries {
            writeln!(f, "{key} {value}")?;
        }
        Ok(())
    }
}

/// Connects a blocking std socket with Nagle off, then makes it
/// non-blocking (the mio workloads need that; the others switch back).
pub(crate) fn connect_std(addr: SocketAddr) -> std::io::Result<std::net::TcpStream> {
    let stream = std::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

pub(crate) fn would_block(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests;
