//! Echo workloads: ping-pong of small messages over many connections
//! (throughput and latency), one bulk stream, and idle connections (server
//! memory per connection). One thread and one mio loop drive every
//! connection, so the load generator fits on the one CPU it is pinned to.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::histogram::Histogram;
use super::proc::{CpuMeter, rss};
use super::{Report, connect_std, would_block};

/// How a ping-pong run is shaped.
pub struct PingPong {
    /// The echo server.
    pub addr: SocketAddr,
    /// Concurrent connections, each with one message in flight.
    pub connections: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Time run before measuring (connections warm, caches hot).
    pub warmup: Duration,
    /// Measured time; ignored when `count` is set.
    pub duration: Duration,
    /// A fixed number of messages instead of a duration (for instruction
    /// counts), measured from the first message.
    pub count: Option<u64>,
    /// The server's PID, for its CPU time over the measured interval.
    pub pid: Option<u32>,
}

struct Conn {
    stream: TcpStream,
    sent_at: Instant,
    received: usize,
    unsent: usize,
    active: bool,
}

/// Runs echo ping-pong and reports messages, seconds, server CPU and the
/// latency percentiles of the measured interval.
pub fn ping_pong(options: &PingPong) -> std::io::Result<Report> {
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(options.connections);
    for index in 0..options.connections {
        let mut stream = TcpStream::from_std(connect_std(options.addr)?);
        poll.registry()
            .register(&mut stream, Token(index), Interest::READABLE | Interest::WRITABLE)?;
        let now = Instant::now();
        conns.push(Conn {
            stream,
            sent_at: now,
            received: 0,
            unsent: 0,
            active: true,
        });
    }
    let message = vec![b'x'; options.size];
    let mut buffer = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    let started = Instant::now();
    let fixed = options.count.is_some();
    let mut measuring = fixed;
    let mut meter = CpuMeter::start(options.pid)?;
    let mut window_start = started;
    let measure_end = started + options.warmup + options.duration;
    let mut latency = Histogram::new();
    let mut completed = 0u64;
    let mut sent = 0u64;
    let budget = options.count.unwrap_or(u64::MAX);
    for conn in &mut conns {
        if sent < budget {
            sent += 1;
            send(conn, &message)?;
        } else {
            conn.active = false;
        }
    }
    loop {
        poll.poll(&mut events, Some(Duration::from_millis(5)))?;
        let now = Instant::now();
        if !measuring && now >= started + options.warmup {
            measuring = true;
            meter = CpuMeter::start(options.pid)?;
            window_start = now;
        }
        if (!fixed && now >= measure_end) || (fixed && completed >= budget) {
            break;
        }
        for event in &events {
            let conn = &mut conns[event.token().0];
            if conn.unsent > 0 && event.is_writable() {
                let offset = message.len() - conn.unsent;
                conn.unsent -= write_some(&mut conn.stream, &message[offset..])?;
            }
            loop {
                match conn.stream.read(&mut buffer) {
                    Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                    Ok(n) => conn.received += n,
                    Err(e) if would_block(&e) => break,
                    Err(e) => return Err(e),
                }
            }
            while conn.active && conn.received >= options.size {
                conn.received -= options.size;
                let now = Instant::now();
                if measuring {
                    latency.record(now - conn.sent_at);
                    completed += 1;
                }
                if sent < budget {
                    sent += 1;
                    send(conn, &message)?;
                } else {
                    conn.active = false;
                }
            }
        }
    }
    let seconds = window_start.elapsed().as_secs_f64();
    let server_cpu = meter.elapsed()?;
    let mut report = Report::default();
    report.push("ops", completed as f64);
    report.push("seconds", seconds);
    if let Some(cpu) = server_cpu {
        report.push("server_cpu_s", cpu);
    }
    report.push("p50_us", latency.percentile(0.50).as_nanos() as f64 / 1000.0);
    report.push("p99_us", latency.percentile(0.99).as_nanos() as f64 / 1000.0);
    Ok(report)
}

fn send(conn: &mut Conn, message: &[u8]) -> std::io::Result<()> {
    conn.sent_at = Instant::now();
    conn.unsent = message.len() - write_some(&mut conn.stream, message)?;
    Ok(())
}

/// Writes what the kernel takes now (edge-triggered: a refusal is retried
/// on the next writable event).
fn write_some(stream: &mut TcpStream, data: &[u8]) -> std::io::Result<usize> {
    match stream.write(data) {
        Ok(n) => Ok(n),
        Err(e) if would_block(&e) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Streams `bytes` through an echo server on one connection, writing and
/// reading at once, and reports bytes, seconds and server CPU.
pub fn bulk(addr: SocketAddr, bytes: u64, pid: Option<u32>) -> std::io::Result<Report> {
    let mut poll = Poll::new()?;
    let mut stream = TcpStream::from_std(connect_std(addr)?);
    poll.registry()
        .register(&mut stream, Token(0), Interest::READABLE | Interest::WRITABLE)?;
    let chunk = vec![b'b'; 256 * 1024];
    let mut buffer = vec![0u8; 256 * 1024];
    let mut events = Events::with_capacity(16);
    let meter = CpuMeter::start(pid)?;
    let started = Instant::now();
    let (mut sent, mut received) = (0u64, 0u64);
    while received < bytes {
        while sent < bytes {
            let n = chunk.len().min((bytes - sent) as usize);
            match stream.write(&chunk[..n]) {
                Ok(written) => sent += written as u64,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
        }
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => received += n as u64,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
        }
        if received < bytes {
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

/// Opens `connections` connections, echoes one byte on each (so the server
/// has accepted and served every one), lets the server settle, and reports
/// its resident memory growth per connection. The connections close when
/// this returns.
pub fn idle(addr: SocketAddr, connections: usize, pid: u32) -> std::io::Result<Report> {
    let before = rss(pid)?;
    let mut open = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut stream = connect_std(addr)?;
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(b"i")?;
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte)?;
        open.push(stream);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss(pid)?;
    let mut report = Report::default();
    report.push("connections", connections as f64);
    report.push("rss_before_bytes", before as f64);
    report.push("rss_after_bytes", after as f64);
    report.push(
        "rss_per_conn_bytes",
        after.saturating_sub(before) as f64 / connections as f64,
    );
    Ok(report)
}
