#!/usr/bin/env bash
# The whole gyre test suite, in one command: `bash tools/test.sh`.
#
# On a fresh machine it first installs what the tests need (Debian packages
# and Python packages for the interop peers) when they are missing, then runs
# formatting and lint checks, every test (unit, scenario, property, doc tests)
# and the fuzz smoke runs. `.ci/run` calls exactly this.
#
# Environment:
#   GYRE_SKIP_INSTALL=1   do not install anything (fail later if a peer is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

# --- 1. Test prerequisites ---------------------------------------------------
# Third-party peers used by interop tests. Each protocol issue adds its peers
# here; a test that needs a peer runs only after this step installed it.
APT_PACKAGES=(socat netcat-openbsd python3 python3-venv iproute2 openssl curl systemd haproxy microsocks coreutils wget tinyproxy wrk g++)
# gyre-loops' host loops: GLib and GTK 4 headers for its `glib`/`gtk` features,
# Xvfb to run the GTK demo headless, ImageMagick to screenshot it.
APT_PACKAGES+=(pkg-config libglib2.0-dev libgtk-4-dev xvfb imagemagick)
PIP_PACKAGES=(twisted PySocks h11 websockets)
PY_VENV=.venv-peers

missing_apt() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$pkg"
  done
}

install_prerequisites() {
  if [ "${GYRE_SKIP_INSTALL:-0}" = 1 ]; then
    return
  fi
  if [ ${#APT_PACKAGES[@]} -gt 0 ]; then
    mapfile -t need < <(missing_apt)
    if [ ${#need[@]} -gt 0 ]; then
      say "installing Debian packages: ${need[*]}"
      local sudo=""
      [ "$(id -u)" = 0 ] || sudo=sudo
      $sudo apt-get update -q
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
    fi
  fi
  if [ ${#PIP_PACKAGES[@]} -gt 0 ]; then
    if [ ! -x "$PY_VENV/bin/python" ]; then
      say "creating $PY_VENV for Python peers"
      python3 -m venv "$PY_VENV"
    fi
    "$PY_VENV/bin/pip" install -q "${PIP_PACKAGES[@]}"
  fi
}

install_prerequisites

# --- 2. Static checks ---------------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "cargo doc (broken links and missing docs are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

# --- 3. Tests -----------------------------------------------------------------
# Interop tests run the example programs as separate processes; neither
# nextest nor `cargo test --tests` builds examples, so build them first.
say "building examples"
cargo build --workspace --examples --locked --quiet

say "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast --lib --bins --tests
fi

say "doc tests"
cargo test --workspace --doc --locked

# gyre-loops keeps every host loop behind a feature (none by default), so the
# steps above build it without GLib, GTK, tokio or calloop. This step turns
# them all on: lints, docs, and its tests (each host's scenarios, the GLib
# example, and the GTK 4 demo under Xvfb, whose screenshots land in
# target/tmp/gtk_web_status/).
say "gyre-loops with every host loop (glib, gtk, tokio, calloop)"
cargo clippy -p gyre-loops --all-targets --all-features --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc -p gyre-loops --all-features --no-deps --locked --quiet
cargo test -p gyre-loops --all-features --locked --no-fail-fast

# The cargo-fuzz targets live outside the workspace (fuzz/); running them
# needs cargo-fuzz, but compiling them keeps them in step with the parsers
# they drive. Their stable smoke versions ran with the tests above.
say "fuzz targets compile"
cargo check --manifest-path fuzz/Cargo.toml --bins --locked --quiet

# The benchmark harness against peers (bench/run.sh) runs every workload
# against gyre alone for a second or less, in the debug build the tests
# made, so the harness, the load generator and the servers it drives cannot
# rot. The peers it builds from crates.io (bench/peers: tokio, hyper,
# tokio-rustls, mio) are a separate cargo project, only type-checked here.
say "benchmark harness smoke run"
cargo check --manifest-path bench/peers/Cargo.toml --locked --quiet
bash bench/run.sh --smoke >/dev/null

say "all checks passed"
