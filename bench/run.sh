#!/usr/bin/env bash
# gyre against its peers, in one command:
#
#   bash bench/run.sh [--quick] [--callgrind] [--only WORKLOAD...]
#   bash bench/run.sh --smoke        (gyre only, debug build, a second a workload: the test command's check)
#
# Builds gyre and the load generator in release mode, builds the peers from
# crates.io (tokio, hyper, tokio-rustls, raw mio: bench/peers, a separate
# cargo project with its own lock file and target directory, so the
# workspace's builds and tests never compile them), installs Python Twisted
# from PyPI and nginx, wrk (and valgrind for --callgrind) from Debian when
# missing, then runs bench/harness.py: every workload, servers pinned to
# CPU 1 and the load generator to CPU 0, interleaved rounds. Prints one
# table and writes bench/results/latest.md and latest.svg.
#
# Environment: GYRE_SKIP_INSTALL=1 installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0

profile=full callgrind=() smoke=0 only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) profile=quick ;;
    --smoke) profile=smoke smoke=1 ;;
    --callgrind) callgrind=(--callgrind) ;;
    --only) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do only+=("$1"); shift; done; continue ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

need_apt=(wrk openssl util-linux)
[ "$smoke" = 1 ] || need_apt+=(nginx)
[ ${#callgrind[@]} = 0 ] || need_apt+=(valgrind)
if [ "${GYRE_SKIP_INSTALL:-0}" != 1 ]; then
  missing=()
  for pkg in "${need_apt[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  if [ "$smoke" = 0 ] && ! .venv-peers/bin/python -c 'import twisted' 2>/dev/null; then
    python3 -m venv .venv-peers
    .venv-peers/bin/pip install -q twisted
  fi
fi

gyre_targets=(-p gyre --bin gyre -p gyre-http --example http_hello -p gyre-tls --example tls_echo_server
              -p gyre-bench --bin gyre-load --bin gyre-micro)
if [ "$smoke" = 1 ]; then
  cargo build --locked -q "${gyre_targets[@]}"
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  python3 bench/harness.py --profile smoke --build debug --gyre-only --out "$out" ${only[@]+--only "${only[@]}"} "${callgrind[@]}"
  exit 0
fi
cargo build --release --locked -q "${gyre_targets[@]}"
cargo build --release --locked -q --manifest-path bench/peers/Cargo.toml
python3 bench/harness.py --profile "$profile" ${only[@]+--only "${only[@]}"} "${callgrind[@]}"
