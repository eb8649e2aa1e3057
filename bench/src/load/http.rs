//! A fixed-count HTTP/1.1 GET client: `count` requests spread over
//! `connections` connections, with keep-alive or a new connection per
//! request (`Connection: close`). Throughput runs use wrk; this exists so
//! the instruction-count mode can send exactly N requests, and so the
//! smoke test can check servers answer without wrk.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::proc::CpuMeter;
use super::{Report, connect_std, would_block};

/// How an HTTP run is shaped.
pub struct HttpLoad {
    /// The server.
    pub addr: SocketAddr,
    /// The request target, e.g. `/`.
    pub path: String,
    /// Concurrent connections.
    pub connections: usize,
    /// Requests in all.
    pub count: u64,
    /// One request per connection, asking the server to close.
    pub close: bool,
    /// The server's PID, for its CPU time.
    pub pid: Option<u32>,
}

struct Conn {
    stream: TcpStream,
    response: Vec<u8>,
}

/// Sends the requests and reports requests, seconds and server CPU; an
/// answer other than 200 or a malformed one is an error.
pub fn http(load: &HttpLoad) -> std::io::Result<Report> {
    let connection = if load.close { "close" } else { "keep-alive" };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {connection}\r\n\r\n",
        load.path
    );
    let mut poll = Poll::new()?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut sent = 0u64;
    let mut done = 0u64;
    let meter = CpuMeter::start(load.pid)?;
    let started = Instant::now();
    for index in 0..load.connections.min(load.count as usize) {
        conns.push(Some(open(&poll, index, load.addr)?));
        send(conns[index].as_mut().unwrap(), request.as_bytes())?;
        sent += 1;
    }
    let mut buffer = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    while done < load.count {
        poll.poll(&mut events, Some(Duration::from_secs(10)))?;
        if events.is_empty() {
            return Err(std::io::Error::new(ErrorKind::TimedOut, "no answer in 10 s"));
        }
        for event in &events {
            let index = event.token().0;
            let Some(conn) = conns[index].as_mut() else {
                continue;
            };
            loop {
                match conn.stream.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => conn.response.extend_from_slice(&buffer[..n]),
                    Err(e) if would_block(&e) => break,
                    Err(e) => return Err(e),
                }
            }
            while let Some(length) = complete_response(&conn.response)? {
                conn.response.drain(..length);
                done += 1;
                if sent >= load.count {
                    break;
                }
                sent += 1;
                if load.close {
                    let mut replacement = open(&poll, index, load.addr)?;
                    send(&mut replacement, request.as_bytes())?;
                    let mut old = std::mem::replace(conn, replacement);
                    poll.registry().deregister(&mut old.stream)?;
                    break;
                }
                send(conn, request.as_bytes())?;
            }
        }
    }
    let mut report = Report::default();
    report.push("ops", done as f64);
    report.push("seconds", started.elapsed().as_secs_f64());
    if let Some(cpu) = meter.elapsed()? {
        report.push("server_cpu_s", cpu);
    }
    Ok(report)
}

fn open(poll: &Poll, index: usize, addr: SocketAddr) -> std::io::Result<Conn> {
    let mut stream = TcpStream::from_std(connect_std(addr)?);
    poll.registry()
        .register(&mut stream, Token(index), Interest::READABLE)?;
    Ok(Conn {
        stream,
        response: Vec::new(),
    })
}

/// Requests are small, so the kernel always takes them whole on a fresh
/// or drained connection; a partial write would be a harness bug.
fn send(conn: &mut Conn, request: &[u8]) -> std::io::Result<()> {
    let written = conn.stream.write(request)?;
    if written != request.len() {
        return Err(std::io::Error::other("short write of a request"));
    }
    Ok(())
}

/// The length of the first complete response in `data` (status 200 and a
/// Content-Length body), or None when more bytes are needed.
pub(crate) fn complete_response(data: &[u8]) -> std::io::Result<Option<usize>> {
    let Some(head_end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&data[..head_end])
        .map_err(|_| std::io::Error::other("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") && !status.starts_with("HTTP/1.0 200") {
        return Err(std::io::Error::other(format!(
            "unexpected status line {status:?}"
        )));
    }
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or_else(|| std::io::Error::other("response without Content-Length"))?;
    let total = head_end + 4 + length;
    Ok((data.len() >= total).then_some(total))
}
