//! [`AccessLog`]: a [`Handler`] wrapper writing one line per request in
//! the combined log format (Apache's and nginx's default), to any writer
//! and to `tracing`.
//!
//! ```text
//! 127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a.gif HTTP/1.1" 200 2326 "http://ref/" "curl/8.5"
//! ```
//!
//! The line is written when the response finishes (or is abandoned
//! because the client left), so it has the final status and the body
//! bytes sent: the wrapper waits on [`Response::notify_finish`] and reads
//! [`Response::status`] and [`Response::body_bytes`]. Untrusted text
//! (request line, `Referer`, `User-Agent`) is escaped like Apache does
//! (`\"`, `\\`, `\xHH`), so a client can never forge a second log line.
//!
//! ```
//! use std::rc::Rc;
//! use std::time::{Duration, UNIX_EPOCH};
//! use gyre_http::server::{AccessLog, HttpServer, Request, Response};
//! use gyre_http::StatusCode;
//!
//! let lines = gyre_http::server::SharedBuffer::default();
//! let hello = |_: Request, response: Response| {
//!     response.send(StatusCode::OK, "text/plain", b"hi").unwrap();
//! };
//! let logged = AccessLog::new(hello)
//!     .to_writer(lines.clone())
//!     .with_clock(|| UNIX_EPOCH + Duration::from_secs(971_186_136));
//! let server = HttpServer::new(Rc::new(gyre_testing::ManualClock::new()), logged);
//! let mut connection = gyre_testing::StringTransportWithDisconnection::new(server.protocol());
//! connection.data_received(b"GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: doc\r\n\r\n");
//! assert_eq!(
//!     lines.text(),
//!     "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /x HTTP/1.1\" 200 2 \"-\" \"doc\"\n"
//! );
//! ```

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::rc::Rc;
use std::time::SystemTime;

use gyre_core::Address;

use crate::server::{Handler, Request, Response};
use crate::static_files::format_log_time;

type Sink = Rc<RefCell<Box<dyn Write>>>;

/// Wraps a handler and logs every request it answers.
pub struct AccessLog<H> {
    inner: H,
    sink: Option<Sink>,
    now: Rc<dyn Fn() -> SystemTime>,
}

impl<H: Handler> AccessLog<H> {
    /// Logs the requests `inner` answers to `tracing` (target
    /// `gyre::http::access`, level INFO) only.
    pub fn new(inner: H) -> Self {
        AccessLog {
            inner,
            sink: None,
            now: Rc::new(SystemTime::now),
        }
    }

    /// Also writes each line to `writer` (a file, stdout), flushed per line
    /// so `tail -f` sees it at once.
    pub fn to_writer(mut self, writer: impl Write + 'static) -> Self {
        self.sink = Some(Rc::new(RefCell::new(Box::new(writer))));
        self
    }

    /// Reads the time of each request from `now` instead of the system
    /// clock (tests).
    pub fn with_clock(mut self, now: impl Fn() -> SystemTime + 'static) -> Self {
        self.now = Rc::new(now);
        self
    }
}

/// Escapes untrusted text for a quoted log field.
pub fn escape_log_field(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(byte as char),
            _ => {
                let _ = write!(out, "\\x{byte:02x}"); // writing to a String cannot fail
            }
        }
    }
    out
}

fn remote_host(address: &Address) -> String {
    match address {
        Address::Ipv4 { addr, .. } => addr.ip().to_string(),
        Address::Ipv6 { addr, .. } => addr.ip().to_string(),
        _ => "-".to_owned(),
    }
}

/// One request's fields, known when it arrives; completed at the finish.
struct Entry {
    remote: String,
    time: String,
    request_line: String,
    referer: String,
    user_agent: String,
}

impl Entry {
    fn new(request: &Request, time: SystemTime) -> Self {
        let head = request.head();
        let quoted = |name: &str| head.headers.get(name).map_or("-".to_owned(), escape_log_field);
        let line = format!(
            "{} {} {}",
            head.method.as_str(),
            head.target.as_str(),
            head.version.as_str()
        );
        Entry {
            remote: remote_host(request.peer()),
            time: format_log_time(time),
            request_line: escape_log_field(line.as_bytes()),
            referer: quoted("referer"),
            user_agent: quoted("user-agent"),
        }
    }

    /// The combined-log line (without the newline). There is no
    /// authentication layer yet, so the user is `-`.
    fn line(&self, response: &Response) -> String {
        let status = response
            .status()
            .map_or("-".to_owned(), |s| s.as_u16().to_string());
        let bytes = match response.body_bytes() {
            0 => "-".to_owned(),
            n => n.to_string(),
        };
        format!(
            "{} - - [{}] \"{}\" {status} {bytes} \"{}\" \"{}\"",
            self.remote, self.time, self.request_line, self.referer, self.user_agent
        )
    }
}

impl<H: Handler> Handler for AccessLog<H> {
    fn handle(&self, request: Request, response: Response) {
        if self.sink.is_none() && !tracing::enabled!(target: "gyre::http::access", tracing::Level::INFO) {
            // Nobody would read the entry: do not format it.
            self.inner.handle(request, response);
            return;
        }
        let entry = Entry::new(&request, (self.now)());
        let observed = response.clone();
        let sink = self.sink.clone();
        drop(response.notify_finish().then(move |_finished_or_lost| {
            let line = entry.line(&observed);
            tracing::info!(target: "gyre::http::access", "{line}");
            if let Some(sink) = sink {
                let mut writer = sink.borrow_mut();
                if let Err(error) = writeln!(writer, "{line}").and_then(|()| writer.flush()) {
                    tracing::warn!(target: "gyre::http::access", %error, "cannot write the access log");
                }
            }
        }));
        self.inner.handle(request, response);
    }
}

/// A cloneable in-memory writer: what an [`AccessLog`] wrote, for tests
/// and for handing log lines to something that is not a `Write`.
#[derive(Clone, Default)]
pub struct SharedBuffer(Rc<RefCell<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far, as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
