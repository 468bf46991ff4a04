#!/usr/bin/env bash
# Installs what Vigil's build and tests need, skipping whatever is already present at the right
# version. Usage: scripts/setup.sh run|test
#   run : wasm target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock, binaryen (npm),
#         PostgreSQL
#   test: all of the above, plus Debian's Chromium and the Playwright package for end2end/, and
#         Schemathesis (PyPI, in a venv of its own) for scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
# Several times faster than the default fat LTO on two cores; these tools do not need it.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1; fi
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (a few minutes)"
  cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked
fi

# cargo-leptos needs the CLI at exactly the library version Cargo.lock pins.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen_version\$"; then
  say "installing wasm-bindgen-cli $bindgen_version"
  cargo install "wasm-bindgen-cli@$bindgen_version"
fi

# wasm-opt for release builds: binaryen from the npm registry (a wasm build of binaryen, run by
# node). Debian's binaryen 108 is too old for rustc's reference-types output: the module it
# writes fails at start-up in the browser. The Makefile puts this directory first on PATH.
BINARYEN_VERSION=132.0.0
BINARYEN_DIR="$HOME/.cache/vigil/binaryen"
command -v npm >/dev/null || apt_install nodejs npm
if ! "$BINARYEN_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
  say "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm"
  mkdir -p "$BINARYEN_DIR"
  npm install --prefix "$BINARYEN_DIR" --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >/dev/null
fi

# The embedded database runs the system's PostgreSQL server binaries.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi

if [ "$mode" = test ]; then
  [ -x /usr/bin/chromium ] || apt_install chromium
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules ]; then
    say "installing the Playwright package (no browser download: tests use /usr/bin/chromium)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
  SCHEMATHESIS_VERSION=4.32.5
  ST_DIR="$HOME/.cache/vigil/schemathesis"
  if [ "$("$ST_DIR/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    say "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $ST_DIR"
    python3 -m venv "$ST_DIR"
    "$ST_DIR/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  # The Python client's checks (scripts/python-client.sh): pinned tools, and clients/python
  # itself, editable, so the tests import this checkout's code. Reinstalled when a pin, the
  # package's pyproject.toml or the checkout's path changes.
  PY_CLIENT_PINS=(httpx==0.28.1 pytest==9.2.0 pytest-asyncio==1.5.0 ruff==0.17.5 mypy==2.4.1 hatchling==1.33.0)
  PY_CLIENT_DIR="$HOME/.cache/vigil/python-client"
  py_client_stamp="$PWD/clients/python $(sha256sum clients/python/pyproject.toml | cut -d' ' -f1)"
  py_client_ready() {
    [ "$(cat "$PY_CLIENT_DIR/installed" 2>/dev/null)" = "$py_client_stamp" ] &&
      "$PY_CLIENT_DIR/bin/python" - "$PWD/clients/python/src/" "${PY_CLIENT_PINS[@]}" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version

import vigil_audit

src, pins = sys.argv[1], sys.argv[2:]
exact = all(version(name) == wanted for name, wanted in (p.split("==") for p in pins))
sys.exit(0 if exact and vigil_audit.__file__.startswith(src) else 1)
EOF
  }
  if ! py_client_ready; then
    say "installing the Python client and its test tools from PyPI into $PY_CLIENT_DIR"
    python3 -m venv "$PY_CLIENT_DIR"
    "$PY_CLIENT_DIR/bin/pip" install --quiet "${PY_CLIENT_PINS[@]}" -e clients/python
    printf '%s\n' "$py_client_stamp" >"$PY_CLIENT_DIR/installed"
  fi
fi
say "tools ready"
