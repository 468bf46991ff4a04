#!/usr/bin/env bash
# The dashboard's first load (bytes, time) for one vigil binary and site root, on a data
# directory of its own. Usage: bench/first_load.sh [BINARY] [SITE_ROOT] [RUNS]
# (defaults: target/release/vigil, target/site, 7). docs/BENCHMARKS.md has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-target/release/vigil}"
site="${2:-target/site}"
runs="${3:-7}"
data=$(mktemp -d /tmp/vigil-first-load.XXXXXX)
port=$((20000 + RANDOM % 20000))
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT
echo 'first-load-password' | "$binary" users create --username bench --data-dir "$data" >/dev/null 2>&1
"$binary" serve --addr "127.0.0.1:$port" --site-root "$site" --data-dir "$data" >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
node bench/first_load.mjs "http://127.0.0.1:$port" bench first-load-password "$runs"
