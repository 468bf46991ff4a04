# Vigil: `make run` builds and serves the dashboard; `make test` runs every check CI runs.
# Both install whatever is missing first (scripts/setup.sh).

SHELL := /bin/bash
# wasm-opt from scripts/setup.sh comes first: the system's may be too old (see there).
export PATH := $(HOME)/.cache/vigil/binaryen/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test setup-run setup-test build-release lint unit faults schemathesis e2e

run: setup-run build-release
	./target/release/vigil serve

test: setup-test lint unit faults schemathesis python e2e

setup-run:
	scripts/setup.sh run

setup-test:
	scripts/setup.sh test

# --precompress writes brotli and gzip copies beside every asset; the server picks one by
# Accept-Encoding.
build-release:
	cargo leptos build --release --precompress

# Clippy per package: `app` must never be built with `ssr` and `hydrate` together.
lint:
	cargo fmt --all -- --check
	cargo clippy -p vigil-wire -p vigil-client -p vigil-server -p vigil-bench --all-targets -- -D warnings
	cargo clippy -p vigil-app --features ssr --all-targets -- -D warnings
	cargo clippy -p vigil-app --features hydrate --target wasm32-unknown-unknown -- -D warnings

unit:
	cargo test -p vigil-wire -p vigil-client
	cargo test -p vigil-app --features ssr
	cargo test -p vigil-server

# The fault drills at a small scale (full scale by hand: see docs/BENCHMARKS.md, "Proof under faults").
faults:
	cargo build -p vigil-server --bin vigil -p vigil-bench --bin faults
	target/debug/faults crash --kills 3 --events 300
	target/debug/faults db-restart --restarts 1 --events 300
	target/debug/faults postmaster-kill --kills 1 --events 300

# Schemathesis against /api/v1/openapi.json, 25 generated cases per operation.
schemathesis:
	cargo build -p vigil-server --bin vigil
	scripts/schemathesis.sh 25

# The Python client (clients/python): ruff, mypy --strict and pytest against a real vigil.
python:
	cargo build -p vigil-server --bin vigil
	scripts/python-client.sh

# Builds the site (wasm + server) and runs Playwright against a vigil it starts itself.
e2e:
	cargo leptos build
	cd end2end && npx playwright test
