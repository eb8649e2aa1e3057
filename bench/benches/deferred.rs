//! Micro benchmarks of Deferred and timers (issue: foundation).
//! Run: `cargo bench -p gyre-bench --bench deferred`.

use divan::black_box;
use gyre_bench::{callback_chain, create_and_fire_three_callbacks, nested_chain, schedule_and_cancel_timers};
use gyre_testing::ManualClock;

fn main() {
    divan::main();
}

#[divan::bench]
fn deferred_create_fire_3_callbacks() -> u64 {
    create_and_fire_three_callbacks(black_box(1))
}

#[divan::bench]
fn deferred_1000_callbacks() -> u64 {
    callback_chain(black_box(1000))
}

#[divan::bench]
fn deferred_1000_nested() -> u64 {
    nested_chain(black_box(1000))
}

#[divan::bench(sample_count = 20)]
fn timers_call_later_cancel_100k(bencher: divan::Bencher<'_, '_>) {
    let clock = ManualClock::new();
    bencher.bench_local(|| schedule_and_cancel_timers(&clock, black_box(100_000)));
}
