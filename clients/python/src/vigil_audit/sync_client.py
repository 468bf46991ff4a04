"""`SyncVigilClient`: for WSGI code (Flask, Django). Events go into a bounded queue that a
background thread sends in batches; what is left is sent at interpreter exit, and a forked
worker (gunicorn, uWSGI, multiprocessing) starts afresh with its own thread and connections."""

import atexit
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Self

import httpx

from .answers import IngestReceipt, Transient, read_answer, transport_failure
from .batches import FailedPart, after_failure, encode_batch
from .delivery import BatchReport, DeliveryStats, ErrorHook, logger, report_failures
from .endpoint import MAX_BATCH, IngestEndpoint
from .errors import InvalidEventError, UnavailableError, VigilError
from .event import EventInput
from .retry import RetryPolicy

#: Clients still open, for the exit and fork hooks; weak, so a dropped client is not kept alive.
_OPEN: "weakref.WeakSet[SyncVigilClient]" = weakref.WeakSet()


class SyncVigilClient:
    """Queues up to `capacity` events (dropping and counting past it: `stats.dropped`) and sends
    them from a daemon thread, `max_batch` at a time or `flush_interval` seconds after the oldest
    was queued, with the async client's retries. At exit, what is left is sent, for at most
    `exit_timeout` seconds. Failures are counted (`stats.failed`) and passed to `on_error`.

    `base_url` and `key` default to `VIGIL_URL` / `VIGIL_KEY`. `http_client_factory` makes the
    thread's `httpx.Client` (called again in a forked child: connections are never shared).
    """

    def __init__(
        self,
        base_url: str | None = None,
        key: str | None = None,
        *,
        capacity: int = 10_000,
        max_batch: int = 500,
        flush_interval: float = 1.0,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        on_error: ErrorHook | None = None,
        exit_timeout: float = 5.0,
        http_client_factory: Callable[[], httpx.Client] | None = None,
    ) -> None:
        self._endpoint = IngestEndpoint.resolve(base_url, key)
        self._capacity = max(capacity, 1)
        self._max_batch = min(max(max_batch, 1), MAX_BATCH)
        self._interval = flush_interval
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._on_error = on_error
        self._exit_timeout = exit_timeout
        self._http_factory = http_client_factory or httpx.Client
        self._closed = False
        self._reset()
        _OPEN.add(self)

    def _reset(self) -> None:
        """Fresh state: at start, and in a forked child, where the parent's lock may be held
        forever, its thread does not exist and its queue is the parent's to send."""
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pending: deque[tuple[float, EventInput]] = deque()
        self._accepted = self._taken = self._settled = 0
        self._flush_upto = 0
        self._stats = DeliveryStats()
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None

    @property
    def stats(self) -> DeliveryStats:
        with self._lock:
            return replace(self._stats)

    @property
    def dropped(self) -> int:
        return self.stats.dropped

    def __repr__(self) -> str:
        return f"SyncVigilClient({self._endpoint.url!r})"

    def enqueue(self, event: EventInput) -> bool:
        """Queues an event; never blocks on the network or raises. False if it was dropped."""
        with self._cond:
            if self._closed or len(self._pending) >= self._capacity:
                if self._stats.dropped == 0:
                    logger.warning("vigil: audit queue full or closed; dropping events")
                self._stats.dropped += 1
                return False
            self._pending.append((time.monotonic(), event))
            self._accepted += 1
            self._start()
            if len(self._pending) == 1 or len(self._pending) >= self._max_batch:
                self._cond.notify_all()
        return True

    def deliver(self, build: Callable[[], EventInput]) -> None:
        """What `SyncAuditService` calls: queues the event; one that cannot be built is counted
        as failed and passed to `on_error`, never raised."""
        try:
            event = build()
        except InvalidEventError as error:
            with self._lock:
                self._stats.failed += 1
            report_failures([FailedPart([], error)], self._on_error)
            return
        self.enqueue(event)

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until everything queued before the call was sent or reported failed; False if
        `timeout` seconds passed first."""
        with self._cond:
            target = self._accepted
            self._flush_upto = max(self._flush_upto, target)
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._settled >= target, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Stops taking events and sends what is queued; False if `timeout` passed first (the
        daemon thread then ends with the process)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        _OPEN.discard(self)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                return False
        if self._http is not None:
            self._http.close()
            self._http = None
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        """Starts the sender on first use (held: the lock), so a client made before a fork
        starts no thread in the parent that the children would lack."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vigil-audit", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                # Each wake-up (an event, a flush, close) recomputes the oldest event's deadline.
                while not self._batch_due():
                    self._cond.wait(self._wait_time())
                if not self._pending:
                    return  # closed, and everything is sent
                count = min(len(self._pending), self._max_batch)
                batch = [self._pending.popleft()[1] for _ in range(count)]
                self._taken += count
            report = self._send(batch)
            with self._cond:
                report.apply_to(self._stats)
                self._settled += count
                self._cond.notify_all()
            report_failures(report.failed, self._on_error)

    def _batch_due(self) -> bool:
        if not self._pending:
            return self._closed
        oldest = self._pending[0][0]
        return (
            self._closed
            or len(self._pending) >= self._max_batch
            or self._flush_upto > self._taken
            or time.monotonic() - oldest >= self._interval
        )

    def _wait_time(self) -> float | None:
        if not self._pending:
            return None
        return max(self._pending[0][0] + self._interval - time.monotonic(), 0.0)

    def _send(self, batch: list[EventInput]) -> BatchReport:
        report = BatchReport()
        todo = [batch]
        while todo:
            events = todo.pop()
            try:
                report.stored(self._post(events))
            except VigilError as error:
                outcome = after_failure(events, error)
                todo.extend(reversed(outcome.resend))
                report.failed.extend(outcome.failed)
            except Exception as error:  # a bug here must not stop the sender for good
                failure = VigilError(f"unexpected error while sending: {error!r}")
                report.failed.append(FailedPart(events, failure))
        return report

    def _post(self, events: list[EventInput]) -> list[IngestReceipt]:
        """One batch, with `VigilClient.send_batch`'s retries; only the sender thread calls it."""
        events, body = encode_batch(events)
        if self._http is None:
            self._http = self._http_factory()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.post(
                    self._endpoint.url,
                    content=body,
                    headers=self._endpoint.headers,
                    timeout=self._timeout,
                )
                outcome: list[IngestReceipt] | Transient = read_answer(response, len(events))
            except httpx.TransportError as error:
                outcome = transport_failure(error)
            if not isinstance(outcome, Transient):
                return outcome
            if attempt >= self._retry.max_attempts:
                raise UnavailableError(attempt, outcome.status, outcome.message)
            time.sleep(self._retry.delay(attempt, outcome.retry_after))


def _close_all_at_exit() -> None:
    for client in list(_OPEN):
        if not client.close(client._exit_timeout):
            logger.error("vigil: audit events still unsent at exit after %ss", client._exit_timeout)


def _reset_all_after_fork() -> None:
    for client in list(_OPEN):
        client._reset()


atexit.register(_close_all_at_exit)
os.register_at_fork(after_in_child=_reset_all_after_fork)
