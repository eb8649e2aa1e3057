//! [`Response`] and its streamed [`ResponseBody`].
//!
//! The body is pushed by the connection into a small shared buffer. A
//! reader set with [`ResponseBody::stream`] gets bytes as they arrive;
//! until one is set, or while it has [paused](ResponseBody::pause), bytes
//! are kept and, past [`BODY_HIGH_WATER`], the connection stops reading
//! from the socket (TCP backpressure reaches the server). Dropping an
//! unfinished body that nobody reads aborts its connection, which can then
//! never be reused: a half-read response cannot be skipped safely.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::{Deferred, Failure};

use crate::client::error::ClientError;
use crate::{HeaderMap, StatusCode, Version};

/// Bytes kept for a reader that is absent or paused before the connection
/// stops reading.
pub const BODY_HIGH_WATER: usize = 64 * 1024;

/// One event of a response body, given to the reader set with
/// [`ResponseBody::stream`].
#[derive(Debug)]
pub enum BodyEvent<'a> {
    /// The next bytes.
    Data(&'a [u8]),
    /// The body is complete; its trailer fields (usually none).
    End(&'a HeaderMap),
    /// The body will not complete (connection lost, timeout, decoding).
    Failed(&'a Failure),
}

/// What a body asks of whatever feeds it: a connection, or a decoder.
pub(crate) trait BodyControl {
    /// Stop delivering for now.
    fn pause(&self);
    /// Deliver again.
    fn resume(&self);
    /// Nobody will read the rest.
    fn abandon(&self);
}

type Reader = Box<dyn FnMut(BodyEvent<'_>)>;

struct Inner {
    buffered: Vec<u8>,
    end: Option<Result<HeaderMap, Failure>>,
    delivered_end: bool,
    reader: Option<Reader>,
    delivering: bool,
    paused: bool,
    source_paused: bool,
    control: Option<Rc<dyn BodyControl>>,
}

/// The feeding side of a body, kept by the connection (or a decoder).
#[derive(Clone)]
pub(crate) struct BodySink(Rc<RefCell<Inner>>);

/// A streamed response body; see the module docs.
pub struct ResponseBody {
    inner: Rc<RefCell<Inner>>,
}

/// A response: status, version, header fields and the streamed body.
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase the server sent.
    pub reason: String,
    /// The server's HTTP version.
    pub version: Version,
    /// The header fields.
    pub headers: HeaderMap,
    /// The body, streamed.
    pub body: ResponseBody,
    /// The URL this response answers (after redirects, the last one).
    pub url: String,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// Reads the whole body, failing with [`ClientError::BodyTooLarge`]
    /// (and aborting the connection) past `limit` bytes (Twisted's `readBody`).
    pub fn read_body(self, limit: usize) -> Deferred<Vec<u8>> {
        self.body.read_all(limit)
    }
}

/// A body and the sink that fills it.
pub(crate) fn body_channel(control: Option<Rc<dyn BodyControl>>) -> (BodySink, ResponseBody) {
    let inner = Rc::new(RefCell::new(Inner {
        buffered: Vec::new(),
        end: None,
        delivered_end: false,
        reader: None,
        delivering: false,
        paused: false,
        source_paused: false,
        control,
    }));
    (BodySink(inner.clone()), ResponseBody { inner })
}

impl BodySink {
    /// Body bytes from the source.
    pub(crate) fn data(&self, data: &[u8]) {
        let pause = {
            let mut inner = self.0.borrow_mut();
            if inner.end.is_some() {
                return;
            }
            inner.buffered.extend_from_slice(data);
            let pause = inner.buffered.len() > BODY_HIGH_WATER && !inner.source_paused;
            inner.source_paused |= pause;
            pause.then(|| inner.control.clone()).flatten()
        };
        if let Some(control) = pause {
            control.pause();
        }
        deliver(&self.0);
    }

    /// The body ended (with trailers) or failed.
    pub(crate) fn end(&self, result: Result<HeaderMap, Failure>) {
        {
            let mut inner = self.0.borrow_mut();
            if inner.end.is_some() {
                return;
            }
            inner.end = Some(result);
        }
        deliver(&self.0);
    }

    /// Whether the reader asked for a pause (timers should not count then).
    pub(crate) fn is_paused(&self) -> bool {
        let inner = self.0.borrow();
        inner.paused || (inner.reader.is_none() && inner.source_paused)
    }
}

/// Hands buffered bytes and the end to the reader, unless paused or
/// already delivering (a reader calling back into the body).
fn deliver(cell: &Rc<RefCell<Inner>>) {
    loop {
        let (mut reader, data, end) = {
            let mut inner = cell.borrow_mut();
            if inner.delivering || inner.paused || inner.delivered_end {
                return;
            }
            let Some(reader) = inner.reader.take() else { return };
            let data = std::mem::take(&mut inner.buffered);
            let end = if data.is_empty() { inner.end.clone() } else { None };
            if data.is_empty() && end.is_none() {
                inner.reader = Some(reader);
                // Nothing kept: a source paused while the reader was
                // paused may read again now.
                let resume_now = inner.source_paused;
                inner.source_paused = false;
                let control = resume_now.then(|| inner.control.clone()).flatten();
                drop(inner);
                if let Some(control) = control {
                    control.resume();
                }
                return;
            }
            inner.delivering = true;
            inner.delivered_end = end.is_some();
            (reader, data, end)
        };
        if !data.is_empty() {
            reader(BodyEvent::Data(&data));
        }
        match &end {
            Some(Ok(trailers)) => reader(BodyEvent::End(trailers)),
            Some(Err(failure)) => reader(BodyEvent::Failed(failure)),
            None => {}
        }
        let control = {
            let mut inner = cell.borrow_mut();
            inner.delivering = false;
            if end.is_none() {
                inner.reader = Some(reader);
                // The delivered buffer is kept for the next bytes rather
                // than allocating one per read (none larger than a pause
                // can leave, and none after the end).
                if inner.buffered.is_empty() && data.capacity() <= 2 * BODY_HIGH_WATER {
                    let mut data = data;
                    data.clear();
                    inner.buffered = data;
                }
            }
            let resume_now = inner.source_paused && !inner.paused;
            inner.source_paused &= !resume_now;
            resume_now.then(|| inner.control.clone()).flatten()
        };
        if let Some(control) = control {
            control.resume();
        }
    }
}

impl ResponseBody {
    /// Streams the body to `reader`: bytes kept so far at once, then as
    /// they arrive, then `End` or `Failed`. A second call replaces the reader.
    pub fn stream(&self, reader: impl FnMut(BodyEvent<'_>) + 'static) {
        self.inner.borrow_mut().reader = Some(Box::new(reader));
        deliver(&self.inner);
    }

    /// Stops delivery; the connection stops reading once
    /// [`BODY_HIGH_WATER`] bytes are kept.
    pub fn pause(&self) {
        self.inner.borrow_mut().paused = true;
    }

    /// Delivers again, and lets the connection read again.
    pub fn resume(&self) {
        self.inner.borrow_mut().paused = false;
        deliver(&self.inner);
    }

    /// Whether the end (or failure) was delivered.
    pub fn is_complete(&self) -> bool {
        self.inner.borrow().delivered_end
    }

    /// Collects the body, up to `limit` bytes; see [`Response::read_body`].
    pub fn read_all(&self, limit: usize) -> Deferred<Vec<u8>> {
        let (deferred, resolver) = Deferred::new();
        let mut collected = Vec::new();
        let weak = Rc::downgrade(&self.inner);
        self.stream(move |event| match event {
            BodyEvent::Data(data) => {
                if resolver.is_fired() {
                    return;
                }
                if collected.len() + data.len() > limit {
                    resolver.errback(ClientError::BodyTooLarge { limit });
                    if let Some(control) = weak.upgrade().and_then(|inner| inner.borrow().control.clone()) {
                        control.abandon();
                    }
                    return;
                }
                collected.extend_from_slice(data);
            }
            BodyEvent::End(_) if !resolver.is_fired() => resolver.callback(std::mem::take(&mut collected)),
            BodyEvent::Failed(failure) if !resolver.is_fired() => resolver.errback(failure.clone()),
            _ => {}
        });
        deferred
    }

    pub(crate) fn control(&self) -> Option<Rc<dyn BodyControl>> {
        self.inner.borrow().control.clone()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        let abandon = {
            let inner = self.inner.borrow();
            if inner.reader.is_none() && inner.end.is_none() && !inner.delivering {
                inner.control.clone()
            } else {
                None
            }
        };
        if let Some(control) = abandon {
            control.abandon();
        }
    }
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("complete", &self.is_complete())
            .finish()
    }
}

impl BodySink {
    /// Sets what the sink pauses, resumes and abandons (a decoder learns
    /// it only after the channel exists).
    pub(crate) fn set_control(&self, control: Rc<dyn BodyControl>) {
        self.0.borrow_mut().control = Some(control);
    }
}
