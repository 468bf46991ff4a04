"""httpx transports that stand between a client and the real server: they count requests,
answer some themselves, hold some back, or let the server store an event and then lose its
answer; and a stand-in server for the threaded client that stores nothing."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx

from vigil_audit import RetryPolicy

#: Retries without the production waits, so retry tests take milliseconds.
FAST_RETRIES = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.05)


class ServerInTheMiddle(httpx.AsyncBaseTransport):
    """Forwards requests to the real server. The first `canned` answers are given without
    reaching it (a 503 from a proxy, say); after them, the next `drop` requests reach the server,
    which stores their events, and then fail with `drop_with` as if the connection had died
    before the answer arrived. Requests from the `hold_from`-th on (1-based) wait for `release`
    before going anywhere."""

    def __init__(
        self,
        *,
        canned: list[httpx.Response] | None = None,
        drop: int = 0,
        drop_with: type[httpx.TransportError] = httpx.ReadError,
        hold_from: int | None = None,
    ) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._canned = list(canned or [])
        self._drop = drop
        self._drop_with = drop_with
        self._hold_from = hold_from
        #: Every request body, in order: a retry must repeat the first byte for byte.
        self.bodies: list[bytes] = []
        #: The status of every answer given (canned or the server's), in order.
        self.statuses: list[int] = []
        #: How many requests reached the real server.
        self.forwarded = 0
        #: Set when the first request arrives; `first_at` is when (time.monotonic()).
        self.arrived = asyncio.Event()
        self.first_at: float | None = None
        #: Set once a request is being held; held requests go on once `release` is set.
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    @property
    def requests(self) -> int:
        return len(self.bodies)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.first_at is None:
            self.first_at = time.monotonic()
            self.arrived.set()
        self.bodies.append(await request.aread())
        if self._hold_from is not None and len(self.bodies) >= self._hold_from:
            self.holding.set()
            await self.release.wait()
        if self._canned:
            canned = self._canned.pop(0)
            self.statuses.append(canned.status_code)
            return canned
        response = await self._inner.handle_async_request(request)
        self.forwarded += 1
        if self._drop > 0:
            self._drop -= 1
            await response.aread()
            await response.aclose()
            raise self._drop_with("the connection died after the server answered", request=request)
        self.statuses.append(response.status_code)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class Unreachable(httpx.AsyncBaseTransport):
    """Refuses every connection, counting the attempts."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        raise httpx.ConnectError("connection refused", request=request)


def receipts_for(request: httpx.Request) -> httpx.Response:
    """A 201 as the server gives it, for the events of a batch request (each has an id)."""
    events = json.loads(request.content)
    receipts = [{"id": e["event_id"], "seq": n, "duplicate": False} for n, e in enumerate(events)]
    return httpx.Response(201, json={"events": receipts})


class Gate(httpx.BaseTransport):
    """For the threaded client: a server that stores nothing and answers every batch with its
    receipts, but holds every request until `release` is set (`held` says one is waiting)."""

    def __init__(self) -> None:
        self.requests = 0
        self.held = threading.Event()
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.held.set()
        if not self.release.wait(30):
            raise httpx.ReadTimeout("the gate never opened", request=request)
        return receipts_for(request)
