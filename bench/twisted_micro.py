"""The gyre micro workloads in Python Twisted, for bench/harness.py (workload 7).

Prints one line per workload: `name nanoseconds_per_operation`, measured the
same way as bench/src/bin/gyre-micro.rs (calibrated batches, median).
"""
import os
import statistics
import time

from twisted.internet.defer import Deferred


def create_and_fire_three_callbacks():
    d = Deferred()
    d.addCallback(lambda v: v + 1)
    d.addCallback(lambda v: v * 2)
    d.addCallback(lambda v: v + 3)
    d.callback(1)
    out = []
    d.addCallback(out.append)
    assert out == [7]


def callback_chain(links=1000):
    d = Deferred()
    for _ in range(links):
        d.addCallback(lambda v: v + 1)
    d.callback(0)
    out = []
    d.addCallback(out.append)
    assert out == [links]


def nested_chain(links=1000):
    innermost = Deferred()
    current = innermost
    for _ in range(links):
        outer = Deferred()
        inner = current

        def wait(_, inner=inner):
            inner.addCallback(lambda v: v + 1)
            return inner

        outer.addCallback(wait)
        outer.callback(None)
        current = outer
    innermost.callback(0)
    out = []
    current.addCallback(out.append)
    assert out == [links], out


def schedule_and_cancel_timers(count=100_000):
    # The real reactor's timer heap (task.Clock re-sorts a list on every
    # callLater, which would be an unfair comparison). It is never run; one
    # runUntilCurrent() per batch does the clean-up a reactor turn would do.
    from twisted.internet import reactor

    calls = [reactor.callLater((i % 1000) / 1000 + 0.001, lambda: None) for i in range(count)]
    for call in calls:
        call.cancel()
    reactor.runUntilCurrent()


def time_per_op(budget, op):
    batch = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(batch):
            op()
        if time.perf_counter_ns() - start >= budget / 10 * 1e9 or batch >= 1 << 30:
            break
        batch *= 2
    samples = []
    deadline = time.perf_counter() + budget
    while len(samples) < 5 or time.perf_counter() < deadline:
        start = time.perf_counter_ns()
        for _ in range(batch):
            op()
        samples.append((time.perf_counter_ns() - start) / batch)
        if len(samples) >= 50:
            break
    return statistics.median(samples)


def main():
    budget = int(os.environ.get("GYRE_MICRO_MS", "500")) / 1000
    for name, op in [
        ("deferred_create_fire_3_callbacks", create_and_fire_three_callbacks),
        ("deferred_1000_callbacks", callback_chain),
        ("deferred_1000_nested", nested_chain),
        ("timers_call_later_cancel_100k", schedule_and_cancel_timers),
    ]:
        print(f"{name} {time_per_op(budget, op):.1f}")


if __name__ == "__main__":
    main()
