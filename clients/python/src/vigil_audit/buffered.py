"""`BufferedVigilClient`: for the request path. Events go into a bounded queue and a background
task sends them in batches, so a handler never waits for Vigil, and never fails because of it."""

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Self

from .batches import FailedPart, after_failure
from .client import VigilClient
from .delivery import BatchReport, DeliveryStats, ErrorHook, logger, report_failures
from .endpoint import MAX_BATCH
from .errors import InvalidEventError, UnavailableError, VigilError
from .event import EventInput


class BufferedVigilClient:
    """Queues up to `capacity` events and sends them `max_batch` at a time, or `flush_interval`
    seconds after the oldest was queued, whichever comes first. When the queue is full, an event
    is dropped and counted (`stats.dropped`); events the server refuses or that cannot be sent
    are counted (`stats.failed`) and passed to `on_error`. A refused batch is split, so one bad
    event does not cost the others.

    Use it from one event loop; `aclose()` (or leaving `async with`) sends what is left. Without
    `client`, one is made from `VIGIL_URL` / `VIGIL_KEY` and closed with this one.
    """

    def __init__(
        self,
        client: VigilClient | None = None,
        *,
        capacity: int = 10_000,
        max_batch: int = 500,
        flush_interval: float = 1.0,
        on_error: ErrorHook | None = None,
    ) -> None:
        self._client = client or VigilClient()
        self._owns_client = client is None
        self._capacity = max(capacity, 1)
        self._max_batch = min(max(max_batch, 1), MAX_BATCH)
        self._interval = flush_interval
        self._on_error = on_error
        self._stats = DeliveryStats()
        # (when queued, event): the oldest's time sets the next interval flush.
        self._pending: deque[tuple[float, EventInput]] = deque()
        # Counters of queued events: accepted, taken by the sender, and settled (sent or
        # failed). A flush waits for `settled` to reach `accepted` as it was when it was asked.
        self._accepted = self._taken = self._settled = 0
        self._flush_upto = 0
        self._closing = False
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def stats(self) -> DeliveryStats:
        """A snapshot of the counts."""
        return replace(self._stats)

    @property
    def dropped(self) -> int:
        """Events refused because the queue was full or the client closed."""
        return self._stats.dropped

    def enqueue(self, event: EventInput) -> bool:
        """Queues an event; never blocks or raises. False if it was dropped."""
        if self._closing or len(self._pending) >= self._capacity:
            if self._stats.dropped == 0:
                logger.warning("vigil: audit queue full or closed; dropping events (see .dropped)")
            self._stats.dropped += 1
            return False
        self._pending.append((time.monotonic(), event))
        self._accepted += 1
        self._start()
        # Wake the sender only when it has a new deadline or a full batch.
        if len(self._pending) == 1 or len(self._pending) >= self._max_batch:
            self._wake.set()
        return True

    async def deliver(self, build: Callable[[], EventInput]) -> None:
        """What `AuditService` calls: queues the event; one that cannot be built is counted as
        failed and passed to `on_error`, never raised."""
        try:
            event = build()
        except InvalidEventError as error:
            self._stats.failed += 1
            report_failures([FailedPart([], error)], self._on_error)
            return
        self.enqueue(event)

    async def flush(self) -> None:
        """Returns once everything queued before the call was sent (or reported failed)."""
        target = self._accepted
        if self._settled >= target:
            return
        self._start()
        self._flush_upto = max(self._flush_upto, target)
        self._wake.set()
        async with self._progress:
            await self._progress.wait_for(lambda: self._settled >= target or not self._running())

    # A timeout of its own (not asyncio.timeout around it): on expiry, what is left is still
    # counted and reported.
    async def aclose(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Stops taking events and sends everything queued. After `timeout` seconds, what is
        still queued is given up (counted failed, passed to `on_error`)."""
        self._closing = True
        self._start()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._pending:
            events = [event for _, event in self._pending]
            self._pending.clear()
            self._fail(events, "closed before it could be sent")
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _start(self) -> None:
        if self._running() or (self._closing and not self._pending):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # queued outside a loop: the sender starts with the next call inside one
        self._task = loop.create_task(self._run(), name="vigil-audit-sender")

    async def _run(self) -> None:
        try:
            while await self._next_batch_due():
                count = min(len(self._pending), self._max_batch)
                batch = [self._pending.popleft()[1] for _ in range(count)]
                self._taken += count
                try:
                    await self._send(batch)
                except asyncio.CancelledError:
                    # Cut off by aclose(timeout=…): the batch may or may not have been stored.
                    self._fail(batch, "closed while it was being sent")
                    raise
                self._settled += count
                async with self._progress:
                    self._progress.notify_all()
        finally:
            # Wake any flush() even if this task was cancelled: it must not wait forever.
            async with self._progress:
                self._progress.notify_all()

    async def _next_batch_due(self) -> bool:
        """Waits until a batch should go; False when closing and nothing is left."""
        while True:
            if not self._pending:
                if self._closing:
                    return False
                timeout: float | None = None
            elif (
                self._closing
                or len(self._pending) >= self._max_batch
                or self._flush_upto > self._taken
            ):
                return True
            else:
                timeout = self._pending[0][0] + self._interval - time.monotonic()
                if timeout <= 0:
                    return True
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _send(self, batch: list[EventInput]) -> None:
        report = BatchReport()
        todo = [batch]
        while todo:
            events = todo.pop()
            try:
                report.stored(await self._client.send_batch(events))
            except VigilError as error:
                outcome = after_failure(events, error)
                todo.extend(reversed(outcome.resend))
                report.failed.extend(outcome.failed)
            except Exception as error:  # a bug here must not stop the sender for good
                failure = VigilError(f"unexpected error while sending: {error!r}")
                report.failed.append(FailedPart(events, failure))
        report.apply_to(self._stats)
        report_failures(report.failed, self._on_error)

    def _fail(self, events: list[EventInput], why: str) -> None:
        self._settled += len(events)
        self._stats.failed += len(events)
        report_failures([FailedPart(events, UnavailableError(0, None, why))], self._on_error)
