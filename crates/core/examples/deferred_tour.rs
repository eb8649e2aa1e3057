//! A tour of Deferreds without a network: a "fetch" that completes later,
//! a chain that changes types, a timeout, a retry, and a list of fetches.
//!
//! Run: `cargo run -p gyre-core --example deferred_tour`
//!
//! Time is a manual clock here, so the program runs instantly and its output
//! is the same every time; with a reactor the same code runs on real time.

use std::rc::Rc;
use std::time::Duration;

use gyre_core::deferred::{DeferredList, ListOutcome, defer_later, gather};
use gyre_core::errors::TimedOut;
use gyre_core::prelude::*;
use gyre_testing::ManualClock;

/// Pretends to fetch `url`, answering after `delay`.
fn fetch(clock: &ManualClock, url: &'static str, delay: Duration) -> Deferred<String> {
    defer_later(clock, delay, move || {
        if url.contains("missing") {
            Err(Failure::msg(format!("404 for {url}")))
        } else {
            Ok(format!("<title>{url}</title>"))
        }
    })
}

fn main() {
    let clock = Rc::new(ManualClock::new());

    // A chain that changes the value's type and recovers from one error type.
    let title_length = fetch(&clock, "gyre.example/docs", Duration::from_millis(20))
        .map(|page| page.len())
        .add_timeout(&*clock, Duration::from_secs(1))
        .or_else(|failure| {
            failure.trap::<TimedOut>()?;
            Ok(0)
        })
        .inspect(|result| println!("title length: {result:?}"));

    // Several fetches at once: all results, or the first failure.
    let pages = [
        fetch(&clock, "a.example", Duration::from_millis(5)),
        fetch(&clock, "b.example", Duration::from_millis(15)),
    ];
    let all = gather(pages).inspect(|result| println!("gathered: {result:?}"));

    let mixed = DeferredList::new([
        fetch(&clock, "c.example", Duration::from_millis(1)),
        fetch(&clock, "missing.example", Duration::from_millis(2)),
    ])
    .consume_errors()
    .into_deferred()
    .inspect(|result| {
        if let Ok(ListOutcome::All(results)) = result {
            for item in results {
                println!("list item: {item:?}");
            }
        }
    });

    // Step time forward; callbacks run as results arrive.
    for _ in 0..5 {
        clock.advance(Duration::from_millis(10));
    }
    assert!(title_length.has_result() && all.has_result() && mixed.has_result());
}
