//! [`ContentDecoder`]: gzip and deflate response bodies, decoded as they
//! stream (Twisted's `ContentDecoderAgent`), with a limit on the decoded
//! size so a small compressed body cannot expand without bound (a zip bomb
//! is cut off with [`ClientError::DecodedTooLarge`] and its connection aborted).
//!
//! `Accept-Encoding: gzip, deflate` is sent unless the caller set the
//! field. A response with one known coding gets its body decoded and loses
//! `Content-Encoding` and `Content-Length` (they described the encoded
//! bytes); anything else (no coding, `identity`, unknown or stacked
//! codings) passes through untouched. `deflate` is the zlib format (RFC
//! 9110), with the raw deflate some servers send accepted too.

use std::io::Write;
use std::rc::Rc;

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};
use gyre_core::{Deferred, Failure};

use crate::client::agent::HttpClient;
use crate::client::error::ClientError;
use crate::client::request::RequestBody;
use crate::client::response::{BodyControl, BodyEvent, BodySink, Response, ResponseBody, body_channel};
use crate::client::url::RequestUrl;
use crate::{HeaderMap, Method};

/// The default limit on a decoded body: 64 MiB.
pub const DEFAULT_DECODED_LIMIT: u64 = 64 << 20;

/// Decodes gzip and deflate bodies of the responses of `inner`.
pub struct ContentDecoder<C> {
    inner: C,
    limit: u64,
}

impl<C: HttpClient> ContentDecoder<C> {
    /// Wraps `inner`, with [`DEFAULT_DECODED_LIMIT`].
    pub fn new(inner: C) -> Self {
        ContentDecoder {
            inner,
            limit: DEFAULT_DECODED_LIMIT,
        }
    }

    /// Sets the largest decoded body accepted, in bytes.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// The wrapped client.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: HttpClient> HttpClient for ContentDecoder<C> {
    fn request(
        &self,
        method: Method,
        url: &RequestUrl,
        mut headers: HeaderMap,
        body: RequestBody,
    ) -> Deferred<Response> {
        if !headers.contains("accept-encoding") {
            headers
                .insert("Accept-Encoding", "gzip, deflate")
                .expect("a valid header field");
        }
        let limit = self.limit;
        self.inner
            .request(method, url, headers, body)
            .map(move |response| decode(response, limit))
    }
}

#[derive(Clone, Copy)]
enum Coding {
    Gzip,
    Deflate,
}

fn coding(headers: &HeaderMap) -> Option<Coding> {
    if headers.count("content-encoding") != 1 {
        return None;
    }
    match headers
        .get_str("content-encoding")?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "gzip" | "x-gzip" => Some(Coding::Gzip),
        "deflate" => Some(Coding::Deflate),
        _ => None,
    }
}

/// Hands decoded bytes on to the decoded body as the decoder writes them,
/// refusing more than the limit in total.
struct Limited {
    out: BodySink,
    total: u64,
    limit: u64,
}

impl Limited {
    fn new(out: BodySink, limit: u64) -> Limited {
        Limited { out, total: 0, limit }
    }
}

impl Write for Limited {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.total += data.len() as u64;
        if self.total > self.limit {
            return Err(std::io::Error::other("decoded size limit"));
        }
        self.out.data(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Decoder {
    /// Deflate before its first two bytes say whether zlib wraps it (the
    /// first byte, when it came alone).
    Undecided {
        out: Limited,
        first: Option<u8>,
    },
    Gzip(GzDecoder<Limited>),
    Zlib(ZlibDecoder<Limited>),
    Raw(DeflateDecoder<Limited>),
}

impl Decoder {
    fn sink(&self) -> &Limited {
        match self {
            Decoder::Undecided { out, .. } => out,
            Decoder::Gzip(d) => d.get_ref(),
            Decoder::Zlib(d) => d.get_ref(),
            Decoder::Raw(d) => d.get_ref(),
        }
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        if let Decoder::Undecided { out, first } = self {
            let (a, b) = match (*first, data) {
                (Some(a), [b, ..]) => (a, *b),
                (None, [a, b, ..]) => (*a, *b),
                (None, [a]) => {
                    *first = Some(*a);
                    return Ok(());
                }
                (_, []) => return Ok(()),
            };
            let (first, sink) = (*first, Limited::new(out.out.clone(), out.limit));
            // A zlib header: compression method 8, and the check bits.
            let zlib = a & 0x0f == 8 && (u16::from(a) << 8 | u16::from(b)) % 31 == 0;
            *self = if zlib {
                Decoder::Zlib(ZlibDecoder::new(sink))
            } else {
                Decoder::Raw(DeflateDecoder::new(sink))
            };
            if let Some(first) = first {
                self.write(&[first])?;
            }
        }
        match self {
            Decoder::Undecided { .. } => unreachable!("decided above"),
            Decoder::Gzip(d) => d.write_all(data),
            Decoder::Zlib(d) => d.write_all(data),
            Decoder::Raw(d) => d.write_all(data),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Decoder::Undecided { .. } => Err(std::io::Error::other("empty compressed body")),
            Decoder::Gzip(d) => d.try_finish(),
            Decoder::Zlib(d) => d.try_finish(),
            Decoder::Raw(d) => d.try_finish(),
        }
    }
}

/// Relays pause, resume and abandonment to the encoded body.
struct Relay(ResponseBody);

impl BodyControl for Relay {
    fn pause(&self) {
        self.0.pause();
    }
    fn resume(&self) {
        self.0.resume();
    }
    fn abandon(&self) {
        if let Some(control) = self.0.control() {
            control.abandon();
        }
    }
}

fn decode(mut response: Response, limit: u64) -> Response {
    let Some(coding) = coding(&response.headers) else {
        return response;
    };
    response.headers.remove("content-encoding");
    response.headers.remove("content-length");
    let (sink, body) = body_channel(None);
    let encoded = std::mem::replace(&mut response.body, body);
    let control = encoded.control();
    let relay = Rc::new(Relay(encoded));
    sink.set_control(relay.clone());
    let decoded = Limited::new(sink.clone(), limit);
    let mut decoder = match coding {
        Coding::Gzip => Decoder::Gzip(GzDecoder::new(decoded)),
        Coding::Deflate => Decoder::Undecided {
            out: decoded,
            first: None,
        },
    };
    let mut failed = false;
    let abort = move || {
        if let Some(control) = &control {
            control.abandon();
        }
    };
    relay.0.stream(move |event| {
        if failed {
            return;
        }
        let outcome = match event {
            BodyEvent::Data(data) => decoder.write(data).map(|()| None),
            BodyEvent::End(trailers) => decoder.finish().map(|()| Some(trailers.clone())),
            BodyEvent::Failed(failure) => {
                sink.end(Err(failure.clone()));
                return;
            }
        };
        match outcome {
            Ok(end) => {
                if let Some(trailers) = end {
                    sink.end(Ok(trailers));
                }
            }
            Err(error) => {
                failed = true;
                let error = if decoder.sink().total > limit {
                    ClientError::DecodedTooLarge { limit }
                } else {
                    ClientError::Decoding(error.to_string())
                };
                sink.end(Err(Failure::new(error)));
                abort();
            }
        }
    });
    response
}
