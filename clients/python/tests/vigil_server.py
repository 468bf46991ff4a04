"""A real `vigil serve` for the tests: its own embedded database in a fresh directory, an ingest
key and a read key made the way an operator makes them, and the read API to check what it
stored."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[3]
#: How long a fresh embedded cluster may take to come up (initdb, migrations) on a slow machine.
READY_TIMEOUT = 120.0
KEY_NAME = "python-client-tests"


@dataclass(frozen=True)
class VigilServer:
    url: str
    ingest_key: str
    read_key: str

    def events(self, **filters: str) -> list[dict[str, Any]]:
        """Stored events matching the read API's filters (`user=`, `type=`, `session=`…)."""
        response = httpx.get(
            f"{self.url}/api/v1/events",
            params={"limit": "500", **filters},
            headers={"authorization": f"Bearer {self.read_key}"},
        )
        response.raise_for_status()
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    def event(self, event_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/api/v1/events/{event_id}",
            headers={"authorization": f"Bearer {self.read_key}"},
        )
        response.raise_for_status()
        event: dict[str, Any] = response.json()
        return event


def vigil_binary() -> Path:
    binary = Path(os.environ.get("VIGIL_BIN", REPO / "target" / "debug" / "vigil"))
    if not binary.is_file():
        raise RuntimeError(
            f"no vigil binary at {binary}: run `cargo build -p vigil-server --bin vigil` "
            "(or `make python`) from the repository root, or set VIGIL_BIN"
        )
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _environment() -> dict[str, str]:
    # The caller's VIGIL_* or DATABASE_URL would point vigil at another database.
    return {
        k: v for k, v in os.environ.items() if not k.startswith("VIGIL_") and k != "DATABASE_URL"
    }


def _create_key(binary: Path, data_dir: Path, name: str, *extra: str) -> str:
    done = subprocess.run(
        [binary, "keys", "create", "--name", name, "--data-dir", data_dir, *extra],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=READY_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"vigil keys create failed: {done.stderr}")
    return done.stdout.strip()


def _wait_until_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"vigil serve exited ({server.returncode}):\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)  # the poll interval; readiness itself is the answer above
    raise RuntimeError(f"vigil serve not ready after {READY_TIMEOUT}s:\n{log.read_text()}")


@contextlib.contextmanager
def running_vigil() -> Iterator[VigilServer]:
    binary = vigil_binary()
    # Not pytest's tmp_path: its mode-700 parent keeps PostgreSQL's account (vigil runs it as
    # `postgres` when root) out, and vigil would then keep the cluster under /var/lib/vigil,
    # where deleting this directory would not remove it.
    workdir = Path(tempfile.mkdtemp(prefix="vigil-python-client-"))
    workdir.chmod(0o755)
    data_dir = workdir / "data"
    log = workdir / "serve.log"
    try:
        ingest_key = _create_key(binary, data_dir, KEY_NAME)
        read_key = _create_key(binary, data_dir, f"{KEY_NAME}-read", "--read")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        serve: list[str | Path] = [binary, "serve", "--addr", f"127.0.0.1:{port}"]
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*serve, "--data-dir", data_dir, "--verify-every-minutes", "0"],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=_environment(),
            )
        try:
            _wait_until_ready(url, server, log)
            yield VigilServer(url=url, ingest_key=ingest_key, read_key=read_key)
        finally:
            # SIGTERM: vigil stops its embedded PostgreSQL on the way out.
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
