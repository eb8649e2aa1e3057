//! `FileSender` on the in-memory doubles: one chunk per request from the
//! transport (backpressure), transforms, the last byte, empty files, read
//! errors and lost connections failing the Deferred and unregistering,
//! cancellation, and a whole file crossing a pump.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use gyre_core::errors::{Cancelled, ProducerAlreadyRegistered};
use gyre_core::producer::{Producer, PullProducer};
use gyre_core::{Protocol, Transport};
use gyre_protocols::framing::{DEFAULT_CHUNK_SIZE, FileSender, TransferInterrupted};
use gyre_testing::{StringTransport, assert_no_result, connect_pair, failure_result_of, success_result_of};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn one_chunk_per_request_until_the_end() {
    let file = pattern(DEFAULT_CHUNK_SIZE * 2 + 100);
    let string = StringTransport::new();
    let done = FileSender::new(io::Cursor::new(file.clone())).begin(&string.handle());
    assert_eq!(
        string.value().len(),
        DEFAULT_CHUNK_SIZE,
        "the first chunk, written on registration"
    );
    assert!(string.producer().is_some());
    assert_no_result(&done);
    let mut received = string.take(); // drained: asked for the second chunk
    assert_eq!(string.value().len(), DEFAULT_CHUNK_SIZE);
    received.extend(string.take());
    assert_eq!(string.value().len(), 100);
    assert_no_result(&done);
    received.extend(string.take()); // the next request finds the end
    assert_eq!(received, file);
    assert_eq!(success_result_of(done), file.last().copied());
    assert!(string.producer().is_none(), "unregistered when done");
}

#[test]
fn nothing_more_is_read_until_the_transport_asks() {
    struct Counting(Rc<RefCell<usize>>, io::Cursor<Vec<u8>>);
    impl Read for Counting {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.read(buf)?;
            *self.0.borrow_mut() += n;
            Ok(n)
        }
    }
    let read = Rc::new(RefCell::new(0));
    let string = StringTransport::new();
    let _done = FileSender::new(Counting(read.clone(), io::Cursor::new(pattern(10_000))))
        .with_chunk_size(1000)
        .begin(&string.handle());
    assert_eq!(*read.borrow(), 1000);
    // Writing more elsewhere, or time passing, asks nothing: only a drain does.
    string.handle().write(b"other");
    assert_eq!(*read.borrow(), 1000);
    string.clear();
    assert_eq!(*read.borrow(), 2000);
}

#[test]
fn a_transform_runs_on_every_chunk_and_empty_results_do_not_stall() {
    let string = StringTransport::new();
    let mut count = 0;
    let done = FileSender::new(io::Cursor::new(b"aaabbbcccddd".to_vec()))
        .with_chunk_size(3)
        .with_transform(move |chunk| {
            count += 1;
            if count % 2 == 0 {
                chunk.clear(); // dropped: the sender reads on rather than wait forever
            } else {
                chunk.make_ascii_uppercase();
                chunk.push(b'|');
            }
        })
        .begin(&string.handle());
    let mut sent = string.take();
    while string.producer().is_some() {
        sent.extend(string.take());
    }
    assert_eq!(sent, b"AAA|CCC|");
    assert_eq!(
        success_result_of(done),
        Some(b'|'),
        "the last byte after the transform"
    );
}

#[test]
fn an_empty_file_fires_with_no_last_byte() {
    let string = StringTransport::new();
    let done = FileSender::new(io::empty()).begin(&string.handle());
    assert_eq!(success_result_of(done), None);
    assert!(string.value().is_empty() && string.producer().is_none());
}

/// Reads `good` bytes, then fails.
struct Failing {
    good: usize,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.good);
        buf[..n].fill(b'x');
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn a_read_error_fails_the_deferred_and_unregisters() {
    let string = StringTransport::new();
    let done = FileSender::new(Failing { good: 10 })
        .with_chunk_size(10)
        .begin(&string.handle());
    assert_eq!(string.take(), [b'x'; 10]);
    let failure = failure_result_of(done);
    let error = failure.downcast_ref::<io::Error>().expect("the read error");
    assert_eq!(error.to_string(), "disk on fire");
    assert!(
        failure.to_string().contains("reading the file being sent"),
        "{failure}"
    );
    assert!(string.producer().is_none());
}

#[test]
fn a_connection_lost_mid_way_fails_with_transfer_interrupted() {
    let string = StringTransport::new();
    let done = FileSender::new(io::Cursor::new(pattern(5000)))
        .with_chunk_size(1000)
        .begin(&string.handle());
    string.clear();
    string.set_closed(); // the connection ends: the transport stops its producer
    let failure = failure_result_of(done);
    assert_eq!(
        failure.downcast_ref::<TransferInterrupted>().map(|e| e.sent),
        Some(2000)
    );
    assert!(string.producer().is_none());
}

#[test]
fn sending_on_a_closed_connection_or_beside_another_producer_fails() {
    let string = StringTransport::new();
    string.set_closed();
    let failure = failure_result_of(FileSender::new(io::Cursor::new(pattern(10))).begin(&string.handle()));
    assert!(failure.is::<TransferInterrupted>(), "{failure}");
    assert!(string.value().is_empty());

    struct Idle;
    impl PullProducer for Idle {
        fn resume_producing(&self) {}
        fn stop_producing(&self) {}
    }
    let busy = StringTransport::new();
    busy.handle()
        .register_producer(Producer::Pull(Rc::new(Idle)))
        .unwrap();
    let failure = failure_result_of(FileSender::new(io::Cursor::new(pattern(10))).begin(&busy.handle()));
    assert!(failure.is::<ProducerAlreadyRegistered>(), "{failure}");
    assert!(busy.value().is_empty(), "nothing sent");
}

#[test]
fn cancelling_stops_the_transfer_and_unregisters() {
    let string = StringTransport::new();
    let done = FileSender::new(io::Cursor::new(pattern(5000)))
        .with_chunk_size(1000)
        .begin(&string.handle());
    done.cancel();
    assert!(string.producer().is_none());
    string.clear();
    assert!(string.value().is_empty(), "nothing more is read or sent");
    assert!(failure_result_of(done).is::<Cancelled>());
}

#[test]
fn a_whole_file_crosses_a_pump_and_the_server_closes_when_done() {
    struct Serve(Vec<u8>);
    impl Protocol for Serve {
        fn connection_made(&mut self, transport: &Transport) {
            let closer = transport.clone();
            let done = FileSender::new(io::Cursor::new(std::mem::take(&mut self.0))).begin(transport);
            drop(done.map(move |_| closer.lose_connection()));
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    #[derive(Default)]
    struct Download(Vec<u8>);
    impl Protocol for Download {
        fn data_received(&mut self, _: &Transport, data: &[u8]) {
            self.0.extend_from_slice(data);
        }
    }
    let file = pattern(1_000_000);
    let mut pair = connect_pair(Serve(file.clone()), Download::default());
    pair.pump();
    assert!(!pair.is_connected());
    assert!(
        pair.client().0 == file,
        "got {} of {} bytes",
        pair.client().0.len(),
        file.len()
    );
}
