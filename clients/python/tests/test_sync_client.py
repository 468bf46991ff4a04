"""The threaded client for WSGI code: delivers on flush and at interpreter exit, and a forked
child gets a fresh thread and queue of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from vigil_server import VigilServer

from vigil_audit import SyncAuditService, SyncVigilClient


def run_script(vigil: VigilServer, tmp_path: Path, source: str, *args: str) -> str:
    script = tmp_path / "producer.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "VIGIL_URL": vigil.url, "VIGIL_KEY": vigil.ingest_key}
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
