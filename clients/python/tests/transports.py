"""httpx transports that stand between a client and the real server: they count requests,
answer some themselves, or let the server store an event and then lose its answer."""

from __future__ import annotations

import httpx

from vigil_audit import RetryPolicy

#: Retries without the production waits, so retry tests take milliseconds.
FAST_RETRIES = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.05)


class ServerInTheMiddle(httpx.AsyncBaseTransport):
    """Forwards requests to the real server. The first `canned` answers are given without
    reaching it (a 503 from a proxy, say); after them, the next `drop` requests reach the server,
    which stores their events, and then fail with `drop_with` as if the connection had died
    before the answer arrived."""

    def __init__(
        self,
        *,
        canned: list[httpx.Response] | None = None,
        drop: int = 0,
        drop_with: type[httpx.TransportError] = httpx.ReadError,
    ) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._canned = list(canned or [])
        self._drop = drop
        self._drop_with = drop_with
        #: Every request body, in order: a retry must repeat the first byte for byte.
        self.bodies: list[bytes] = []
        #: How many requests reached the real server.
        self.forwarded = 0

    @property
    def requests(self) -> int:
        return len(self.bodies)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(await request.aread())
        if self._canned:
            return self._canned.pop(0)
        response = await self._inner.handle_async_request(request)
        self.forwarded += 1
        if self._drop > 0:
            self._drop -= 1
            await response.aread()
            await response.aclose()
            raise self._drop_with("the connection died after the server answered", request=request)
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
