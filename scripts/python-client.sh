#!/usr/bin/env bash
# The Python client's checks (make python): ruff (lint and format), mypy --strict and pytest,
# from the venv scripts/setup.sh test makes. The tests start target/debug/vigil (make python
# builds it). Caches go under target/, so clients/python stays as checked in.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$HOME/.cache/vigil/python-client/bin"
if [ ! -x "$bin/pytest" ]; then
  echo "no venv in ${bin%/bin}: run scripts/setup.sh test" >&2
  exit 1
fi
cache="$PWD/target/python-client"
export VIGIL_BIN="$PWD/target/debug/vigil"
export PYTHONPYCACHEPREFIX="$cache/pycache" MYPY_CACHE_DIR="$cache/mypy" RUFF_CACHE_DIR="$cache/ruff"
cd clients/python
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/mypy" --strict src tests
"$bin/pytest" -q -o cache_dir="$cache/pytest"
# The wheel builds from the venv's pinned build backend alone (no index needed), typed.
rm -rf "$cache/wheel"
"$bin/pip" wheel --quiet --no-deps --no-build-isolation --wheel-dir "$cache/wheel" .
listing=$("$bin/python" -m zipfile -l "$cache/wheel"/vigil_audit-*.whl)
grep -q 'vigil_audit/py.typed' <<<"$listing"
echo "wheel: $(basename "$cache"/wheel/vigil_audit-*.whl), with py.typed"
