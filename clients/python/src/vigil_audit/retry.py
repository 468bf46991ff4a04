"""When to try again and how long to wait: exponential backoff with jitter, and the server's
`Retry-After` when it gives one. Retrying is always safe: every event carries its `event_id`,
and the server stores a repeated id once."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """The default: five attempts, with 1.5 to 3 seconds of waiting between them in all (0.2,
    0.4, 0.8 and 1.6 s, each less up to half by jitter), longer only when the server asks with
    `Retry-After`; each attempt may itself take up to the client's `timeout`. Enough to ride
    out a restart or a saturated writer without holding a request handler for long (the Rust
    client's defaults)."""

    #: Attempts in all, the first included; 1 disables retries.
    max_attempts: int = 5
    #: Seconds before the second attempt; doubles for every further one.
    initial_backoff: float = 0.2
    #: Longest wait between two attempts (before jitter).
    max_backoff: float = 5.0
    #: Longest `Retry-After` obeyed, so a misconfigured proxy cannot park a caller for an hour
    #: (jitter comes on top, up to a tenth more).
    max_retry_after: float = 30.0

    @classmethod
    def none(cls) -> "RetryPolicy":
        """One attempt, then the error."""
        return cls(max_attempts=1)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        base = min(self.initial_backoff * 2.0 ** min(max(attempt - 1, 0), 30), self.max_backoff)
        # "Equal jitter": half fixed, half random, so clients that failed together spread out
        # and the wait never collapses to zero.
        jittered = base / 2 + random.random() * base / 2
        if retry_after is None:
            return jittered
        # The server knows when it expects room again: its word is a floor, with jitter on top
        # (a tenth of it, or the backoff's) so that clients it turned away at once do not all
        # come back in the same instant.
        floor = min(max(retry_after, 0.0), self.max_retry_after)
        return max(jittered, floor + random.random() * max(floor / 10, base / 2))


def is_retryable_status(status: int) -> bool:
    """5xx, 429 Too Many Requests and 408 Request Timeout are worth another attempt; any other
    4xx says the request itself is wrong."""
    return status >= 500 or status in (408, 429)


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (what Vigil sends) or as an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    # ASCII digits only: str.isdigit() also accepts "²", which float() refuses.
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
