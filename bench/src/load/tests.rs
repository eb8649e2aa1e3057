//! The load generator against tiny thread-per-connection servers written
//! with std only, so a bug in gyre cannot mask a bug here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::*;

/// Starts a std echo server that serves every connection on its own thread.
fn echo_server() -> SocketAddr {
    serve(|mut stream| {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                return;
            }
        }
    })
}

fn serve(handler: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || handler(stream));
        }
    });
    addr
}

#[test]
fn ping_pong_counts_exactly_the_fixed_number_of_messages() {
    let addr = echo_server();
    let options = PingPong {
        addr,
        connections: 7,
        size: 64,
        warmup: Duration::ZERO,
        duration: Duration::ZERO,
        count: Some(1000),
        pid: Some(std::process::id()),
    };
    let report = ping_pong(&options).unwrap();
    assert_eq!(report.value("ops"), Some(1000.0));
    assert!(report.value("server_cpu_s").is_some());
    let (p50, p99) = (report.value("p50_us").unwrap(), report.value("p99_us").unwrap());
    assert!(p50 > 0.0 && p99 >= p50, "p50 {p50} p99 {p99}");
}

#[test]
fn ping_pong_for_a_duration_measures_only_after_the_warmup() {
    let addr = echo_server();
    let options = PingPong {
        addr,
        connections: 3,
        size: 64,
        warmup: Duration::from_millis(50),
        duration: Duration::from_millis(200),
        count: None,
        pid: None,
    };
    let report = ping_pong(&options).unwrap();
    assert!(report.value("ops").unwrap() > 0.0);
    // Wide bounds: a loaded 2-core machine may stall the loop for a while.
    let seconds = report.value("seconds").unwrap();
    assert!((0.19..5.0).contains(&seconds), "measured {seconds} s");
    assert_eq!(report.value("server_cpu_s"), None);
}

#[test]
fn bulk_gets_every_byte_back() {
    let report = bulk(echo_server(), 8 << 20, None).unwrap();
    assert_eq!(report.value("bytes"), Some((8 << 20) as f64));
    assert!(report.value("seconds").unwrap() > 0.0);
}

#[test]
fn idle_reports_memory_per_connection_of_a_process() {
    let report = idle(echo_server(), 20, std::process::id()).unwrap();
    assert_eq!(report.value("connections"), Some(20.0));
    assert!(report.value("rss_after_bytes").unwrap() > 0.0);
    assert!(report.value("rss_per_conn_bytes").unwrap() >= 0.0);
}

/// Answers each request of a keep-alive or `Connection: close` exchange.
fn hello(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut close = false;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            close |= line.eq_ignore_ascii_case("connection: close\r\n");
            if line == "\r\n" {
                break;
            }
        }
        let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 6\r\n\r\nhello\n";
        if writer.write_all(answer.as_bytes()).is_err() || close {
            return;
        }
    }
}

#[test]
fn http_sends_the_exact_count_with_keep_alive_and_with_close() {
    let addr = serve(hello);
    for close in [false, true] {
        let load = HttpLoad {
            addr,
            path: "/".into(),
            connections: 4,
            count: 103,
            close,
            pid: None,
        };
        let report = http(&load).unwrap();
        assert_eq!(report.value("ops"), Some(103.0), "close={close}");
    }
}

#[test]
fn http_rejects_an_error_status() {
    let addr = serve(|mut stream| {
        let mut buffer = [0u8; 1024];
        let _ = stream.read(&mut buffer);
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    });
    let load = HttpLoad {
        addr,
        path: "/x".into(),
        connections: 1,
        count: 1,
        close: false,
        pid: None,
    };
    let error = http(&load).unwrap_err();
    assert!(error.to_string().contains("404"), "{error}");
}

#[test]
fn complete_response_waits_for_the_whole_body() {
    let full = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1";
    assert_eq!(http::complete_response(&full[..20]).unwrap(), None);
    assert_eq!(http::complete_response(&full[..42]).unwrap(), None);
    assert_eq!(http::complete_response(full).unwrap(), Some(43));
    assert!(http::complete_response(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
}
