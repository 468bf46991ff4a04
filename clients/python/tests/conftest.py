"""Fixtures: one real vigil for the whole session, clients pointed at it, and the seed's `user`
and `request`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from stored_events import IP, UA
from transports import FAST_RETRIES
from vigil_server import VigilServer, running_vigil

from vigil_audit import AuditService, IngestReceipt, VigilClient


@pytest.fixture(scope="session")
def vigil() -> Iterator[VigilServer]:
    with running_vigil() as server:
        yield server


@pytest.fixture
async def client(vigil: VigilServer) -> AsyncIterator[VigilClient]:
    async with VigilClient(vigil.url, vigil.ingest_key, retry=FAST_RETRIES) as client:
        yield client


@pytest.fixture
def tag() -> str:
    """Makes each test's usernames its own, since every test shares one server."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def audit(client: VigilClient) -> AuditService[IngestReceipt]:
    return AuditService(client)


@pytest.fixture
def user(tag: str) -> Any:
    return SimpleNamespace(id=42, username=f"alice-{tag}")


@pytest.fixture
def request_() -> Any:
    """Stands in for FastAPI's `Request`: the seed reads `client.host` and `headers.get`."""
    return SimpleNamespace(client=SimpleNamespace(host=IP), headers={"user-agent": UA})
