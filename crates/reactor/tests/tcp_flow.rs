//! Flow control over real TCP sockets: a peer that never reads pauses the
//! server's push producer and keeps its buffer bounded; a pull producer is
//! asked for one chunk per drain.

mod tcp_support;

use std::cell::{Cell, RefCell};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gyre_core::prelude::*;
use gyre_core::producer::{Producer, PullProducer, PushProducer, WaterMarks};
use gyre_reactor::{ConnectOptions, ListenOptions, Reactor};
use tcp_support::{Log, LoggingClient, Scripted, describe, ipv4, pattern, run_until};

const CHUNK: usize = 16 * 1024;

/// Writes `CHUNK`s for as long as it is not paused.
struct Chunker {
    transport: Transport,
    chunk: Vec<u8>,
    paused: Cell<bool>,
    stopped: Cell<bool>,
    pauses: Cell<usize>,
    written: Cell<usize>,
    most_buffered: Cell<usize>,
}

impl Chunker {
    fn produce(&self) {
        while !self.paused.get() && !self.stopped.get() && !self.transport.is_closed() {
            self.transport.write(&self.chunk);
            self.written.set(self.written.get() + self.chunk.len());
            self.most_buffered
                .set(self.most_buffered.get().max(self.transport.buffered_len()));
        }
    }
}

impl PushProducer for Chunker {
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }

    fn resume_producing(&self) {
        self.paused.set(false);
        self.produce();
    }

    fn stop_producing(&self) {
        self.stopped.set(true);
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    buffered: usize,
    written: usize,
    paused: bool,
}

#[test]
fn a_peer_that_never_reads_pauses_the_producer_and_bounds_the_buffer() {
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let producer: Rc<RefCell<Option<Rc<Chunker>>>> = Rc::default();
    let factory = {
        let (log, producer) = (log.clone(), producer.clone());
        protocol_factory(move |_| {
            let producer = producer.clone();
            Scripted::new("server", &log).on_made(move |t| {
                let chunker = Rc::new(Chunker {
                    transport: t.clone(),
                    chunk: pattern(CHUNK),
                    paused: Cell::new(false),
                    stopped: Cell::new(false),
                    pauses: Cell::new(0),
                    written: Cell::new(0),
                    most_buffered: Cell::new(0),
                });
                t.register_producer(Producer::Push(chunker.clone())).unwrap();
                chunker.produce();
                *producer.borrow_mut() = Some(chunker);
            })
        })
    };
    let port = reactor
        .listen_tcp_with(ipv4(), factory, ListenOptions::default())
        .unwrap();
    // The peer: a plain socket with a small receive buffer that is never read.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .connect(&port.host().socket_addr().unwrap().into())
        .unwrap();
    let peer: Rc<RefCell<Option<TcpStream>>> = Rc::new(RefCell::new(Some(socket.into())));

    // Sample the server every 20 ms for 1.5 s, then close the peer.
    let samples: Rc<RefCell<Vec<Sample>>> = Rc::default();
    let start = Instant::now();
    fn sample(
        reactor: &Reactor,
        start: Instant,
        producer: Rc<RefCell<Option<Rc<Chunker>>>>,
        samples: Rc<RefCell<Vec<Sample>>>,
        peer: Rc<RefCell<Option<TcpStream>>>,
    ) {
        let again = reactor.clone();
        drop(reactor.call_later(Duration::from_millis(20), move || {
            if let Some(chunker) = producer.borrow().as_ref() {
                samples.borrow_mut().push(Sample {
                    at: start.elapsed(),
                    buffered: chunker.transport.buffered_len(),
                    written: chunker.written.get(),
                    paused: chunker.paused.get(),
                });
            }
            if start.elapsed() < Duration::from_millis(1500) {
                sample(&again, start, producer, samples, peer);
            } else {
                // Closing with unread data makes the kernel send a reset.
                peer.borrow_mut().take();
            }
        }));
    }
    sample(&reactor, start, producer.clone(), samples.clone(), peer.clone());
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(20), &log, move || {
        done.count_prefix("server lost") > 0
    });

    let samples = samples.borrow();
    let chunker = producer.borrow().clone().expect("the server protocol ran");
    let high = WaterMarks::default().high;
    assert!(samples.len() > 40, "{} samples", samples.len());
    assert!(chunker.pauses.get() >= 1, "the producer was paused");
    assert!(
        chunker.written.get() > high,
        "it wrote more than the high-water mark before pausing"
    );
    for s in samples.iter() {
        assert!(
            s.buffered <= high + CHUNK,
            "buffer above the high-water mark plus one chunk: {s:?}"
        );
    }
    assert!(chunker.most_buffered.get() <= high + CHUNK);
    // Once the kernel's buffers are full nothing moves: the producer stays
    // paused and neither the buffer nor the total written grows.
    let settled: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= Duration::from_millis(800))
        .collect();
    eprintln!(
        "wrote {} bytes, paused {} times, {} bytes left buffered at the end",
        chunker.written.get(),
        chunker.pauses.get(),
        samples.last().unwrap().buffered
    );
    assert!(settled.len() > 10);
    for s in &settled {
        assert!(s.paused, "still paused: {s:?}");
        assert_eq!(
            s.written, settled[0].written,
            "nothing more was written: {settled:?}"
        );
        assert_eq!(
            s.buffered, settled[0].buffered,
            "the buffer did not grow: {settled:?}"
        );
    }
    // The peer's reset ends the connection once, as lost, and stops the producer.
    assert_eq!(log.events(), ["server made", "server lost: lost"]);
    assert!(chunker.stopped.get(), "stop_producing was called");
}

/// Sends `total` bytes in chunks, one chunk each time it is asked.
struct FileSender {
    transport: Transport,
    data: Vec<u8>,
    sent: Cell<usize>,
    asked: Cell<usize>,
}

impl PullProducer for FileSender {
    fn resume_producing(&self) {
        self.asked.set(self.asked.get() + 1);
        let sent = self.sent.get();
        // Each chunk is written while the buffer is empty.
        assert_eq!(
            self.transport.buffered_len(),
            0,
            "asked for more before the last chunk drained"
        );
        let end = (sent + 8192).min(self.data.len());
        self.transport.write(&self.data[sent..end]);
        self.sent.set(end);
        if end == self.data.len() {
            self.transport.unregister_producer();
            self.transport.lose_connection();
        }
    }

    fn stop_producing(&self) {}
}

#[test]
fn a_pull_producer_is_asked_for_one_chunk_per_drain() {
    const TOTAL: usize = 1024 * 1024 + 100;
    let reactor = Reactor::new().unwrap();
    let log = Log::new();
    let sender: Rc<RefCell<Option<Rc<FileSender>>>> = Rc::default();
    let factory = {
        let (log, sender) = (log.clone(), sender.clone());
        protocol_factory(move |_| {
            let sender = sender.clone();
            Scripted::new("server", &log).on_made(move |t| {
                let file = Rc::new(FileSender {
                    transport: t.clone(),
                    data: pattern(TOTAL),
                    sent: Cell::new(0),
                    asked: Cell::new(0),
                });
                *sender.borrow_mut() = Some(file.clone());
                t.register_producer(Producer::Pull(file)).unwrap();
            })
        })
    };
    let port = reactor
        .listen_tcp_with(ipv4(), factory, ListenOptions::default())
        .unwrap();
    let received = Rc::new(RefCell::new(Vec::new()));
    let client = LoggingClient::new("client", &log, {
        let (log, received) = (log.clone(), received.clone());
        move || Scripted::new("client", &log).into_buffer(&received)
    });
    let _connector = reactor.connect_tcp_with(
        port.host().socket_addr().unwrap(),
        client,
        ConnectOptions::default(),
    );
    let done = log.clone();
    run_until(&reactor, Duration::from_secs(20), &log, move || {
        done.has("client factory stopped") && done.has("server lost: done")
    });
    let received = received.borrow();
    assert!(*received == pattern(TOTAL), "got {}", describe(&received));
    let sender = sender.borrow().clone().unwrap();
    assert_eq!(sender.asked.get(), TOTAL.div_ceil(8192), "one request per chunk");
    assert_eq!(log.count("client lost: done"), 1);
}
