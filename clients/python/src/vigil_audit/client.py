"""`VigilClient`: sends events now, one request per call, with retries that never store twice."""

import asyncio
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

import httpx

from .answers import IngestReceipt, Transient, read_answer, transport_failure
from .batches import encode_batch
from .endpoint import IngestEndpoint
from .errors import UnavailableError
from .event import EventInput
from .retry import RetryPolicy


class VigilClient:
    """An async client on httpx. Keep one for the whole application (it holds a connection pool)
    and close it with `aclose()` or `async with`.

    `base_url` and `key` default to `VIGIL_URL` (else `http://127.0.0.1:3000`) and `VIGIL_KEY`
    (an ingest key: `vigil keys create --name my-service`). `timeout` is per attempt. Pass
    `http_client` for proxies, TLS settings or a custom transport; it is not closed here.
    """

    def __init__(
        self,
        base_url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._endpoint = IngestEndpoint.resolve(base_url, key)
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient()

    @property
    def endpoint(self) -> str:
        """The URL events are posted to."""
        return self._endpoint.url

    def __repr__(self) -> str:
        return f"VigilClient({self._endpoint.url!r})"

    async def send(self, event: EventInput) -> IngestReceipt:
        """Sends one event (giving it an `event_id` if it has none) and returns its receipt."""
        (receipt,) = await self.send_batch([event])
        return receipt

    async def send_batch(self, events: Sequence[EventInput]) -> list[IngestReceipt]:
        """Sends 1 to 1,000 events in one request, stored all or nothing; receipts come back in
        order. Raises `RejectedError` for a 4xx (not retried), `UnavailableError` once the
        retries are spent."""
        events, body = encode_batch(events)
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(body, len(events))
            if not isinstance(outcome, Transient):
                return outcome
            if attempt >= self._retry.max_attempts:
                raise UnavailableError(attempt, outcome.status, outcome.message)
            await asyncio.sleep(self._retry.delay(attempt, outcome.retry_after))

    async def _attempt(self, body: bytes, expected: int) -> list[IngestReceipt] | Transient:
        try:
            response = await self._http.post(
                self._endpoint.url,
                content=body,
                headers=self._endpoint.headers,
                timeout=self._timeout,
            )
        except httpx.TransportError as error:
            return transport_failure(error)
        return read_answer(response, expected)

    async def deliver(self, build: Callable[[], EventInput]) -> IngestReceipt:
        """What `AuditService` calls: builds the event (raising `InvalidEventError` if it cannot
        be built) and sends it."""
        return await self.send(build())

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
