"""gyre against its peers, measured in one run: the driver behind bench/run.sh.

Each workload starts its servers (pinned to CPU 1), then runs the load
generator (pinned to CPU 0) against them in interleaved rounds (A B C A B C
...). A run yields named figures; report.py turns the rounds into medians,
paired ratios and a noisy flag, and writes the table and the chart.
Efficiency figures divide by the server's own CPU time (utime + stime from
/proc/PID/stat over the measured interval): on a 2-core machine the load
generator saturates first, so operations per server CPU-second is the fair
comparison.
"""
import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import servers  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROFILES = {
    # rounds, seconds per timed run, echo warm-up ms, bulk bytes, TLS bulk bytes,
    # idle connections, micro ms per workload
    "full": dict(rounds=5, seconds=3, warmup=500, bulk=1 << 30, tls_bulk=256 << 20, idle=10_000,
                 micro=500),
    "quick": dict(rounds=3, seconds=1, warmup=200, bulk=128 << 20, tls_bulk=32 << 20, idle=2_000,
                  micro=80),
    "smoke": dict(rounds=1, seconds=1, warmup=100, bulk=8 << 20, tls_bulk=2 << 20, idle=100,
                  micro=20),
}


def load(layout, *args):
    """Runs gyre-load on CPU 0 and returns its figures."""
    argv = ["taskset", "-c", servers.LOAD_CPU, f"{layout.gyre}/gyre-load", *map(str, args)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=300).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines())}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(server, path, seconds, close=False, connections=50):
    """wrk on CPU 0 for `seconds`; server CPU time read around it."""
    argv = ["taskset", "-c", servers.LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if close:
        argv += ["-H", "Connection: close"]
    before = cpu_seconds(server.pid)
    out = subprocess.run(argv + [f"http://{server.addr}{path}"], check=True,
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    cpu = cpu_seconds(server.pid) - before
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{server.name}: {errors.group(1)} error responses\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    units = {"us": 1, "ms": 1e3, "s": 1e6}
    lat = {p: float(v) * units[u] for p, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)", out)}
    return {"rate": rate, "per_cpu": total / cpu if cpu > 0 else 0.0,
            "p50_us": lat.get("50", 0.0), "p99_us": lat.get("99", 0.0)}


def progress(workload):
    print(f"[{time.strftime('%H:%M:%S')}] {workload}", file=sys.stderr, flush=True)


def interleave(rounds, names, start, measure, restart=False):
    """Runs measure(server) for each name, round after round (A B A B ...).
    Servers stay up across rounds unless `restart` (memory figures)."""
    results = {name: [] for name in names}
    running = {} if restart else {name: start(name) for name in names}
    try:
        for _ in range(rounds):
            for name in names:
                server = start(name) if restart else running[name]
                try:
                    results[name].append(measure(server))
                finally:
                    if restart:
                        server.stop()
    finally:
        for server in running.values():
            server.stop()
    return results


def echo_figures(r):
    return {"rate": r["ops"] / r["seconds"], "per_cpu": r["ops"] / max(r["server_cpu_s"], 0.01),
            "p50_us": r["p50_us"], "p99_us": r["p99_us"]}


def bulk_figures(r):
    return {"gbps": r["bytes"] / r["seconds"] / 1e9,
            "per_cpu": r["bytes"] / max(r["server_cpu_s"], 0.01) / 1e9}


def run_workloads(layout, p, names, only):
    """Every workload; returns {workload: {server: [figures per round]}}."""
    out = {}
    sec, rounds = p["seconds"], p["rounds"]
    want = lambda w: only is None or any(w.startswith(o) for o in only)
    pick = lambda family: [n for n in names[family] if n in names["enabled"]]
    echo = lambda name: layout.start("echo", name)
    for conns in (1, 50, 1000):
        if want(f"echo-{conns}"):
            progress(f"echo, {conns} connections")
            def measure(s, conns=conns):
                # Warm-up covers connection setup; no warm-up needed past it.
                for _ in range(3):
                    try:
                        return echo_figures(load(layout, "echo", "--addr", s.addr, "--connections",
                                                 conns, "--warmup-ms", p["warmup"], "--duration-ms",
                                                 sec * 1000, "--pid", s.pid))
                    except subprocess.CalledProcessError:
                        time.sleep(0.5)  # a refused burst of connects; try again
                raise RuntimeError(f"{s.name}: echo with {conns} connections failed")
            out[f"echo-{conns}"] = interleave(rounds, pick("echo"), echo, measure)
    if want("bulk"):
        progress("bulk")
        out["bulk"] = interleave(rounds, pick("echo"), echo, lambda s: bulk_figures(
            load(layout, "bulk", "--addr", s.addr, "--bytes", p["bulk"], "--pid", s.pid)))
    for close in (False, True):
        key = "http-close" if close else "http-keepalive"
        if want(key):
            progress(key)

            def hello(name):
                server = layout.start("hello", name)
                wrk(server, "/", 1, close)  # warm-up
                return server
            out[key] = interleave(rounds, pick("hello"), hello,
                                  lambda s, c=close: wrk(s, "/", sec, c))
    for size in ("4k", "1m"):
        if want(f"static-{size}"):
            progress(f"static {size}")
            path = f"/{size}.bin"
            out[f"static-{size}"] = interleave(rounds, pick("static"),
                                               lambda n: layout.start("static", n),
                                               lambda s, path=path: wrk(s, path, sec))
    if want("idle"):
        progress("idle connections")
        out["idle"] = interleave(rounds, pick("echo"), echo, lambda s: {
            "rss_per_conn": load(layout, "idle", "--addr", s.addr, "--connections", p["idle"],
                                 "--pid", s.pid)["rss_per_conn_bytes"]}, restart=True)
    if want("tls"):
        progress("TLS")
        layout.make_certificates()
        tls = lambda name: layout.start("tls", name)
        ca = ["--ca", layout.ca, "--name", "localhost"]

        def handshake(s):
            r = load(layout, "tls-handshake", "--addr", s.addr, *ca, "--threads", 2,
                     "--duration-ms", sec * 1000, "--pid", s.pid)
            return {"rate": r["ops"] / r["seconds"], "per_cpu": r["ops"] / max(r["server_cpu_s"], 0.01)}
        out["tls-handshake"] = interleave(rounds, pick("tls"), tls, handshake)
        out["tls-bulk"] = interleave(rounds, pick("tls"), tls, lambda s: bulk_figures(
            load(layout, "tls-bulk", "--addr", s.addr, *ca, "--bytes", p["tls_bulk"], "--pid", s.pid)))
    if want("micro"):
        progress("micro (Deferreds, timers)")
        out["micro"] = micro(layout, p, "Twisted" in names["enabled"])
    return out


def micro(layout, p, with_twisted):
    """gyre-micro and bench/twisted_micro.py, interleaved; ns per operation."""
    env = dict(os.environ, GYRE_MICRO_MS=str(p["micro"]))
    parse = lambda text: {k: float(v) for k, v in (line.split() for line in text.splitlines())}
    runs = {"gyre": [], "Twisted": []}
    for _ in range(p["rounds"]):
        runs["gyre"].append(parse(subprocess.run(
            ["taskset", "-c", servers.SERVER_CPU, f"{layout.gyre}/gyre-micro"], env=env, check=True,
            capture_output=True, text=True).stdout))
        if with_twisted:
            runs["Twisted"].append(parse(subprocess.run(
                ["taskset", "-c", servers.SERVER_CPU, layout.python, f"{ROOT}/bench/twisted_micro.py"], env=env,
                check=True, capture_output=True, text=True).stdout))
    return {k: v for k, v in runs.items() if v}


def machine_state():
    """Load average, time, and the machine's busy CPU-seconds so far."""
    with open("/proc/loadavg") as f:
        load1 = float(f.read().split()[0])
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    own = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    return {"loadavg1": load1, "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "busy_s": busy / os.sysconf("SC_CLK_TCK"),
            "own_s": own.ru_utime + own.ru_stime + me.ru_utime + me.ru_stime}


def others_share(before, after, elapsed):
    """The share of the machine's CPU that processes other than this run
    (servers, load generators and the harness are all its children) used."""
    others = (after["busy_s"] - before["busy_s"]) - (after["own_s"] - before["own_s"])
    return max(0.0, others / (elapsed * (os.cpu_count() or 1)))


def versions(layout, gyre_only):
    """The peers' versions, for the record under the table."""
    if gyre_only:
        return ""
    found = []
    with open(os.path.join(ROOT, "bench", "peers", "Cargo.lock")) as f:
        lock = f.read()
    for crate in ("tokio", "hyper", "tokio-rustls", "rustls", "mio"):
        match = re.search(rf'name = "{crate}"\nversion = "([^"]+)"', lock)
        if match:
            found.append(f"{crate} {match.group(1)}")
    twisted = subprocess.run([layout.python, "-c", "import twisted; print(twisted.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    found += [f"Twisted {twisted}", nginx.split(": ")[-1].replace("/", " "), "wrk 4 (Debian)"]
    return ", ".join(found)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="full")
    parser.add_argument("--build", default="release", help="target/ subdirectory of gyre's binaries")
    parser.add_argument("--gyre-only", action="store_true", help="no peers (the smoke test)")
    parser.add_argument("--only", nargs="*", help="workload name prefixes to run")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions")
    parser.add_argument("--out", help="directory for latest.md / latest.svg / latest.json")
    parser.add_argument("--render", metavar="JSON", help="only redraw the table and chart of a saved run")
    args = parser.parse_args()
    out = args.out or os.path.join(ROOT, "bench", "results")
    if args.render:
        with open(args.render) as f:
            saved = json.load(f)
        return write(out, saved["results"], saved["callgrind"], saved["meta"])
    p = PROFILES[args.profile]
    # Measure what production runs: with RUST_BACKTRACE=1 every gyre Failure
    # (one per closed connection) captures a backtrace, ~50,000 instructions.
    for name in ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE"):
        os.environ.pop(name, None)
    # Each side of the idle workload holds one descriptor per connection.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = p["idle"] + 1000
    if hard != resource.RLIM_INFINITY and hard < want:
        sys.exit(f"the idle workload needs {want} file descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, 4096) if hard == resource.RLIM_INFINITY
                                                else min(max(want, 4096), hard), hard))
    names = {
        "echo": ["gyre", "mio", "tokio", "Twisted"],
        "hello": ["gyre", "hyper", "nginx", "Twisted"],
        "static": ["gyre", "nginx", "Twisted"],
        "tls": ["gyre", "tokio-rustls"],
        "enabled": {"gyre"} if args.gyre_only else
        {"gyre", "mio", "tokio", "hyper", "nginx", "Twisted", "tokio-rustls"},
    }
    with tempfile.TemporaryDirectory(prefix="gyre-bench-") as tmp:
        layout = servers.Layout(ROOT, args.build, tmp)
        before = machine_state()
        started = time.monotonic()
        results = run_workloads(layout, p, names, args.only)
        counts = None
        if args.callgrind:
            import callgrind
            counts = callgrind.run(layout, args.profile, args.gyre_only)
        after = machine_state()
    elapsed = time.monotonic() - started
    meta = {"others_share": others_share(before, after, elapsed), "profile": args.profile,
            "rounds": p["rounds"], "seconds": p["seconds"], "versions": versions(layout, args.gyre_only),
            "before": before, "after": after, "elapsed_s": round(elapsed),
            "host": f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
            "idle_conns": p["idle"], "bulk": p["bulk"], "tls_bulk": p["tls_bulk"]}
    write(out, results, counts, meta)


def write(out, results, counts, meta):
    """Prints the table and writes latest.md, latest.svg and latest.json."""
    text = report.markdown(results, counts, meta)
    print(text)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "latest.svg"), "w") as f:
        f.write(report.svg(results, meta))
    with open(os.path.join(out, "latest.json"), "w") as f:
        json.dump({"meta": meta, "results": results, "callgrind": counts}, f, indent=1)
    print(f"written to {out}/latest.md and latest.svg")


if __name__ == "__main__":
    main()
