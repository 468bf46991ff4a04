"""What one attempt's outcome means: receipts, a final error, or a reason to try again. Shared
by the async and the threaded clients, so both read the server alike."""

import json
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import ConfigError, FieldError, RejectedError, UnexpectedResponseError
from .retry import is_retryable_status, parse_retry_after


@dataclass(frozen=True)
class IngestReceipt:
    """The server's answer for one posted event."""

    #: The stored event's id: its `event_id`.
    id: str
    #: Its place in the stream; for a duplicate, that of the event stored first.
    seq: int
    #: True when an event with this `event_id` was already stored: nothing new was written.
    duplicate: bool
    #: The stored event's chain hash (lowercase hex SHA-256): with `seq`, a receipt of where the
    #: event sits in the hash chain, to check against the chain later. None from a server that
    #: predates it, and for events stored before the chain began.
    hash: str | None = None


@dataclass(frozen=True)
class Transient:
    """Why an attempt is worth repeating (same body, same event ids)."""

    status: int | None
    message: str
    retry_after: float | None = None


def read_answer(response: httpx.Response, expected: int) -> list[IngestReceipt] | Transient:
    """Receipts for a 2xx, `Transient` for a retryable answer; raises for anything final."""
    status = response.status_code
    url = str(response.request.url)
    if 200 <= status < 300:
        try:
            receipts = [_receipt(r) for r in response.json()["events"]]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise UnexpectedResponseError(url, status, f"not an ingest answer: {error}") from error
        if len(receipts) != expected:
            message = f"{len(receipts)} receipts for {expected} events"
            raise UnexpectedResponseError(url, status, message)
        return receipts
    code, message, details = _error_body(status, response.text)
    if is_retryable_status(status):
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return Transient(status, f"{status} {code}: {message}", retry_after)
    if 400 <= status < 500:
        raise RejectedError(status, code, message, details)
    raise UnexpectedResponseError(url, status, message)


def _receipt(r: Any) -> IngestReceipt:
    chain_hash = r.get("hash")
    if chain_hash is not None and not isinstance(chain_hash, str):
        raise TypeError(f"hash is {type(chain_hash).__name__}, not a string")
    return IngestReceipt(
        id=str(r["id"]), seq=int(r["seq"]), duplicate=bool(r["duplicate"]), hash=chain_hash
    )


def transport_failure(error: httpx.TransportError) -> Transient:
    """Connection refused or reset, timeouts, an answer cut short: all retryable, since the server
    stores a repeated `event_id` once. Only a URL httpx cannot use is final."""
    if isinstance(error, httpx.UnsupportedProtocol):
        raise ConfigError(f"cannot reach vigil: {error}") from error
    return Transient(None, f"{type(error).__name__}: {error}" if str(error) else repr(error))


def _error_body(status: int, text: str) -> tuple[str, str, tuple[FieldError, ...]]:
    """The server's `{"error": code, "message": …, "details": [{index, field, reason}]}`; a
    foreign body (a proxy's HTML page) is kept as the message."""
    try:
        body: Any = json.loads(text)
        code = body["error"]
        if not isinstance(code, str) or not code:
            raise ValueError("no error code")
        details = tuple(
            FieldError(index=int(d["index"]), field=str(d["field"]), reason=str(d["reason"]))
            for d in body.get("details") or ()
        )
        return code, str(body.get("message", "")), details
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"http_{status}", text[:512], ()
