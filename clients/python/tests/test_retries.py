"""Retries: an answer lost after the server stored the event is retried and stored once; 5xx,
429 and 503 are retried (honouring `Retry-After`); a 4xx is final and says which field."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from transports import FAST_RETRIES, ServerInTheMiddle, Unreachable
from vigil_server import VigilServer

from vigil_audit import (
    AuditService,
    EventInput,
    FieldError,
    RejectedError,
    RetryPolicy,
    UnavailableError,
    VigilClient,
    new_event_id,
)

ClientThrough = Callable[..., VigilClient]


@pytest.fixture
async def client_through(vigil: VigilServer) -> AsyncIterator[ClientThrough]:
    """Makes clients whose requests go through a given transport; closes them afterwards."""
    opened: list[httpx.AsyncClient] = []

    def make(
        transport: httpx.AsyncBaseTransport,
        key: str | None = None,
        retry: RetryPolicy = FAST_RETRIES,
    ) -> VigilClient:
        opened.append(httpx.AsyncClient(transport=transport))
        return VigilClient(vigil.url, key or vigil.ingest_key, retry=retry, http_client=opened[-1])

    yield make
    for http in opened:
        await http.aclose()


@pytest.mark.parametrize(
    "drop_with", [httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError]
)
async def test_a_lost_answer_is_retried_and_stored_once(
    client_through: ClientThrough,
    vigil: VigilServer,
    tag: str,
    drop_with: type[httpx.TransportError],
) -> None:
    transport = ServerInTheMiddle(drop=2, drop_with=drop_with)
    audit = AuditService(client_through(transport))
    username = f"lost-{tag}"

    receipt = await audit.log_login_failure(
        username=username, ip_address="198.51.100.4", reason="Invalid credentials"
    )

    # Three attempts reached the server; the last was told the first had stored it.
    assert transport.forwarded == 3
    assert len(set(transport.bodies)) == 1, "every attempt sends the same body"
    assert receipt.duplicate
    assert [e["id"] for e in vigil.events(user=username)] == [receipt.id]


async def test_a_receipt_says_where_the_event_sits_in_the_chain(
    client: VigilClient, tag: str
) -> None:
    event: EventInput = {"event_type": "auth.logout", "username": f"chain-{tag}"}
    first = await client.send({**event, "event_id": new_event_id()})
    assert first.hash is not None
    assert re.fullmatch("[0-9a-f]{64}", first.hash), first.hash
    # A repeat is told where the stored one sits: the same seq and hash.
    again = await client.send({**event, "event_id": first.id})
    assert (again.duplicate, again.seq, again.hash) == (True, first.seq, first.hash)
    (other,) = await client.send_batch([event])
    assert other.seq > first.seq
    assert other.hash not in (None, first.hash)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried(
    client_through: ClientThrough, vigil: VigilServer, tag: str, status: int
) -> None:
    failing = httpx.Response(status, json={"error": "unavailable", "message": "try later"})
    transport = ServerInTheMiddle(canned=[failing])
    audit = AuditService(client_through(transport))

    receipt = await audit.log_token_refresh(user_id=7, username=f"r-{tag}", ip_address=None)

    assert transport.requests == 2
    assert not receipt.duplicate
    assert len(vigil.events(user=f"r-{tag}")) == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(
    client_through: ClientThrough, vigil: VigilServer, tag: str, status: int
) -> None:
    busy = httpx.Response(
        status, headers={"retry-after": "1"}, json={"error": "busy", "message": "queue full"}
    )
    transport = ServerInTheMiddle(canned=[busy])
    audit = AuditService(client_through(transport))

    started = time.monotonic()
    await audit.log_token_refresh(user_id=7, username=f"busy-{tag}", ip_address="10.0.0.1")

    assert time.monotonic() - started >= 1.0, "waited less than Retry-After"
    assert transport.requests == 2
    assert len(vigil.events(user=f"busy-{tag}")) == 1


async def test_an_invalid_event_is_rejected_once_with_its_field_errors(
    client_through: ClientThrough, vigil: VigilServer, tag: str
) -> None:
    transport = ServerInTheMiddle()
    audit = AuditService(client_through(transport))

    with pytest.raises(RejectedError) as refused:
        await audit.log_login_failure(
            username=f"bad-{tag}", ip_address="not-an-ip", reason="Invalid credentials"
        )

    assert transport.requests == 1, "a 4xx must not be retried"
    assert refused.value.status == 422
    assert refused.value.code == "invalid_events"
    assert refused.value.details == (
        FieldError(index=0, field="ip_address", reason="must be an IPv4 or IPv6 address"),
    )
    assert vigil.events(user=f"bad-{tag}") == []


@pytest.mark.parametrize(("key", "status"), [("vigil_not-a-key", 401), (None, 403)])
async def test_an_unusable_key_is_rejected_once(
    client_through: ClientThrough, vigil: VigilServer, tag: str, key: str | None, status: int
) -> None:
    transport = ServerInTheMiddle()
    # None: the read key, which may not post events.
    audit = AuditService(client_through(transport, key=key or vigil.read_key))

    with pytest.raises(RejectedError) as refused:
        await audit.log_token_refresh(user_id=1, username=f"key-{tag}", ip_address=None)

    assert (refused.value.status, transport.requests) == (status, 1)
    assert refused.value.details == ()


async def test_retries_are_bounded(client_through: ClientThrough, vigil: VigilServer) -> None:
    transport = Unreachable()
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.01)
    audit = AuditService(client_through(transport, retry=retry))

    with pytest.raises(UnavailableError) as down:
        await audit.log_token_validation_failed(ip_address="10.0.0.2", reason="Token expired")

    assert (down.value.attempts, transport.requests) == (3, 3)
    assert down.value.retryable
