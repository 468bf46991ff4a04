"""The queued clients' queue: events in arrival order with when each was queued and its
encoded size, taken in batches capped by count and by request body size."""

from collections import deque

from .event import EventInput


class PendingEvents:
    """Not thread-safe: the threaded client holds its lock around every call."""

    def __init__(self, max_batch: int, max_bytes: int) -> None:
        self._max_batch = max_batch
        self._max_bytes = max_bytes
        # (when queued, event, its encoded size): the oldest's time sets the next interval flush.
        self._items: deque[tuple[float, EventInput, int]] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, queued_at: float, event: EventInput, size: int) -> None:
        self._items.append((queued_at, event, size))
        self._bytes += size

    def oldest(self) -> float | None:
        """When the oldest queued event was queued."""
        return self._items[0][0] if self._items else None

    def full(self) -> bool:
        """A whole batch is waiting: `max_batch` events, or more than one body may carry."""
        # A body is "[", the events, a "," after each but the last, and "]".
        body = self._bytes + len(self._items) + 1
        return len(self._items) >= self._max_batch or body > self._max_bytes

    def take(self) -> list[EventInput]:
        """The next batch: up to `max_batch` events whose body fits in `max_bytes` (at least one
        event, however large: the server has the last word on it)."""
        batch: list[EventInput] = []
        size = 1  # "["
        while self._items and len(batch) < self._max_batch:
            _, event, n = self._items[0]
            if batch and size + n + 1 > self._max_bytes:  # the event and its "," or "]"
                break
            self._items.popleft()
            self._bytes -= n
            batch.append(event)
            size += n + 1
        return batch

    def drain(self) -> list[EventInput]:
        """Everything queued, emptying the queue."""
        events = [event for _, event, _ in self._items]
        self._items.clear()
        self._bytes = 0
        return events
