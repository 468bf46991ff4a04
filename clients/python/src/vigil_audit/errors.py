"""What can go wrong when sending events, split by what the caller should do about it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one posted event, as the server reports it."""

    #: Position of the event in the request (0 for a single event).
    index: int
    #: The offending field, e.g. `ip_address` (empty when the event is not an object).
    field: str
    #: Why it was refused, e.g. `must be an IPv4 or IPv6 address`.
    reason: str


class VigilError(Exception):
    """Base of every error this package raises or reports."""

    #: Whether sending the same events again later could succeed.
    retryable: bool = False


class RejectedError(VigilError):
    """The server refused the request with a 4xx. Never retried: the same request would be
    refused again. Nothing was stored (ingest is all or nothing)."""

    def __init__(
        self, status: int, code: str, message: str, details: tuple[FieldError, ...] = ()
    ) -> None:
        super().__init__(f"vigil refused the events ({status} {code}): {message}")
        #: HTTP status, e.g. 401, 413 or 422.
        self.status = status
        #: The server's stable error code, e.g. `invalid_events` or `unauthorized`.
        self.code = code
        self.message = message
        #: For `invalid_events`: every bad field of every event, by index.
        self.details = details


class UnavailableError(VigilError):
    """Every attempt failed (timeouts, dropped connections, 5xx, 429/503). The events may or may
    not be stored; sending them again with the same `event_id` is safe."""

    retryable = True

    def __init__(self, attempts: int, last_status: int | None, message: str) -> None:
        super().__init__(f"vigil unavailable after {attempts} attempt(s): {message}")
        self.attempts = attempts
        #: Status of the last answer, if the last attempt got one.
        self.last_status = last_status
        self.message = message


class InvalidEventError(VigilError, ValueError):
    """The event could not be built (an unknown event type, `event_data` that is not a JSON
    object, a value of the wrong type); nothing was sent."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid event: {field}: {reason}")
        self.field = field
        self.reason = reason


class ConfigError(VigilError, ValueError):
    """The client is misconfigured: no key, a base URL that is not http(s)."""


class UnexpectedResponseError(VigilError):
    """The answer is not Vigil's API (a 2xx with another body, a redirect): probably the wrong
    base URL or a proxy in the way. Not retried."""

    def __init__(self, url: str, status: int, message: str) -> None:
        super().__init__(f"unexpected answer from {url} (status {status}): {message}")
        self.url = url
        self.status = status
        self.message = message
