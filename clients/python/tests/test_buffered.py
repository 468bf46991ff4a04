"""The buffered client: batches by size and interval, delivers everything on `aclose()`, drops
and counts when full, and reports every event it could not store, never raising in the caller."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from transports import FAST_RETRIES, ServerInTheMiddle
from vigil_server import VigilServer, free_port

from vigil_audit import (
    MAX_BATCH_BYTES,
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

Heard = list[tuple[VigilError, list[EventInput]]]


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
    vigil: VigilServer, transport: ServerInTheMiddle, counted_client: VigilClient, tag: str
) -> None:
    interval = 0.3
    async with BufferedVigilClient(counted_client, flush_interval=interval) as buffered:
        queued_at = time.monotonic()
        await log_failures(AuditService(buffered), f"tick-{tag}", 2)
        # No flush: the sender goes by itself once the oldest event is `interval` old, and not
        # before (the transport notes when the request came).
        await asyncio.wait_for(transport.arrived.wait(), 10)
        assert transport.first_at is not None
        assert transport.first_at - queued_at >= interval, "sent before the interval was up"
        await asyncio.wait_for(buffered.flush(), 10)  # the batch in flight: waits for its answer
        assert buffered.stats.delivered == 2
        assert transport.requests == 1
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


def nested(depth: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for _ in range(depth):
        data = {"x": data}
    return data


async def test_values_json_cannot_carry_fail_alone_and_never_raise(
    vigil: VigilServer, transport: ServerInTheMiddle, counted_client: VigilClient, tag: str
) -> None:
    heard: Heard = []
    buffered = BufferedVigilClient(
        counted_client, flush_interval=60, on_error=lambda e, events: heard.append((e, events))
    )
    audit = AuditService(buffered)
    username = f"unjson-{tag}"
    year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))  # before year 1 in UTC

    await audit.log_login_failure(username=username, ip_address=None, reason="first")
    await audit.log_login_failure(username, None, "nan", event_data={"score": float("nan")})
    await audit.log_login_failure(username, None, "inf", event_data={"score": float("inf")})
    await audit.log_login_failure(username, None, "lone \ud800 surrogate")
    await audit.log_login_failure(username, None, "key", event_data={"\udcff": 1})
    await audit.log_login_failure(username, None, "year one", occurred_at=year_one)
    await audit.log_login_failure(username, None, "deep", event_data=nested(100_000))

    def broken_builder() -> EventInput:
        raise RuntimeError("a bug in the caller's builder")

    await buffered.deliver(broken_builder)
    # Hand-made events, past build_event's checks.
    not_a_string: Any = {"event_type": "auth.logout", "username": {1j}}
    assert not buffered.enqueue(not_a_string)
    assert not buffered.enqueue(
        {"event_type": "auth.logout", "username": username, "event_data": {"n": float("nan")}}
    )
    await audit.log_login_failure(username=username, ip_address=None, reason="last")
    await buffered.aclose()

    # One request, with the two good events: nothing refused, nothing split.
    assert transport.statuses == [201]
    assert sorted(e["reason"] for e in vigil.events(user=username)) == ["first", "last"]
    assert (buffered.stats.delivered, buffered.stats.failed) == (2, 9)
    assert all(isinstance(error, InvalidEventError) for error, _ in heard)
    fields = [getattr(error, "field", None) for error, _ in heard]
    assert fields == [
        *("event_data", "event_data", "reason", "event_data", "occurred_at", "event_data"),
        *("event", "username", "event_data"),
    ]
    assert [len(events) for _, events in heard] == [0] * 7 + [1, 1]


async def test_a_batch_the_server_cannot_read_is_halved(
    vigil: VigilServer, transport: ServerInTheMiddle, counted_client: VigilClient, tag: str
) -> None:
    """JSON nested deeper than the server parses: a 400 with no field named, for the whole
    batch. Halving isolates the culprit."""
    heard: Heard = []
    buffered = BufferedVigilClient(
        counted_client, flush_interval=60, on_error=lambda e, events: heard.append((e, events))
    )
    username = f"halved-{tag}"
    for n in range(4):
        data = nested(200) if n == 2 else {"n": n}
        assert buffered.enqueue(
            {"event_type": "auth.logout", "username": username, "event_data": data}
        )
    await buffered.aclose()

    assert sorted(e["event_data"]["n"] for e in vigil.events(user=username)) == [0, 1, 3]
    assert (buffered.stats.delivered, buffered.stats.failed) == (3, 1)
    assert transport.statuses[0] == 400
    ((error, events),) = heard
    assert isinstance(error, RejectedError)
    assert (error.status, error.code) == (400, "malformed_json")
    assert [e["event_data"] for e in events] == [nested(200)]


async def test_large_events_go_in_batches_the_server_accepts(
    vigil: VigilServer, transport: ServerInTheMiddle, counted_client: VigilClient, tag: str
) -> None:
    # The server's longest reason and error_message (4,096 characters each), in 4-byte UTF-8.
    reason, error_message = "\N{LOCK}" * 4096, "\N{KEY}" * 4096
    username = f"large-{tag}"
    buffered = BufferedVigilClient(counted_client, flush_interval=60)
    for _ in range(80):  # some 2.6 MB: three times the server's default body limit
        assert buffered.enqueue(
            {
                "event_type": "auth.login.failure",
                "username": username,
                "reason": reason,
                "error_message": error_message,
            }
        )
    await buffered.aclose()

    assert (buffered.stats.delivered, buffered.stats.failed) == (80, 0)
    # Not one body the server had to refuse: each within the cap, answered 201.
    assert len(transport.bodies) >= 3
    assert max(len(body) for body in transport.bodies) <= MAX_BATCH_BYTES
    assert set(transport.statuses) == {201}
    stored = vigil.events(user=username)
    assert len(stored) == 80
    assert {(e["reason"], e["error_message"]) for e in stored} == {(reason, error_message)}


async def test_aclose_gives_up_after_close_timeout(vigil: VigilServer, tag: str) -> None:
    heard: Heard = []
    transport = ServerInTheMiddle(hold_from=1)  # never answers
    async with httpx.AsyncClient(transport=transport) as http:
        client = VigilClient(vigil.url, vigil.ingest_key, http_client=http)
        # The test's own limit, far above the client's: reached only if aclose() had none.
        async with asyncio.timeout(10):
            async with BufferedVigilClient(
                client, close_timeout=0.2, on_error=lambda e, events: heard.append((e, events))
            ) as buffered:
                await log_failures(AuditService(buffered), f"stuck-{tag}", 3)

    assert (buffered.stats.delivered, buffered.stats.failed) == (0, 3)
    ((error, events),) = heard
    assert isinstance(error, UnavailableError)
    assert "may or may not have been stored" in str(error)
    assert [e["username"] for e in events] == [f"stuck-{tag}"] * 3


async def test_aclose_timeout_keeps_what_was_stored(vigil: VigilServer, tag: str) -> None:
    """A batch cut off part way: the half stored before the cut stays delivered."""
    heard: Heard = []
    too_large = httpx.Response(413, json={"error": "payload_too_large", "message": "too big"})
    # 1: refused whole, so halved; 2: the first half, stored; 3: the second, held.
    transport = ServerInTheMiddle(canned=[too_large], hold_from=3)
    async with httpx.AsyncClient(transport=transport) as http:
        client = VigilClient(vigil.url, vigil.ingest_key, http_client=http)
        buffered = BufferedVigilClient(
            client, flush_interval=60, on_error=lambda e, events: heard.append((e, events))
        )
        username = f"cut-{tag}"
        await log_failures(AuditService(buffered), username, 4)
        flushing = asyncio.create_task(buffered.flush())
        await asyncio.wait_for(transport.holding.wait(), 10)
        await buffered.aclose(timeout=0)
        await asyncio.wait_for(flushing, 10)

    assert sorted(e["reason"] for e in vigil.events(user=username)) == ["attempt 0", "attempt 1"]
    assert (buffered.stats.delivered, buffered.stats.failed) == (2, 2)
    ((error, events),) = heard
    assert "may or may not have been stored" in str(error)
    assert [e["reason"] for e in events] == ["attempt 2", "attempt 3"]
