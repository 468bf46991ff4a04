"""`BufferedVigilClient`: for the request path. Events go into a bounded queue and a background
task sends them in batches, so a handler never waits for Vigil, and never fails because of it."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from types import EllipsisType, TracebackType
from typing import Self

from .batches import FailedPart, encode_event
from .client import VigilClient
from .delivery import (
    DeliveryStats,
    ErrorHook,
    Result,
    Sending,
    as_failure,
    logger,
    report_failures,
    unexpected,
)
from .endpoint import MAX_BATCH, MAX_BATCH_BYTES
from .errors import UnavailableError, VigilError
from .event import EventInput
from .pending import PendingEvents


class BufferedVigilClient:
    """Queues up to `capacity` events and sends them `max_batch` at a time (and at most
    `max_batch_bytes` of JSON per request), or `flush_interval` seconds after the oldest was
    queued, whichever comes first. When the queue is full, an event is dropped and counted
    (`stats.dropped`); events the server refuses or that cannot be sent are counted
    (`stats.failed`) and passed to `on_error`, on the event loop. A refused batch is split, so
    one bad event does not cost the others.

    Use it from one event loop; `aclose()` (or leaving `async with`) sends what is left, for at
    most `close_timeout` seconds. Without `client`, one is made from `VIGIL_URL` / `VIGIL_KEY`
    and closed with this one.
    """

    def __init__(
        self,
        client: VigilClient | None = None,
        *,
        capacity: int = 10_000,
        max_batch: int = 500,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        flush_interval: float = 1.0,
        on_error: ErrorHook | None = None,
        close_timeout: float | None = 10.0,
    ) -> None:
        self._client = client or VigilClient()
        self._owns_client = client is None
        self._capacity = max(capacity, 1)
        self._max_batch = min(max(max_batch, 1), MAX_BATCH)
        self._interval = flush_interval
        self._on_error = on_error
        self._close_timeout = close_timeout
        self._stats = DeliveryStats()
        self._pending = PendingEvents(self._max_batch, max(max_batch_bytes, 1))
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
        """Queues an event; never blocks or raises. False if it was dropped, or failed (one
        that cannot be sent as JSON: counted failed and passed to `on_error`)."""
        try:
            if self._closing or len(self._pending) >= self._capacity:
                if self._stats.dropped == 0:
                    logger.warning(
                        "vigil: audit queue full or closed; dropping events (see .dropped)"
                    )
                self._stats.dropped += 1
                return False
            # Encoded now, once: a value JSON cannot carry fails alone, here, and the size
            # caps the batch it joins.
            ready, body = encode_event(event)
            self._start()
            self._pending.push(time.monotonic(), ready, len(body))
            self._accepted += 1
            # Wake the sender only when it has a new deadline or a full batch.
            if len(self._pending) == 1 or self._pending.full():
                self._wake.set()
            return True
        except Exception as error:
            self._refuse(as_failure(error, "queued"), [event])
            return False

    async def deliver(self, build: Callable[[], EventInput]) -> None:
        """What `AuditService` calls: queues the event; one that cannot be built is counted as
        failed and passed to `on_error`, never raised."""
        try:
            event = build()
        except Exception as error:
            self._refuse(as_failure(error, "built"), [])
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
    async def aclose(self, timeout: float | EllipsisType | None = ...) -> None:  # noqa: ASYNC109
        """Stops taking events and sends everything queued. After `timeout` seconds (by
        default the client's `close_timeout`, 10 s; None waits as long as it takes), what is not
        sent is given up: counted failed and passed to `on_error`. A piece of a batch already
        stored stays delivered; the one being posted is reported as perhaps stored."""
        limit = self._close_timeout if isinstance(timeout, EllipsisType) else timeout
        self._closing = True
        self._start()
        self._wake.set()
        task = self._task
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), limit)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            except asyncio.CancelledError:
                # aclose itself cancelled: stop the sender (it settles its batch as it goes)
                # and give up the rest, rather than leave events unaccounted for.
                task.cancel()
                self._give_up_queue()
                raise
        self._give_up_queue()
        await self._notify()  # a flush() waiting for what was given up
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
        try:
            self._task = loop.create_task(self._run(), name="vigil-audit-sender")
        except RuntimeError as error:
            raise UnavailableError(0, None, f"could not start the sender: {error}") from error

    async def _run(self) -> None:
        sending: Sending | None = None
        try:
            while await self._next_batch_due():
                batch = self._pending.take()
                self._taken += len(batch)
                sending = Sending.of(batch)
                await self._send(sending)
                done, sending = sending, None  # settled: not to be cut off if a hook raises
                self._finish(done)
                await self._notify()
        finally:
            if sending is not None:
                # Cut off (aclose's timeout, a cancelled loop): the pieces stored so far count as
                # delivered, the rest as failed.
                sending.cut_off()
                self._finish(sending)
            # Wake any flush() even if this task was cancelled: it must not wait forever.
            if self._task is asyncio.current_task():
                self._task = None  # not running, as the woken flush() sees it
            await self._notify()

    async def _next_batch_due(self) -> bool:
        """Waits until a batch should go; False when closing and nothing is left."""
        while True:
            oldest = self._pending.oldest()
            if oldest is None:
                if self._closing:
                    return False
                timeout: float | None = None
            elif self._closing or self._pending.full() or self._flush_upto > self._taken:
                return True
            else:
                timeout = oldest + self._interval - time.monotonic()
                if timeout <= 0:
                    return True
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _send(self, sending: Sending) -> None:
        while (events := sending.next_piece()) is not None:
            result: Result
            try:
                result = await self._client.send_batch(events)
            except VigilError as error:
                result = error
            except Exception as error:  # a bug here must not stop the sender for good
                result = unexpected(error)
            sending.settle(result)

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    def _finish(self, sending: Sending) -> None:
        self._settled += sending.count
        sending.report.apply_to(self._stats)
        report_failures(sending.report.failed, self._on_error)

    def _refuse(self, error: VigilError, events: list[EventInput]) -> None:
        """An event that never made it into the queue."""
        self._stats.failed += 1
        report_failures([FailedPart(events, error)], self._on_error)

    def _give_up_queue(self) -> None:
        events = self._pending.drain()
        if not events:
            return
        self._settled += len(events)
        self._stats.failed += len(events)
        why = UnavailableError(0, None, "closed before it could be sent")
        report_failures([FailedPart(events, why)], self._on_error)
