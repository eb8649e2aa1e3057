#!/usr/bin/env bash
# Deferred and timer micro benchmarks: gyre against Python Twisted, measured
# in the same run, interleaved (gyre, Twisted, gyre, Twisted, ...), reported
# as medians and the ratio Twisted/gyre (how many times faster gyre is).
#
# Usage: bash bench/micro.sh [ROUNDS]   (default 3 rounds; GYRE_MICRO_MS sets the time per workload)
# Installs Twisted from PyPI into bench/.venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
venv=bench/.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import twisted' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'twisted>=24'
fi
cargo build --release --locked -q -p gyre-bench --bin gyre-micro
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in $(seq "$rounds"); do
  target/release/gyre-micro >"$out/gyre.$round"
  "$venv/bin/python" bench/twisted_micro.py >"$out/twisted.$round"
done
twisted_version=$("$venv/bin/python" -c 'import twisted; print(twisted.__version__)')
python3 - "$out" "$rounds" "$twisted_version" <<'PY'
import statistics, sys
out, rounds, tv = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def load(name):
    runs = []
    for r in range(1, rounds + 1):
        with open(f"{out}/{name}.{r}") as f:
            runs.append({k: float(v) for k, v in (line.split() for line in f)})
    return runs
gyre, twisted = load("gyre"), load("twisted")
print(f"{'workload':36} {'gyre ns/op':>12} {'Twisted ' + tv + ' ns/op':>22} {'Twisted/gyre':>13}  note")
for name in gyre[0]:
    g = [run[name] for run in gyre]
    t = [run[name] for run in twisted]
    ratios = [tt / gg for gg, tt in zip(g, t)]
    noisy = any((max(x) - min(x)) / min(x) > 0.10 for x in (g, t))
    print(f"{name:36} {statistics.median(g):12.1f} {statistics.median(t):22.1f} "
          f"{statistics.median(ratios):12.1f}x  {'noisy (>10% spread)' if noisy else ''}")
PY
