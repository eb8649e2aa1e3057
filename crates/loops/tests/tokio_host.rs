//! The tokio host: a reactor driven by `gyre_loops::tokio::run` inside a
//! current-thread runtime and inside a multi-thread runtime (`block_on`
//! on the test thread) passes every scenario of `common`; values cross
//! both ways between Deferreds and tokio futures.

mod common;

use std::time::Duration;

use common::{Host, LIMIT};
use gyre_core::deferred::ListOutcome;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use tokio::runtime::{Builder, Runtime};

struct TokioHost {
    multi_thread: bool,
}

impl TokioHost {
    fn runtime(&self) -> Runtime {
        let mut builder = if self.multi_thread {
            let mut builder = Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        } else {
            Builder::new_current_thread()
        };
        builder.enable_all().build().unwrap()
    }
}

impl Host for TokioHost {
    fn run_until_reactor_stops(&self, reactor: &Reactor) {
        self.runtime().block_on(async {
            tokio::time::timeout(LIMIT, gyre_loops::tokio::run(reactor))
                .await
                .expect("the reactor did not stop within the limit")
                .unwrap();
        });
    }

    fn quit_host_after(&self, reactor: &Reactor, after: Duration) {
        self.runtime().block_on(async {
            tokio::select! {
                ended = gyre_loops::tokio::run(reactor) => panic!("the reactor stopped by itself: {ended:?}"),
                () = tokio::time::sleep(after) => {}
            }
            // The `run` future was dropped when `select!` returned.
        });
    }
}

const CURRENT: TokioHost = TokioHost { multi_thread: false };
const MULTI: TokioHost = TokioHost { multi_thread: true };

#[test]
fn echo_round_trip_over_real_sockets() {
    let _serial = common::serial();
    common::echo_round_trip(&CURRENT);
    common::echo_round_trip(&MULTI);
}

#[test]
fn a_thousand_timers_fire_in_order_and_on_time() {
    let _serial = common::serial();
    common::thousand_timers_in_order(&CURRENT, "tokio current-thread");
    common::thousand_timers_in_order(&MULTI, "tokio multi-thread");
}

#[test]
fn calls_from_another_thread_wake_the_driver() {
    let _serial = common::serial();
    common::calls_from_another_thread(&CURRENT, "tokio current-thread");
    common::calls_from_another_thread(&MULTI, "tokio multi-thread");
}

#[test]
fn reactor_stop_completes_the_driver() {
    let _serial = common::serial();
    common::reactor_stop_quits_the_host(&CURRENT);
    common::reactor_stop_quits_the_host(&MULTI);
}

#[test]
fn dropping_the_driver_stops_the_reactor() {
    let _serial = common::serial();
    common::host_quit_stops_the_reactor(&CURRENT);
    common::host_quit_stops_the_reactor(&MULTI);
}

#[test]
fn idle_cpu_stays_near_zero() {
    let _serial = common::serial();
    common::idle_cpu_stays_near_zero(&CURRENT, "tokio current-thread");
    common::idle_cpu_stays_near_zero(&MULTI, "tokio multi-thread");
}

/// tokio → gyre: a tokio TCP client (tokio's own sockets) talks to a gyre
/// echo server, and its result reaches the reactor as a Deferred; gyre →
/// tokio: a Deferred fired by a gyre timer is awaited by a `Send` task on a
/// worker thread. A failing future fails its Deferred; a cancelled
/// Deferred aborts its task.
#[test]
fn values_cross_between_deferreds_and_futures() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _serial = common::serial();
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            protocol_factory(|_| Echo),
            gyre_reactor::ListenOptions::default(),
        )
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    MULTI.runtime().block_on(async {
        let echoed = gyre_loops::tokio::deferred_from_future(&reactor, async move {
            let mut stream = tokio::net::TcpStream::connect(address).await?;
            stream.write_all(b"across").await?;
            let mut reply = [0; 6];
            stream.read_exact(&mut reply).await?;
            Ok::<_, std::io::Error>(reply)
        });
        let failing = gyre_loops::tokio::deferred_from_future(&reactor, async {
            Err::<(), _>(std::io::Error::other("tokio side failed"))
        });
        let (never_tx, never_rx) = tokio::sync::oneshot::channel::<()>();
        let cancelled = gyre_loops::tokio::deferred_from_future(&reactor, async move {
            let _keep = never_tx;
            std::future::pending::<Result<(), std::io::Error>>().await
        });
        cancelled.cancel();
        let timer = gyre_core::deferred::defer_later(&reactor, Duration::from_millis(20), || Ok(7u32));
        let awaited = tokio::spawn(gyre_loops::tokio::future_from_deferred(timer));
        let results = std::rc::Rc::new(std::cell::RefCell::new(None));
        let (r, stopper) = (results.clone(), reactor.clone());
        let both = gyre_core::deferred::DeferredList::new([
            echoed.map(|reply| reply == *b"across"),
            failing.map(|()| true),
        ])
        .consume_errors()
        .into_deferred();
        drop(both.map(move |outcome| {
            if let ListOutcome::All(results) = outcome {
                *r.borrow_mut() = Some(results);
            }
            // After the 20 ms timer below (timers fire in deadline order).
            let again = stopper.clone();
            stopper.call_later(Duration::from_millis(50), move || again.stop().unwrap());
        }));
        tokio::time::timeout(LIMIT, gyre_loops::tokio::run(&reactor))
            .await
            .unwrap()
            .unwrap();
        let outcomes = results.borrow_mut().take().expect("both Deferreds fired");
        assert!(
            matches!(outcomes[0], Ok(true)),
            "the echo through tokio's client: {:?}",
            outcomes[0]
        );
        let failure = outcomes[1].as_ref().unwrap_err();
        assert!(failure.to_string().contains("tokio side failed"), "{failure}");
        let awaited = tokio::time::timeout(LIMIT, awaited)
            .await
            .expect("the timer's value arrived");
        assert_eq!(awaited.unwrap().unwrap(), 7);
        // The cancelled Deferred aborted its task, which dropped its sender.
        assert!(tokio::time::timeout(LIMIT, never_rx).await.unwrap().is_err());
    });
    reactor.close();
}

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}
