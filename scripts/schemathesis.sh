#!/usr/bin/env bash
# Schemathesis (from PyPI) against Vigil's own OpenAPI document: no 5xx, and every status code,
# content type and body conforms to the document, over a bounded number of generated cases per
# operation. Ingest operations run with an ingest key, read operations with a read key.
# Usage: scripts/schemathesis.sh [cases per operation]   (make test: 25; by hand: 500)
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-25}"
st="$HOME/.cache/vigil/schemathesis/bin/schemathesis"
vigil=target/debug/vigil
data=target/schemathesis-data
port="${VIGIL_SCHEMATHESIS_PORT:-3419}"

rm -rf "$data"
ingest_key=$("$vigil" keys create --name schemathesis --data-dir "$data")
read_key=$("$vigil" keys create --name schemathesis-read --read --data-dir "$data")
"$vigil" serve --addr "127.0.0.1:$port" --data-dir "$data" --verify-every-minutes 0 \
  >target/schemathesis-serve.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done

schema="http://127.0.0.1:$port/api/v1/openapi.json"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
run() {
  "$st" run "$schema" --checks "$checks" --max-examples "$cases" --seed 1 --no-color \
    --generation-database none --workers 2 "$@"
}
run --include-method POST --header "Authorization: Bearer $ingest_key"
# The stream is a WebSocket upgrade, which Schemathesis does not speak.
run --include-method GET --exclude-path /api/v1/stream --header "Authorization: Bearer $read_key"
