"""`AuditService` (async, the seed's) and `SyncAuditService` (WSGI code), over a Vigil client."""

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from .event import EventInput
from .seed_calls import SeedCalls
from .sync_client import SyncVigilClient

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class AuditSink(Protocol[T_co]):
    """Where an `AuditService` sends its events: `VigilClient` (each call answers with the
    receipt, and raises if the event is not stored) or `BufferedVigilClient` (each call queues,
    answers `None` and never raises)."""

    def deliver(self, build: Callable[[], EventInput]) -> Awaitable[T_co]: ...


class AuditService(SeedCalls[Awaitable[T]]):
    """The seed's service: `audit = AuditService(vigil)`, then `await audit.log_login_success(...)`.

    ```python
    vigil = VigilClient()            # VIGIL_URL, VIGIL_KEY
    audit = AuditService(vigil)
    receipt = await audit.log_login_failure(
        username="alice", ip_address="203.0.113.7", reason="Invalid credentials"
    )
    ```
    """

    def __init__(self, sink: AuditSink[T]) -> None:
        self._sink = sink

    def _deliver(self, build: Callable[[], EventInput]) -> Awaitable[T]:
        return self._sink.deliver(build)


class SyncAuditService(SeedCalls[None]):
    """The same calls, without `await`, for WSGI code: with
    `audit = SyncAuditService(SyncVigilClient())`, `audit.log_login_failure(...)` queues the event
    and returns at once."""

    def __init__(self, client: SyncVigilClient) -> None:
        self._client = client

    def _deliver(self, build: Callable[[], EventInput]) -> None:
        self._client.deliver(build)
