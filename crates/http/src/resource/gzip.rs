//! Gzip content coding as a wrapping resource (Twisted's
//! `EncodingResourceWrapper` + `GzipEncoderFactory`), streaming.

use std::cell::RefCell;
use std::io::Write as _;
use std::rc::Rc;

use flate2::Compression;
use flate2::write::GzEncoder;
use gyre_core::producer::Producer;
use gyre_core::{Deferred, Failure};

use crate::error::SendError;
use crate::wire::{HeaderMap, Method, ResponseHead};

use super::reply::{Reply, ReplySink};
use super::{Resource, SiteRequest, render_tree};

/// Bodies declared shorter than this are sent as they are: gzip's 18-byte
/// frame would make them bigger.
pub const DEFAULT_MIN_SIZE: usize = 256;

/// Whether `Accept-Encoding` accepts gzip (`gzip`, `x-gzip` or `*` with a
/// non-zero `q`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut accepted = false;
    for value in headers.get_all("accept-encoding") {
        let Ok(value) = std::str::from_utf8(value) else {
            continue;
        };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|param| {
                let param = param.trim().to_ascii_lowercase();
                param
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().map_or(true, |q| q <= 0.0))
            });
            if matches!(coding.as_str(), "gzip" | "x-gzip") {
                return !refused;
            }
            if coding == "*" {
                accepted = !refused;
            }
        }
    }
    accepted
}

/// Compresses the responses of a tree with gzip when the client accepts
/// it: `Content-Encoding: gzip` and `Vary: Accept-Encoding` are set, the
/// `Content-Length` removed (the body goes chunked), and each written
/// piece compressed as it comes — no whole-body buffering. Only
/// successful (2xx) answers are encoded; left alone: `HEAD`, 204, `206`
/// (a range of the identity body), non-2xx answers (304s and small error
/// pages), bodies already carrying a `Content-Encoding`, and bodies
/// declared shorter than `min_size`.
pub struct GzipEncoding {
    wrapped: Rc<dyn Resource>,
    min_size: usize,
    level: Compression,
}

impl GzipEncoding {
    /// Wraps `wrapped` with the default level (6) and minimum size.
    pub fn new(wrapped: Rc<dyn Resource>) -> GzipEncoding {
        GzipEncoding {
            wrapped,
            min_size: DEFAULT_MIN_SIZE,
            level: Compression::default(),
        }
    }

    /// The same with another minimum `Content-Length` to compress.
    pub fn with_min_size(mut self, min_size: usize) -> GzipEncoding {
        self.min_size = min_size;
        self
    }

    /// The same with another compression level (0–9).
    pub fn with_level(mut self, level: u32) -> GzipEncoding {
        self.level = Compression::new(level.min(9));
        self
    }
}

impl Resource for GzipEncoding {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, request: &SiteRequest, reply: Reply) {
        if *request.method() == Method::HEAD {
            return render_tree(self.wrapped.clone(), request, reply);
        }
        let sink = GzipSink {
            inner: reply,
            accepts: accepts_gzip(request.headers()),
            min_size: self.min_size,
            level: self.level,
            encoder: RefCell::new(None),
        };
        render_tree(self.wrapped.clone(), request, Reply::new(Rc::new(sink)));
    }
}

struct GzipSink {
    inner: Reply,
    accepts: bool,
    min_size: usize,
    level: Compression,
    encoder: RefCell<Option<GzEncoder<Vec<u8>>>>,
}

impl GzipSink {
    /// Passes what the encoder produced so far on.
    fn drain(&self) -> Result<(), SendError> {
        let output = match &mut *self.encoder.borrow_mut() {
            Some(encoder) => std::mem::take(encoder.get_mut()),
            None => return Ok(()),
        };
        if output.is_empty() {
            return Ok(());
        }
        self.inner.write(&output)
    }
}

fn compression_error(error: std::io::Error) -> SendError {
    tracing::warn!(%error, "resource: gzip failed");
    SendError::WrongState("gzip compression failed")
}

impl ReplySink for GzipSink {
    fn send_head(&self, mut head: ResponseHead) -> Result<(), SendError> {
        let status = head.status.as_u16();
        let declared = head
            .headers
            .get_str("content-length")
            .and_then(|length| length.trim().parse::<usize>().ok());
        let eligible = !head.status.has_no_body()
            && status != 206
            && (200..300).contains(&status)
            && !head.headers.contains("content-encoding")
            && declared.is_none_or(|length| length >= self.min_size);
        if eligible {
            head.headers.append("Vary", "Accept-Encoding")?;
        }
        if eligible && self.accepts {
            head.headers.remove("content-length");
            head.headers.append("Content-Encoding", "gzip")?;
            *self.encoder.borrow_mut() = Some(GzEncoder::new(Vec::new(), self.level));
        }
        self.inner.send_head(head)
    }

    fn write(&self, data: &[u8]) -> Result<(), SendError> {
        let compressed = match &mut *self.encoder.borrow_mut() {
            Some(encoder) => {
                encoder.write_all(data).map_err(compression_error)?;
                true
            }
            None => false,
        };
        if compressed {
            self.drain()
        } else {
            self.inner.write(data)
        }
    }

    fn finish(&self) -> Result<(), SendError> {
        let encoder = self.encoder.borrow_mut().take();
        if let Some(encoder) = encoder {
            let rest = encoder.finish().map_err(compression_error)?;
            if !rest.is_empty() {
                self.inner.write(&rest)?;
            }
        }
        self.inner.finish()
    }

    fn register_producer(&self, producer: Producer) -> Result<(), Failure> {
        self.inner.register_producer(producer)
    }

    fn unregister_producer(&self) {
        self.inner.unregister_producer();
    }

    fn notify_finish(&self) -> Deferred<()> {
        self.inner.notify_finish()
    }
    fn abort(&self) {
        self.inner.abort();
    }
}
