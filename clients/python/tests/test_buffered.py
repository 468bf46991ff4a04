"""The buffered client: batches by size and interval, delivers everything on `aclose()`, drops
and counts when full, and reports every event it could not store, never raising in the caller."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from transports import FAST_RETRIES, ServerInTheMiddle
from vigil_server import VigilServer, free_port

from vigil_audit import (
    ActionResult,
    AuditService,
    BufferedVigilClient,
    EventInput,
    InvalidEventError,
    RejectedError,
    RetryPolicy,
    UnavailableError,
    VigilClient,
    VigilError,
)


@pytest.fixture
def transport() -> ServerInTheMiddle:
    return ServerInTheMiddle()  # closed with the client that uses it


@pytest.fixture
async def counted_client(
    vigil: VigilServer, transport: ServerInTheMiddle
) -> AsyncIterator[VigilClient]:
    """A client whose requests the `transport` fixture counts."""
    async with httpx.AsyncClient(transport=transport) as http:
        yield VigilClient(vigil.url, vigil.ingest_key, retry=FAST_RETRIES, http_client=http)


async def log_failures(audit: AuditService[None], username: str, count: int) -> None:
    for n in range(count):
        await audit.log_login_failure(
            username=username, ip_address="192.0.2.10", reason=f"attempt {n}"
        )


async def test_aclose_delivers_everything_in_batches(
    vigil: VigilServer, transport: ServerInTheMiddle, counted_client: VigilClient, tag: str
) -> None:
    buffered = BufferedVigilClient(counted_client, max_batch=7, flush_interval=60)
    await log_failures(AuditService(buffered), f"burst-{tag}", 50)

    await buffered.aclose()

    assert buffered.stats.delivered == 50
    assert (buffered.stats.failed, buffered.dropped) == (0, 0)
    assert len(vigil.events(user=f"burst-{tag}")) == 50
    # Batches of at most 7 on the batch endpoint: 7 full ones and the rest.
    sizes = [len(json.loads(body)) for body in transport.bodies]
    assert sizes == [7] * 7 + [1]


async def test_a_batch_goes_out_after_the_interval(
    vigil: VigilServer, counted_client: VigilClient, tag: str
) -> None:
    async with BufferedVigilClient(counted_client, flush_interval=0.2) as buffered:
        await log_failures(AuditService(buffered), f"tick-{tag}", 2)
        deadline = time.monotonic() + 10
        # No flush: the sender goes by itself once the oldest event is 0.2 s old.
        while buffered.stats.delivered < 2:
            assert time.monotonic() < deadline, "not sent within 10 s of a 0.2 s interval"
            await asyncio.sleep(0.05)
        assert len(vigil.events(user=f"tick-{tag}")) == 2


async def test_flush_waits_for_delivery(
    vigil: VigilServer, counted_client: VigilClient, tag: str
) -> None:
    async with BufferedVigilClient(counted_client, flush_interval=60) as buffered:
        await log_failures(AuditService(buffered), f"flush-{tag}", 3)
        await buffered.flush()
        assert len(vigil.events(user=f"flush-{tag}")) == 3
        await buffered.flush()  # nothing queued: returns at once


async def test_a_full_queue_drops_and_counts(
    vigil: VigilServer, counted_client: VigilClient, tag: str
) -> None:
    buffered = BufferedVigilClient(counted_client, capacity=5, flush_interval=60)
    # The sender cannot run between these calls: nothing awaited yields.
    await log_failures(AuditService(buffered), f"full-{tag}", 8)
    assert buffered.dropped == 3
    await buffered.aclose()
    assert not buffered.enqueue({"event_type": "auth.logout"}), "closed: dropped"
    assert (buffered.stats.delivered, buffered.dropped) == (5, 4)
    assert len(vigil.events(user=f"full-{tag}")) == 5


async def test_failures_go_to_the_hook_and_spare_the_rest(
    vigil: VigilServer, counted_client: VigilClient, tag: str
) -> None:
    heard: list[tuple[VigilError, list[EventInput]]] = []
    buffered = BufferedVigilClient(
        counted_client, flush_interval=60, on_error=lambda e, events: heard.append((e, events))
    )
    audit = AuditService(buffered)
    username = f"mixed-{tag}"

    await audit.log_login_failure(username=username, ip_address="192.0.2.1", reason="one")
    await audit.log_login_failure(username=username, ip_address="not-an-ip", reason="bad")
    await audit.log_auth_event("Not A Type", "x", ActionResult.SUCCESS, username=username)
    await audit.log_login_failure(username=username, ip_address="192.0.2.3", reason="three")
    await buffered.aclose()

    assert sorted(e["reason"] for e in vigil.events(user=username)) == ["one", "three"]
    assert (buffered.stats.delivered, buffered.stats.failed) == (2, 2)
    by_kind = {type(error): (error, events) for error, events in heard}
    assert by_kind.keys() == {InvalidEventError, RejectedError}
    invalid, nothing = by_kind[InvalidEventError]
    assert (nothing, getattr(invalid, "field", None)) == ([], "event_type")
    rejected, refused = by_kind[RejectedError]
    assert [e["ip_address"] for e in refused] == ["not-an-ip"]
    assert isinstance(rejected, RejectedError)
    assert [(d.index, d.field) for d in rejected.details] == [(0, "ip_address")]


async def test_an_unreachable_server_costs_the_caller_nothing(tag: str) -> None:
    heard: list[VigilError] = []
    client = VigilClient(
        f"http://127.0.0.1:{free_port()}",
        "vigil_unused",
        retry=RetryPolicy(max_attempts=2, initial_backoff=0.01),
    )
    async with BufferedVigilClient(client, on_error=lambda e, _: heard.append(e)) as buffered:
        await log_failures(AuditService(buffered), f"down-{tag}", 2)
    await client.aclose()

    assert buffered.stats.failed == 2
    assert len(heard) == 1
    assert isinstance(heard[0], UnavailableError)
    assert heard[0].attempts == 2
