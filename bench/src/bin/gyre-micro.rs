//! Times the Deferred and timer micro workloads and prints one line per
//! workload: `name nanoseconds_per_operation`. `bench/run.sh` (workload 7) runs this
//! interleaved with `bench/twisted_micro.py` (the same workloads in Python
//! Twisted) and prints the ratios.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gyre_bench::{callback_chain, create_and_fire_three_callbacks, nested_chain, schedule_and_cancel_timers};
use gyre_testing::ManualClock;

/// Runs `op` in batches for about `budget` and returns the median
/// nanoseconds per call over the batches.
fn time_per_op(budget: Duration, mut op: impl FnMut()) -> f64 {
    // Calibrate a batch size that takes ~1/10 of the budget.
    let mut batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            op();
        }
        if start.elapsed() >= budget / 10 || batch >= 1 << 30 {
            break;
        }
        batch *= 2;
    }
    let mut samples = Vec::new();
    let deadline = Instant::now() + budget;
    while samples.len() < 5 || Instant::now() < deadline {
        let start = Instant::now();
        for _ in 0..batch {
            op();
        }
        samples.push(start.elapsed().as_nanos() as f64 / batch as f64);
        if samples.len() >= 50 {
            break;
        }
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("GYRE_MICRO_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(500),
    );
    let clock = ManualClock::new();
    let rows: [(&str, f64); 4] = [
        (
            "deferred_create_fire_3_callbacks",
            time_per_op(budget, || {
                black_box(create_and_fire_three_callbacks(black_box(1)));
            }),
        ),
        (
            "deferred_1000_callbacks",
            time_per_op(budget, || {
                black_box(callback_chain(black_box(1000)));
            }),
        ),
        (
            "deferred_1000_nested",
            time_per_op(budget, || {
                black_box(nested_chain(black_box(1000)));
            }),
        ),
        (
            "timers_call_later_cancel_100k",
            time_per_op(budget, || {
                black_box(schedule_and_cancel_timers(&clock, black_box(100_000)));
            }),
        ),
    ];
    for (name, ns) in rows {
        println!("{name} {ns:.1}");
    }
}
