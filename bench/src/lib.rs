//! gyre's benchmarks.
//!
//! `cargo bench -p gyre-bench` runs the divan micro benchmarks in
//! `benches/`. The workloads here are shared between the divan benches and
//! the comparison with Python Twisted (`bench/twisted_micro.py`), so both
//! sides measure the same operations.
//!
//! [`load`] is the load generator of the harness against peers
//! (`bench/run.sh`, binary `gyre-load`).

pub mod load;

use std::time::Duration;

use gyre_core::clock::ClockExt;
use gyre_core::deferred::Deferred;
use gyre_testing::ManualClock;

/// Creates a Deferred, adds three callbacks and fires it; returns the result.
pub fn create_and_fire_three_callbacks(value: u64) -> u64 {
    let (deferred, resolver) = Deferred::<u64>::new();
    let deferred = deferred.map(|v| v + 1).map(|v| v * 2).map(|v| v + 3);
    resolver.callback(value);
    take(deferred)
}

/// One Deferred with `links` callbacks, fired once.
pub fn callback_chain(links: usize) -> u64 {
    let (mut deferred, resolver) = Deferred::<u64>::new();
    for _ in 0..links {
        deferred = deferred.map(|v| v + 1);
    }
    resolver.callback(0);
    take(deferred)
}

/// `links` Deferreds, each waiting on the next (a callback returns the next
/// Deferred); the innermost is fired last, so the result travels outwards
/// through every link.
pub fn nested_chain(links: usize) -> u64 {
    let (innermost, resolver) = Deferred::<u64>::new();
    let mut current = innermost;
    for _ in 0..links {
        let (outer, outer_resolver) = Deferred::<()>::new();
        let inner = current;
        current = outer.and_then(move |()| inner.map(|v| v + 1));
        outer_resolver.callback(());
    }
    resolver.callback(0);
    take(current)
}

/// Schedules `count` calls on a manual clock at spread-out delays, then
/// cancels them all; returns how many were active before cancelling.
pub fn schedule_and_cancel_timers(clock: &ManualClock, count: usize) -> usize {
    let calls: Vec<_> = (0..count)
        .map(|i| clock.call_later(Duration::from_millis((i % 1000) as u64 + 1), || {}))
        .collect();
    let active = calls.iter().filter(|c| c.active()).count();
    for call in &calls {
        call.cancel();
    }
    active
}

fn take(deferred: Deferred<u64>) -> u64 {
    let slot = std::rc::Rc::new(std::cell::Cell::new(None));
    let out = slot.clone();
    drop(deferred.then(move |result| out.set(result.ok())));
    slot.get().expect("the benchmark Deferred fired synchronously")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_compute_what_they_claim() {
        assert_eq!(create_and_fire_three_callbacks(1), 7);
        assert_eq!(callback_chain(1000), 1000);
        assert_eq!(nested_chain(1000), 1000);
        let clock = ManualClock::new();
        assert_eq!(schedule_and_cancel_timers(&clock, 10_000), 10_000);
        assert!(clock.calls().is_empty());
    }
}
