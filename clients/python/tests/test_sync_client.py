"""The threaded client for WSGI code: delivers on flush and at interpreter exit, and a forked
child gets a fresh thread and queue of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from transports import Gate
from vigil_server import VigilServer

from vigil_audit import (
    EventInput,
    InvalidEventError,
    SyncAuditService,
    SyncVigilClient,
    UnavailableError,
    VigilError,
)

Heard = list[tuple[VigilError, list[EventInput]]]

SRC = Path(__file__).resolve().parents[1] / "src"


def run_script(vigil: VigilServer, tmp_path: Path, source: str, *args: str) -> str:
    script = tmp_path / "producer.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "VIGIL_URL": vigil.url, "VIGIL_KEY": vigil.ingest_key}
    # This checkout's code, as pytest imports it (pyproject's pythonpath).
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, script, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_flush_and_close(vigil: VigilServer, tag: str) -> None:
    with SyncVigilClient(vigil.url, vigil.ingest_key, flush_interval=60) as client:
        audit = SyncAuditService(client)
        for n in range(3):
            audit.log_login_failure(
                username=f"wsgi-{tag}", ip_address="192.0.2.8", reason=f"attempt {n}"
            )
        assert client.flush(timeout=30)
        assert len(vigil.events(user=f"wsgi-{tag}")) == 3
        audit.log_token_refresh(user_id=3, username=f"wsgi-{tag}", ip_address=None)
    # Leaving the block closed the client, which sent the last one.
    assert client.stats.delivered == 4
    assert len(vigil.events(user=f"wsgi-{tag}")) == 4


def test_a_full_queue_drops_and_counts(vigil: VigilServer, tag: str) -> None:
    client = SyncVigilClient(vigil.url, vigil.ingest_key, capacity=2, flush_interval=60)
    audit = SyncAuditService(client)
    for _ in range(5):
        audit.log_token_refresh(user_id=1, username=f"full-{tag}", ip_address=None)
    assert client.dropped == 3
    assert client.close(timeout=30)
    assert client.stats.delivered == 2
    assert len(vigil.events(user=f"full-{tag}")) == 2


def test_events_are_sent_at_exit(vigil: VigilServer, tmp_path: Path, tag: str) -> None:
    run_script(
        vigil,
        tmp_path,
        """
        import sys
        from vigil_audit import SyncAuditService, SyncVigilClient

        # A long interval: nothing would go out before exit but for the exit hook.
        audit = SyncAuditService(SyncVigilClient(flush_interval=600))
        for n in range(20):
            audit.log_login_failure(
                username=sys.argv[1], ip_address="198.51.100.9", reason=f"attempt {n}"
            )
        # No flush, no close.
        """,
        f"exit-{tag}",
    )
    assert len(vigil.events(user=f"exit-{tag}")) == 20


def test_a_forked_child_starts_afresh(vigil: VigilServer, tmp_path: Path, tag: str) -> None:
    out = run_script(
        vigil,
        tmp_path,
        """
        import dataclasses, json, os, sys
        from vigil_audit import SyncAuditService, SyncVigilClient

        client = SyncVigilClient(flush_interval=600)
        audit = SyncAuditService(client)
        # Queued, not yet sent, when the process forks: the parent's to send, not the child's.
        audit.log_login_failure(username=sys.argv[1], ip_address="192.0.2.1", reason="parent")
        pid = os.fork()
        if pid == 0:
            for n in range(3):
                audit.log_login_failure(
                    username=sys.argv[2], ip_address="192.0.2.2", reason=f"child {n}"
                )
            sent = client.close(timeout=30)
            print(json.dumps({"sent": sent, **dataclasses.asdict(client.stats)}), flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))  # the parent's event goes out at exit
        """,
        f"parent-{tag}",
        f"child-{tag}",
    )
    child = json.loads(out)
    assert child == {"sent": True, "delivered": 3, "duplicates": 0, "failed": 0, "dropped": 0}
    assert len(vigil.events(user=f"child-{tag}")) == 3
    assert len(vigil.events(user=f"parent-{tag}")) == 1


def test_an_unhooked_fork_starts_afresh(vigil: VigilServer, tmp_path: Path, tag: str) -> None:
    """uWSGI without `py-call-uwsgi-fork-hooks` forks with fork(2) itself: no fork hooks run, and
    the parent's sender thread still looks alive in the child."""
    out = run_script(
        vigil,
        tmp_path,
        """
        import ctypes, dataclasses, json, os, sys
        from vigil_audit import SyncAuditService, SyncVigilClient

        client = SyncVigilClient(flush_interval=600)
        audit = SyncAuditService(client)
        audit.log_login_failure(username=sys.argv[1], ip_address="192.0.2.1", reason="parent")
        assert client.flush(timeout=30)  # the sender thread is running (idle) at the fork
        # PyDLL: the GIL stays held across the call, as it does in uWSGI's master.
        pid = ctypes.PyDLL(None).fork()
        if pid == 0:
            for n in range(3):
                audit.log_login_failure(
                    username=sys.argv[2], ip_address="192.0.2.2", reason=f"child {n}"
                )
            sent = client.close(timeout=10)
            print(json.dumps({"sent": sent, **dataclasses.asdict(client.stats)}), flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """,
        f"parent-{tag}",
        f"child-{tag}",
    )
    child = json.loads(out)
    assert child == {"sent": True, "delivered": 3, "duplicates": 0, "failed": 0, "dropped": 0}
    assert len(vigil.events(user=f"child-{tag}")) == 3
    assert len(vigil.events(user=f"parent-{tag}")) == 1


def test_a_dead_sender_is_replaced(vigil: VigilServer, tag: str) -> None:
    with SyncVigilClient(vigil.url, vigil.ingest_key, flush_interval=60) as client:
        # What a killed sender, or a fork that skipped the hooks, leaves behind.
        ghost = threading.Thread(target=lambda: None)
        ghost.start()
        ghost.join()
        client._thread = ghost
        SyncAuditService(client).log_token_refresh(
            user_id=1, username=f"ghost-{tag}", ip_address=None
        )
        assert client.flush(timeout=10), "nothing sent: no sender"
    assert client.stats.delivered == 1
    assert len(vigil.events(user=f"ghost-{tag}")) == 1


# The hook's SystemExit ends the sender thread, which pytest notes.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_flush_outlives_a_sender_that_dies(vigil: VigilServer, tag: str) -> None:
    def exiting_hook(error: VigilError, events: list[EventInput]) -> None:
        raise SystemExit("a hook that ends the thread it runs on")

    client = SyncVigilClient(
        vigil.url, vigil.ingest_key, max_batch=1, flush_interval=60, on_error=exiting_hook
    )
    audit = SyncAuditService(client)
    username = f"dies-{tag}"
    audit.log_login_failure(username=username, ip_address="not-an-ip", reason="refused")
    audit.log_login_failure(username=username, ip_address="192.0.2.1", reason="stored")

    # flush() without a timeout, watched from here: it must come back.
    flushed: list[bool] = []
    flusher = threading.Thread(target=lambda: flushed.append(client.flush()), daemon=True)
    flusher.start()
    flusher.join(30)
    assert flushed == [True], "flush() hung after its sender died"
    assert (client.stats.delivered, client.stats.failed) == (1, 1)
    assert [e["reason"] for e in vigil.events(user=username)] == ["stored"]
    assert client.close(timeout=30)


def test_nothing_raises_into_the_caller(
    vigil: VigilServer, tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: Heard = []
    client = SyncVigilClient(
        vigil.url,
        vigil.ingest_key,
        flush_interval=60,
        on_error=lambda e, events: heard.append((e, events)),
    )
    audit = SyncAuditService(client)
    username = f"calm-{tag}"

    def no_threads(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", no_threads)
        assert not client.enqueue({"event_type": "auth.logout", "username": username})
    year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))  # before year 1 in UTC
    audit.log_login_failure(username=username, ip_address=None, reason="x", occurred_at=year_one)

    def broken_builder() -> EventInput:
        raise OverflowError("a bug in the caller's builder")

    client.deliver(broken_builder)
    audit.log_login_failure(username=username, ip_address=None, reason="stored")
    assert client.flush(timeout=30)

    assert (client.stats.delivered, client.stats.failed) == (1, 3)
    assert [e["reason"] for e in vigil.events(user=username)] == ["stored"]
    kinds = [(type(error), getattr(error, "field", None), len(events)) for error, events in heard]
    assert kinds == [
        (UnavailableError, None, 1),  # no sender thread: the event itself is fine
        (InvalidEventError, "occurred_at", 0),
        (InvalidEventError, "event", 0),
    ]
    assert client.close(timeout=30)


def test_close_gives_up_on_what_it_cannot_send_in_time(tag: str) -> None:
    gate = Gate()  # holds every request until released
    heard: Heard = []
    client = SyncVigilClient(
        "http://vigil.invalid",
        "vigil_unused",
        max_batch=1,
        flush_interval=60,
        on_error=lambda e, events: heard.append((e, events)),
        http_client_factory=lambda: httpx.Client(transport=gate),
    )
    audit = SyncAuditService(client)
    for n in range(3):
        audit.log_login_failure(username=f"gate-{tag}", ip_address=None, reason=f"attempt {n}")
    assert not client.flush(timeout=0)  # only to set the sender going
    assert gate.held.wait(10)
    sender = client._thread
    assert sender is not None

    assert not client.close(timeout=0.05)

    assert (client.stats.delivered, client.stats.failed) == (0, 3)
    parts = [(str(error), [e["reason"] for e in events]) for error, events in heard]
    assert [reasons for _, reasons in parts] == [["attempt 0"], ["attempt 1", "attempt 2"]]
    assert "may or may not have been stored" in parts[0][0]
    assert "closed before it could be sent" in parts[1][0]
    # The held batch's late answer changes nothing: it was already reported.
    gate.release.set()
    sender.join(10)
    assert not sender.is_alive()
    assert (client.stats.delivered, client.stats.failed, gate.requests) == (0, 3, 1)
