"""The harness's output: one markdown table of gyre against its peers,
the targets with their gaps, and an SVG chart of the headline ratios.

Ratios are "advantage" ratios: above 1 means gyre is better, whatever the
metric's direction (peer/gyre for latency, memory and ns/op; gyre/peer for
rates). Each is the median of the per-round ratios (round i of gyre against
round i of the peer, which ran right after it), so a slow patch on a busy
machine hits both sides of a pair. A series whose min-max spread exceeds
10 % of its minimum is marked noisy (†).
"""
import math
import statistics

HI, LO = True, False
PEER_COLUMNS = [("mio", ["mio"]), ("tokio / hyper / tokio-rustls", ["tokio", "hyper", "tokio-rustls"]),
                ("nginx", ["nginx"]), ("Twisted", ["Twisted"])]
CPU, RATE = ("per_cpu", HI), ("rate", HI)


def workloads(meta):
    gib = lambda n: f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n >> 20} MiB"
    echo = [("per_cpu", "msgs / server CPU-s", HI), ("rate", "msgs/s", HI),
            ("p50_us", "p50 µs", LO), ("p99_us", "p99 µs", LO)]
    http = [("per_cpu", "req / server CPU-s", HI), ("rate", "req/s", HI), ("p99_us", "p99 µs", LO)]
    static = [("per_cpu", "req / server CPU-s", HI), ("rate", "req/s", HI)]
    bulk = [("gbps", "GB/s", HI), ("per_cpu", "GB / server CPU-s", HI)]
    return [
        ("echo-1", "1 echo 64 B, 1 conn", echo),
        ("echo-50", "1 echo 64 B, 50 conns", echo),
        ("echo-1000", "1 echo 64 B, 1,000 conns", echo),
        ("bulk", f"2 bulk echo {gib(meta['bulk'])}, 1 conn", bulk),
        ("http-keepalive", "3 HTTP hello keep-alive, 50 conns", http),
        ("http-close", "3 HTTP hello `Connection: close`, 50 conns", http),
        ("static-4k", "4 static 4 KiB file, 50 conns", static),
        ("static-1m", "4 static 1 MiB file, 50 conns", static),
        ("idle", f"5 {meta['idle_conns']:,} idle conns", [("rss_per_conn", "server RSS B / conn", LO)]),
        ("tls-handshake", "6 TLS 1.3 full handshakes", [("per_cpu", "handshakes / server CPU-s", HI),
                                                        ("rate", "handshakes/s", HI)]),
        ("tls-bulk", f"6 TLS 1.3 bulk echo {gib(meta['tls_bulk'])}", bulk),
    ]


TARGETS = [
    # (workload, metric, peer, at least, text)
    ("echo-50", "per_cpu", "mio", 1.0, "echo 50 conns, msgs/CPU-s ≥ 1.0× raw mio"),
    ("echo-50", "per_cpu", "tokio", 1.05, "echo 50 conns, msgs/CPU-s ≥ 1.05× tokio"),
    ("echo-50", "p99_us", "tokio", 1.0, "echo 50 conns, p99 no worse than tokio"),
    ("echo-1000", "per_cpu", "mio", 1.0, "echo 1,000 conns, msgs/CPU-s ≥ 1.0× raw mio"),
    ("echo-1000", "per_cpu", "tokio", 1.05, "echo 1,000 conns, msgs/CPU-s ≥ 1.05× tokio"),
    ("echo-1000", "p99_us", "tokio", 1.0, "echo 1,000 conns, p99 no worse than tokio"),
    ("http-keepalive", "per_cpu", "nginx", 1.0, "HTTP keep-alive req/CPU-s ≥ 1.0× nginx"),
    ("http-keepalive", "per_cpu", "hyper", 1.15, "HTTP keep-alive req/CPU-s ≥ 1.15× hyper"),
    ("http-keepalive", "per_cpu", "Twisted", 6.0, "HTTP keep-alive req/CPU-s ≥ 6× Twisted"),
    ("http-close", "per_cpu", "nginx", 1.0, "HTTP close req/CPU-s ≥ 1.0× nginx"),
    ("static-4k", "per_cpu", "nginx", 0.9, "static 4 KiB req/CPU-s ≥ 0.9× nginx"),
    ("static-1m", "per_cpu", "nginx", 0.9, "static 1 MiB req/CPU-s ≥ 0.9× nginx"),
    ("idle", "rss_per_conn", None, 1024, "idle conns ≤ 1 KiB server RSS each"),
]


def fmt(v):
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def noisy(series):
    lo, hi = min(series), max(series)
    return lo > 0 and (hi - lo) / lo > 0.10


def compare(runs, server, metric, hi):
    """(median of gyre, median of peer, median paired advantage, noisy)."""
    g = [r[metric] for r in runs["gyre"]]
    p = [r[metric] for r in runs[server]]
    ratios = [(a / b if hi else b / a) for a, b in zip(g, p) if a > 0 and b > 0]
    ratio = statistics.median(ratios) if ratios else float("nan")
    return statistics.median(g), statistics.median(p), ratio, noisy(g) or noisy(p)


def micro_rows(runs):
    rows = []
    for name in runs["gyre"][0]:
        series = {s: [{"ns": r[name]} for r in rs] for s, rs in runs.items()}
        rows.append((f"7 micro `{name}`", "ns/op", series, "ns", LO))
    return rows


def all_rows(results, meta):
    rows = []
    for key, title, metrics in workloads(meta):
        if key in results:
            for metric, label, hi in metrics:
                rows.append((title, label, results[key], metric, hi))
    if "micro" in results:
        rows += micro_rows(results["micro"])
    return rows


def markdown(results, counts, meta):
    b, others = meta["before"], meta.get("others_share", 0.0)
    lines = [
        f"Measured {b['time']} on {meta['host']}, profile `{meta['profile']}`: "
        f"{meta['rounds']} interleaved rounds, {meta['seconds']} s per timed run, "
        f"{meta['elapsed_s']} s in all. Other processes used {others:.0%} of the machine's CPU "
        "meanwhile"
        + (" — **the machine was busy with other work: rates and latencies are noisy; "
           "per-server-CPU-second figures and instruction counts much less so**."
           if others > 0.10 else "."),
        "",
        f"Peers: {meta['versions']}." if meta.get("versions") else "",
        "",
        "Servers on CPU 1, load generator on CPU 0. Cells: median (advantage ratio, >1× = gyre "
        "better, the median of per-round paired ratios); † = min-max spread over the rounds "
        "above 10 %.",
        "",
        "| workload | metric | gyre | " + " | ".join(c for c, _ in PEER_COLUMNS) + " |",
        "|---|---|---:|" + "---:|" * len(PEER_COLUMNS),
    ]
    for title, label, runs, metric, hi in all_rows(results, meta):
        g = [r[metric] for r in runs["gyre"]]
        cells = [fmt(statistics.median(g)) + (" †" if noisy(g) else "")]
        for _, peers in PEER_COLUMNS:
            peer = next((p for p in peers if p in runs), None)
            if peer is None:
                cells.append("")
                continue
            _, pv, ratio, is_noisy = compare(runs, peer, metric, hi)
            cells.append(f"{fmt(pv)} ({ratio:.2f}×){' †' if is_noisy else ''}")
        lines.append(f"| {title} | {label} | " + " | ".join(cells) + " |")
    lines += ["", "### Targets", "", "| target | measured | met | gap |", "|---|---:|:---:|---|"]
    for target, measured, met, gap, _, _ in target_rows(results):
        lines.append(f"| {target} | {measured} | {'yes' if met else '**no**'} | {gap} |")
    if counts:
        lines += ["", "### Instructions per operation (callgrind, server process only)", "",
                  counts["note"], "", "| workload | gyre | peers (advantage) |", "|---|---:|---|"]
        for workload, per_server in counts["rows"].items():
            g = per_server["gyre"]
            peers = ", ".join(f"{s} {v:,.0f} ({v / g:.2f}×)" for s, v in per_server.items()
                              if s != "gyre")
            lines.append(f"| {workload} | {g:,.0f} | {peers} |")
    return "\n".join(lines) + "\n"


def target_rows(results):
    """(text, measured, met, gap, ratio, goal) for each target whose workload
    ran; for the memory target the ratio is 1 KiB / measured, goal 1."""
    rows = []
    hi_of = {"per_cpu": HI, "p99_us": LO, "rss_per_conn": LO}
    for workload, metric, peer, goal, text in TARGETS:
        runs = results.get(workload)
        if not runs or (peer and peer not in runs):
            continue
        if peer is None:
            value = statistics.median(r[metric] for r in runs["gyre"])
            met = value <= goal
            gap = "" if met else f"{value - goal:,.0f} B over"
            rows.append((text, f"{value:,.0f} B", met, gap, goal / max(value, 1.0), 1.0))
            continue
        _, _, ratio, is_noisy = compare(runs, peer, metric, hi_of[metric])
        met = ratio >= goal
        gap = "" if met else f"{(goal / ratio - 1) * 100:.1f} % short"
        rows.append((text, f"{ratio:.3f}×{' †' if is_noisy else ''}", met, gap, ratio, goal))
    if "micro" in results and "Twisted" in results["micro"]:
        for name in results["micro"]["gyre"][0]:
            g = [r[name] for r in results["micro"]["gyre"]]
            t = [r[name] for r in results["micro"]["Twisted"]]
            ratio = statistics.median(b / a for a, b in zip(g, t))
            gap = "" if ratio >= 50 else f"needs {50 / ratio:.2f}× faster"
            rows.append((f"micro `{name}` ≥ 50× Twisted", f"{ratio:.0f}×", ratio >= 50, gap,
                         ratio, 50.0))
    return rows


def headline(results):
    """(label, ratio, goal) for the chart: every target."""
    return [(text, ratio, goal) for text, _, _, _, ratio, goal in target_rows(results)]


def svg(results, meta):
    """A horizontal bar chart, log scale, of each headline ratio with its target."""
    bars = headline(results)
    width, left, row = 900, 380, 26
    height = 60 + row * len(bars)
    lo, hi = 0.1, max([1000.0] + [r for _, r, _ in bars])
    x = lambda v: left + (width - left - 20) * (math.log10(max(v, lo)) - math.log10(lo)) / (
        math.log10(hi) - math.log10(lo))
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="18" font-size="14">gyre against its peers: advantage ratio (log scale, '
           f'&gt;1 = gyre better; | = target) — {esc(meta["before"]["time"])}</text>']
    for tick in (0.1, 0.5, 1, 2, 10, 50, 100, 1000):
        if tick <= hi:
            out.append(f'<line x1="{x(tick):.1f}" y1="28" x2="{x(tick):.1f}" y2="{height - 20}" '
                       f'stroke="#ddd"/><text x="{x(tick):.1f}" y="{height - 6}" '
                       f'text-anchor="middle">{tick:g}×</text>')
    for i, (label, ratio, goal) in enumerate(bars):
        y = 34 + i * row
        color = "#2a7" if ratio >= goal else "#d54"
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{esc(label)}</text>')
        out.append(f'<rect x="{x(lo):.1f}" y="{y + 3}" width="{x(ratio) - x(lo):.1f}" height="16" '
                   f'fill="{color}"/><text x="{x(ratio) + 4:.1f}" y="{y + 15}">{ratio:.2f}×</text>')
        out.append(f'<line x1="{x(goal):.1f}" y1="{y}" x2="{x(goal):.1f}" y2="{y + 22}" '
                   f'stroke="black" stroke-width="2"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
