"""`SyncVigilClient`: for WSGI code (Flask, Django). Events go into a bounded queue that a
background thread sends in batches; what is left is sent at interpreter exit, and a forked
worker (gunicorn, uWSGI, multiprocessing) starts afresh with its own thread and connections."""

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Self

import httpx

from .answers import IngestReceipt, Transient, read_answer, transport_failure
from .batches import FailedPart, encode_batch, encode_event
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
from .endpoint import MAX_BATCH, MAX_BATCH_BYTES, IngestEndpoint
from .errors import UnavailableError, VigilError
from .event import EventInput
from .pending import PendingEvents
from .retry import RetryPolicy

#: Clients still open, for the exit and fork hooks; weak, so a dropped client is not kept alive.
_OPEN: "weakref.WeakSet[SyncVigilClient]" = weakref.WeakSet()
#: Serializes the start-afresh of a client that finds itself in a new process (see `_check_fork`).
_RESET_LOCK = threading.Lock()


class SyncVigilClient:
    """Queues up to `capacity` events (dropping and counting past it: `stats.dropped`) and sends
    them from a daemon thread, `max_batch` at a time (at most `max_batch_bytes` of JSON per
    request) or `flush_interval` seconds after the oldest was queued, with the async client's
    retries. At exit, what is left is sent, for at most `exit_timeout` seconds. Failures are
    counted (`stats.failed`) and passed to `on_error`. No call raises.

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
        max_batch_bytes: int = MAX_BATCH_BYTES,
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
        self._max_bytes = max(max_batch_bytes, 1)
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
        self._pending = PendingEvents(self._max_batch, self._max_bytes)
        self._accepted = self._taken = self._settled = 0
        self._flush_upto = 0
        self._stats = DeliveryStats()
        self._thread: threading.Thread | None = None
        self._sending: Sending | None = None
        self._http: httpx.Client | None = None
        # Last: a thread that sees this process's id also sees the fresh lock.
        self._pid = os.getpid()

    def _check_fork(self) -> None:
        """Starts afresh in a process forked without the fork hooks (uWSGI does so unless told
        `py-call-uwsgi-fork-hooks`), where the parent's thread is a ghost `is_alive()` still
        vouches for and its lock may be held forever."""
        if self._pid != os.getpid():
            with _RESET_LOCK:
                if self._pid != os.getpid():
                    self._reset()

    @property
    def stats(self) -> DeliveryStats:
        self._check_fork()
        with self._lock:
            return replace(self._stats)

    @property
    def dropped(self) -> int:
        return self.stats.dropped

    def __repr__(self) -> str:
        return f"SyncVigilClient({self._endpoint.url!r})"

    def enqueue(self, event: EventInput) -> bool:
        """Queues an event; never blocks on the network or raises. False if it was dropped, or
        failed (one that cannot be sent as JSON, or no sender thread could be started: counted
        failed and passed to `on_error`)."""
        try:
            self._check_fork()
            # Encoded now, once: a value JSON cannot carry fails alone, here, and the size caps
            # the batch it joins.
            ready, body = encode_event(event)
            with self._cond:
                if self._closed or len(self._pending) >= self._capacity:
                    if self._stats.dropped == 0:
                        logger.warning("vigil: audit queue full or closed; dropping events")
                    self._stats.dropped += 1
                    return False
                self._start()
                self._pending.push(time.monotonic(), ready, len(body))
                self._accepted += 1
                if len(self._pending) == 1 or self._pending.full():
                    self._cond.notify_all()
            return True
        except Exception as error:
            self._refuse(as_failure(error, "queued"), [event])
            return False

    def deliver(self, build: Callable[[], EventInput]) -> None:
        """What `SyncAuditService` calls: queues the event; one that cannot be built is counted
        as failed and passed to `on_error`, never raised."""
        try:
            event = build()
        except Exception as error:
            self._refuse(as_failure(error, "built"), [])
            return
        self.enqueue(event)

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until everything queued before the call was sent or reported failed; False if
        `timeout` seconds passed first. A sender thread that died is replaced; if none can be
        started, what is queued is reported failed rather than waited for."""
        self._check_fork()
        deadline = None if timeout is None else time.monotonic() + timeout
        given_up: list[FailedPart] = []
        with self._cond:
            target = self._accepted
            self._flush_upto = max(self._flush_upto, target)
            while self._settled < target:
                try:
                    self._start()
                except VigilError as error:
                    given_up = self._give_up_locked(error)
                    break
                self._cond.notify_all()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                # Woken by each settled batch, and by a sender thread on its way out.
                self._cond.wait(remaining)
            done = self._settled >= target
        report_failures(given_up, self._on_error)
        return done

    def close(self, timeout: float | None = None) -> bool:
        """Stops taking events and sends what is queued; False if `timeout` passed first. What
        is then still unsent is given up: counted failed and passed to `on_error` (the batch
        being posted as perhaps stored). The daemon thread ends with the process."""
        self._check_fork()
        given_up: list[FailedPart] = []
        with self._cond:
            self._closed = True
            if len(self._pending):
                try:
                    self._start()  # a sender that died is replaced, to send what is left
                except VigilError as error:
                    given_up = self._give_up_locked(error)
            self._cond.notify_all()
            thread = self._thread
        _OPEN.discard(self)
        if thread is threading.current_thread():
            # From on_error, on the sender thread: it sends the rest, then ends.
            report_failures(given_up, self._on_error)
            return False
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            alive = thread is not None and thread.is_alive()
            if alive or len(self._pending):
                why = UnavailableError(0, None, "closed before it could be sent")
                given_up += self._give_up_locked(why)
        report_failures(given_up, self._on_error)
        if alive:
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

    def _refuse(self, error: VigilError, events: list[EventInput]) -> None:
        """An event that never made it into the queue."""
        with self._lock:
            self._stats.failed += 1
        report_failures([FailedPart(events, error)], self._on_error)

    def _give_up_locked(self, error: VigilError) -> list[FailedPart]:
        """Gives up (held: the lock) on the batch being sent and everything queued: counted
        failed and settled now, to be reported (once the lock is released) by the caller."""
        failed: list[FailedPart] = []
        sending = self._sending
        if sending is not None and not sending.abandoned:
            sending.cut_off()
            sending.abandoned = True  # whatever the sender learns later is dropped
            failed += self._settle_locked(sending)
        events = self._pending.drain()
        if events:
            self._taken += len(events)
            self._settled += len(events)
            self._stats.failed += len(events)
            failed.append(FailedPart(events, error))
        self._cond.notify_all()
        return failed

    def _settle_locked(self, sending: Sending) -> list[FailedPart]:
        if self._sending is sending:
            self._sending = None
        self._settled += sending.count
        sending.report.apply_to(self._stats)
        return sending.report.failed

    def _start(self) -> None:
        """Starts the sender (held: the lock) on first use, so a client made before a fork
        starts no thread in the parent that the children would lack; and again if it died."""
        if self._thread is not None and self._thread.is_alive():
            return
        thread = threading.Thread(target=self._run, name="vigil-audit", daemon=True)
        try:
            thread.start()
        except RuntimeError as error:  # at interpreter shutdown, or out of threads
            raise UnavailableError(0, None, f"no sender thread: {error}") from error
        self._thread = thread

    def _run(self) -> None:
        sending: Sending | None = None
        try:
            while True:
                with self._cond:
                    # Each wake-up (an event, a flush, close) recomputes the oldest's deadline.
                    while not self._batch_due():
                        self._cond.wait(self._wait_time())
                    if not self._pending:
                        return  # closed, and everything is sent
                    batch = self._pending.take()
                    self._taken += len(batch)
                    sending = self._sending = Sending.of(batch)
                self._send(sending)
                with self._cond:
                    done, sending = sending, None  # settled: not to be cut off if a hook raises
                    failed = [] if done.abandoned else self._settle_locked(done)
                    self._cond.notify_all()
                report_failures(failed, self._on_error)
        finally:
            # On the way out, even killed (a hook raising SystemExit): settle the batch in hand
            # and wake any flush(), which then starts another sender or gives up.
            lost: list[FailedPart] = []
            with self._cond:
                if sending is not None and not sending.abandoned:
                    sending.cut_off()
                    lost = self._settle_locked(sending)
                if self._thread is threading.current_thread():
                    self._thread = None
                self._cond.notify_all()
            report_failures(lost, self._on_error)

    def _batch_due(self) -> bool:
        oldest = self._pending.oldest()
        if oldest is None:
            return self._closed
        return (
            self._closed
            or self._pending.full()
            or self._flush_upto > self._taken
            or time.monotonic() - oldest >= self._interval
        )

    def _wait_time(self) -> float | None:
        oldest = self._pending.oldest()
        if oldest is None:
            return None
        return max(oldest + self._interval - time.monotonic(), 0.0)

    def _send(self, sending: Sending) -> None:
        while True:
            with self._lock:
                events = sending.next_piece()
            if events is None:
                return
            result: Result
            try:
                result = self._post(events, sending)
            except VigilError as error:
                result = error
            except Exception as error:  # a bug here must not stop the sender for good
                result = unexpected(error)
            with self._lock:
                if sending.abandoned:
                    return
                sending.settle(result)

    def _post(self, events: list[EventInput], sending: Sending) -> list[IngestReceipt]:
        """One batch, with `VigilClient.send_batch`'s retries; only the sender thread calls it.
        Stops retrying once `close()` gave up on the batch."""
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
            if attempt >= self._retry.max_attempts or sending.abandoned:
                raise UnavailableError(attempt, outcome.status, outcome.message)
            time.sleep(self._retry.delay(attempt, outcome.retry_after))


def _close_all_at_exit() -> None:
    for client in list(_OPEN):
        if not client.close(client._exit_timeout):
            logger.error("vigil: audit events still unsent at exit after %ss", client._exit_timeout)


def _reset_all_after_fork() -> None:
    global _RESET_LOCK
    _RESET_LOCK = threading.Lock()
    for client in list(_OPEN):
        client._reset()


atexit.register(_close_all_at_exit)
os.register_at_fork(after_in_child=_reset_all_after_fork)
