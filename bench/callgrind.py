"""Instruction-count mode: each server runs under `valgrind --tool=callgrind`
and serves a fixed number of requests, twice (N1 and N2); the instructions
per operation are (Ir(N2) - Ir(N1)) / (N2 - N1), so start-up and shutdown
cancel out. Counts do not depend on the machine's load, which makes them
the figure to compare before and after a change to gyre's hot path.
Python Twisted is left out: its counts measure the interpreter.
"""
import os
import re
import subprocess

import harness

COUNTS = {"quick": (2_000, 12_000), "full": (10_000, 60_000), "smoke": (200, 1_200)}

WORKLOADS = [
    # (label, server family, servers, gyre-load arguments)
    ("echo 64 B, 50 conns (per message)", "echo", ["gyre", "mio", "tokio"],
     ["echo", "--connections", "50", "--size", "64"]),
    ("HTTP hello keep-alive, 50 conns (per request)", "hello", ["gyre", "hyper", "nginx"],
     ["http", "--connections", "50"]),
    ("HTTP hello `Connection: close` (per request)", "hello", ["gyre", "hyper", "nginx"],
     ["http", "--connections", "50", "--close"]),
    ("static 4 KiB file, 50 conns (per request)", "static", ["gyre", "nginx"],
     ["http", "--connections", "50", "--path", "/4k.bin"]),
]


def instructions(layout, family, name, load_args, count, tag):
    out = os.path.join(layout.tmp, f"callgrind.{tag}.{count}.out")
    wrap = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    server = layout.start(family, name, wrap=wrap)
    try:
        harness.load(layout, *load_args, "--addr", server.addr, "--count", count)
    finally:
        server.stop()
    with open(out) as f:
        text = f.read()
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if not match:
        raise RuntimeError(f"no instruction total in {out}")
    return int(match.group(1))


def run(layout, profile, gyre_only):
    n1, n2 = COUNTS[profile]
    rows = {}
    for label, family, names, load_args in WORKLOADS:
        per_server = {}
        for name in names:
            if gyre_only and name != "gyre":
                continue
            tag = f"{family}-{name}-{len(rows)}"
            i1 = instructions(layout, family, name, load_args, n1, tag)
            i2 = instructions(layout, family, name, load_args, n2, tag)
            per_server[name] = (i2 - i1) / (n2 - n1)
        rows[label] = per_server
        print(f"callgrind {label}: " + ", ".join(f"{k} {v:,.0f}" for k, v in per_server.items()),
              flush=True)
    note = (f"Instructions (Ir) the server executed per operation: (Ir at {n2:,} - Ir at {n1:,}) / "
            f"{n2 - n1:,}. User space only (the kernel's share of each syscall is not counted). "
            "Ratio = peer / gyre, >1× = gyre executes fewer instructions.")
    return {"note": note, "rows": rows}
