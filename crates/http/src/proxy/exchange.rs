//! One forwarded exchange: the request streamed up through an
//! [`HttpClient`], the response streamed down through a [`Reply`], with
//! backpressure both ways and failures mapped to `502`/`504`.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::producer::{Producer, PushProducer};
use gyre_core::{Deferred, Failure};

use crate::client::{BodyEvent, BodyWriter, ClientError, HttpClient, RequestBody, RequestUrl, ResponseBody};
use crate::resource::{Reply, ReplySink};
use crate::server::{self, BodyEvent as UpEvent};
use crate::{HeaderMap, Method, ResponseHead, StatusCode};

use super::headers::{append_via, strip_hop_by_hop};

/// A request ready to go upstream.
pub(crate) struct Outgoing {
    pub method: Method,
    pub url: RequestUrl,
    /// End-to-end fields with the forwarding fields added.
    pub headers: HeaderMap,
    /// How the client framed its body: `None` for no body, `Some(None)`
    /// for chunked, `Some(Some(n))` for `Content-Length: n`.
    pub framing: Option<Option<u64>>,
    pub body: server::RequestBody,
    pub via_name: Rc<str>,
}

/// How the client framed the body of a request with `headers`.
pub(crate) fn body_framing(headers: &HeaderMap) -> Option<Option<u64>> {
    if headers.contains("transfer-encoding") {
        return Some(None);
    }
    match headers
        .get_str("content-length")
        .and_then(|value| value.trim().parse::<u64>().ok())
    {
        Some(0) | None => None,
        Some(length) => Some(Some(length)),
    }
}

/// Sends `outgoing` through `client` and answers `reply` with what comes back.
pub(crate) fn forward(client: &dyn HttpClient, outgoing: Outgoing, reply: Reply) {
    let Outgoing {
        method,
        url,
        headers,
        framing,
        body,
        via_name,
    } = outgoing;
    let upload = match framing {
        None => RequestBody::empty(),
        Some(length) => RequestBody::stream(length, move |writer| stream_up(body, writer)),
    };
    let answer = reply.clone();
    let pending = client.request(method, &url, headers, upload).then(move |result| {
        match result {
            Ok(response) => relay_down(response, answer, &via_name),
            Err(failure) => answer_failure(&answer, &failure),
        }
        Ok::<(), Failure>(())
    });
    // A client that leaves before the upstream answered cancels the
    // upstream request (its connection is aborted, never reused). The
    // handle is held by the chain itself until it fires; the reply's
    // callback holds it weakly.
    if pending.has_result() {
        return;
    }
    let cell = Rc::new(RefCell::new(None::<Deferred<()>>));
    let holder = cell.clone();
    pending.add_both(move |result| {
        holder.borrow_mut().take();
        result
    });
    *cell.borrow_mut() = Some(pending);
    let weak = Rc::downgrade(&cell);
    drop(cell);
    reply.notify_finish().then(move |result| {
        if result.is_err()
            && let Some(cell) = weak.upgrade()
        {
            let taken = cell.borrow_mut().take();
            if let Some(deferred) = taken {
                deferred.cancel();
            }
        }
        Ok::<(), Failure>(())
    });
}

/// Streams the client's body into the upstream request; the client's
/// connection is the push producer of the upstream one, so a slow upstream
/// pauses reading from the client.
fn stream_up(body: server::RequestBody, writer: BodyWriter) {
    if let Err(failure) = writer.register_producer(Producer::Push(Rc::new(body.clone()))) {
        tracing::debug!(target: "gyre::proxy", %failure, "could not register the request body producer");
    }
    let mut writer = Some(writer);
    body.stream(move |event| match event {
        UpEvent::Data(data) => {
            if let Some(active) = &writer
                && active.write(data).is_err()
            {
                active.unregister_producer();
                writer = None;
            }
        }
        UpEvent::End(_) => {
            if let Some(done) = writer.take() {
                done.unregister_producer();
                if let Err(error) = done.finish() {
                    tracing::debug!(target: "gyre::proxy", %error, "upstream refused the end of the body");
                }
            }
        }
        UpEvent::Failed(_) => {
            // The client's body will never complete: the upstream request
            // cannot be completed either, so its connection is cut.
            if let Some(broken) = writer.take() {
                broken.unregister_producer();
                broken.conn.abort();
            }
        }
    });
}

/// Pauses and resumes an upstream body as the client's connection asks.
struct BodyProducer(Rc<ResponseBody>);

impl PushProducer for BodyProducer {
    fn pause_producing(&self) {
        self.0.pause();
    }
    fn resume_producing(&self) {
        self.0.resume();
    }
    fn stop_producing(&self) {
        if let Some(control) = self.0.control() {
            control.abandon();
        }
    }
}

/// Copies the upstream response to the client, streaming the body.
fn relay_down(response: crate::client::Response, reply: Reply, via_name: &str) {
    let mut head = ResponseHead::new(response.status);
    if let Ok(with_reason) = ResponseHead::new(response.status).with_reason(&response.reason) {
        head = with_reason;
    }
    let mut headers = response.headers;
    strip_hop_by_hop(&mut headers);
    append_via(&mut headers, response.version, via_name);
    head.headers = headers;
    let body = Rc::new(response.body);
    if let Err(error) = reply.send_head(head) {
        tracing::debug!(target: "gyre::proxy", %error, "client gone before the response head");
        if let Some(control) = body.control() {
            control.abandon();
        }
        return;
    }
    if let Err(failure) = reply.register_producer(Producer::Push(Rc::new(BodyProducer(body.clone())))) {
        tracing::debug!(target: "gyre::proxy", %failure, "could not register the response body producer");
    }
    let control = Rc::downgrade(&body);
    body.stream(move |event| match event {
        BodyEvent::Data(data) => {
            if reply.write(data).is_err()
                && let Some(body) = control.upgrade()
                && let Some(control) = body.control()
            {
                control.abandon();
            }
        }
        BodyEvent::End(_) => {
            reply.unregister_producer();
            if let Err(error) = reply.finish() {
                tracing::debug!(target: "gyre::proxy", %error, "could not finish the response");
            }
        }
        BodyEvent::Failed(failure) => {
            // A head promising a body was sent: finishing short would pass
            // a truncated body for a whole one, so the client is cut off.
            tracing::debug!(target: "gyre::proxy", %failure, "upstream failed mid-body; aborting the client");
            reply.unregister_producer();
            reply.abort();
        }
    });
}

/// The status for an upstream that failed before its head: `504` for a
/// timeout, `502` for anything else (refused, reset, protocol error).
pub fn failure_status(failure: &Failure) -> StatusCode {
    match failure.downcast_ref::<ClientError>() {
        Some(ClientError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

fn answer_failure(reply: &Reply, failure: &Failure) {
    let status = failure_status(failure);
    tracing::info!(target: "gyre::proxy", %failure, status = status.as_u16(), "upstream failed");
    if reply.is_head_sent() {
        reply.abort();
        return;
    }
    let text = format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let _ = reply.send(status, "text/plain; charset=utf-8", text.as_bytes());
}
